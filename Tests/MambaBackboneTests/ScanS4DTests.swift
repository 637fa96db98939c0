// S4DScan: fused against the Double reference, and the same identities as the selective scan.
import Testing
import _MambaTestSupport
@testable import MambaBackbone
import MambaTensor

/// Random inputs of an S4D scan in the layouts of S4DScan.forward. Options used: skip (D), gate (z), lengths,
/// initialState.
struct S4DInputs {
    let dims: ScanDimensions
    var options: ScanOptions
    var u: [Float], delta: [Float], A: [Float], B: [Float], C: [Float]
    var D: [Float], z: [Float], lengths: [Int32], initial: [Float]

    init(_ dims: ScanDimensions, _ options: ScanOptions, seed: UInt64) {
        self.dims = dims
        self.options = options
        var g = Xoshiro256StarStar(seed: seed)
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        u = (0..<(b * l * d)).map { _ in g.nextNormal() }
        delta = (0..<d).map { _ in 0.001 + 0.099 * g.nextUniform() }
        A = (0..<(d * n)).map { _ in -0.5 * VectorMath.exp(g.nextUniform() * 3.5) }
        B = (0..<(d * n)).map { _ in g.nextNormal() }
        C = (0..<(d * n)).map { _ in g.nextNormal() }
        D = (0..<d).map { _ in g.nextNormal() }
        z = (0..<(b * l * d)).map { _ in g.nextNormal() }
        lengths = (0..<b).map { i in i == 0 ? Int32(l) : Int32(g.next() % UInt64(l + 1)) }
        initial = (0..<(b * d * n)).map { _ in g.nextNormal() }
    }

    init(copying other: S4DInputs, dims: ScanDimensions) {
        self.dims = dims
        options = other.options
        u = other.u; delta = other.delta; A = other.A; B = other.B; C = other.C
        D = other.D; z = other.z; lengths = other.lengths; initial = other.initial
    }

    func run(fused: Bool, chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil)
        -> (y: [Float], final: [Float])
    {
        let y = Tensor(shape: [dims.batch * dims.length * dims.channels], repeating: .nan)
        let final = Tensor(shape: [dims.batch * dims.channels * dims.state], repeating: .nan)
        let (u, delta, A, B, C) = (tensor(u), tensor(delta), tensor(A), tensor(B), tensor(C))
        let (D, z, initial) = (tensor(D), tensor(z), tensor(initial))
        lengths.withUnsafeBufferPointer { lengths in
            let scan = fused ? S4DScan.forward : S4DScan.reference
            scan(dims, u.pointer, delta.pointer, A.pointer, B.pointer, C.pointer, options.skip ? D.pointer : nil,
                 options.gate ? z.pointer : nil, options.lengths ? lengths.baseAddress : nil,
                 options.initialState ? initial.pointer : nil, y.pointer, final.pointer, chunkLength, chunkStates)
        }
        return withExtendedLifetime((u, delta, A, B, C, D, z, initial)) { (y.array, final.array) }
    }

    /// Sequence `index` alone, truncated to `length` steps, keeping its initial state.
    func sequence(_ index: Int, length: Int) -> S4DInputs {
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        var result = S4DInputs(copying: self, dims: ScanDimensions(batch: 1, length: length, channels: d, state: n))
        result.u = Array(u[(index * l * d)..<((index * l + length) * d)])
        result.z = Array(z[(index * l * d)..<((index * l + length) * d)])
        result.initial = Array(initial[(index * d * n)..<((index + 1) * d * n)])
        result.lengths = [Int32(length)]
        return result
    }

    /// All sequences restricted to the steps `range`.
    func steps(_ range: Range<Int>) -> S4DInputs {
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var result = S4DInputs(copying: self, dims: ScanDimensions(batch: b, length: range.count, channels: d, state: n))
        func cut(_ values: [Float]) -> [Float] {
            var result: [Float] = []
            for i in 0..<b { result += values[((i * l + range.lowerBound) * d)..<((i * l + range.upperBound) * d)] }
            return result
        }
        result.u = cut(u)
        result.z = cut(z)
        return result
    }
}

@Suite struct S4DScanTests {
    static let options: [ScanOptions] = [
        .none, ScanOptions(skip: true), ScanOptions(gate: true), ScanOptions(lengths: true),
        ScanOptions(initialState: true), ScanOptions(skip: true, gate: true, lengths: true, initialState: true),
    ]

    @Test(arguments: SelectiveScanTests.sizes)
    func fusedMatchesReference(size: SelectiveScanTests.Size) {
        for options in Self.options {
            let inputs = S4DInputs(ScanDimensions(batch: 2, length: size.l, channels: size.d, state: size.n),
                                   options, seed: UInt64(size.l * 10_000 + size.d * 100 + size.n))
            let fused = inputs.run(fused: true), reference = inputs.run(fused: false)
            #expect(relativeError(fused.y, reference: reference.y) < 1e-5, "\(options.testDescription)")
            #expect(relativeError(fused.final, reference: reference.final) < 1e-5, "\(options.testDescription)")
        }
    }

    @Test(arguments: [false, true])
    func paddingMatchesUnpaddedSequence(fused: Bool) {
        let dims = ScanDimensions(batch: 3, length: 40, channels: 19, state: 16)
        var inputs = S4DInputs(dims, ScanOptions(skip: true, gate: true, lengths: true, initialState: true), seed: 3)
        inputs.lengths = [40, 23, 0]
        let padded = inputs.run(fused: fused)
        let (d, n, l) = (dims.channels, dims.state, dims.length)
        for (sequence, length) in inputs.lengths.map(Int.init).enumerated() {
            let alone = inputs.sequence(sequence, length: length).run(fused: fused)
            #expect(mismatches(Array(padded.y[(sequence * l * d)..<((sequence * l + length) * d)]), alone.y) == 0)
            #expect(padded.y[((sequence * l + length) * d)..<((sequence + 1) * l * d)].allSatisfy { $0 == 0 })
            #expect(mismatches(Array(padded.final[(sequence * d * n)..<((sequence + 1) * d * n)]), alone.final) == 0)
        }
    }

    @Test func stepByStepEqualsFullPass() {
        let dims = ScanDimensions(batch: 2, length: 30, channels: 37, state: 20)
        let inputs = S4DInputs(dims, ScanOptions(skip: true, gate: true, initialState: true), seed: 5)
        let full = inputs.run(fused: true)
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var h = inputs.initial
        var stepped = [Float](repeating: .nan, count: b * l * d)
        for t in 0..<l {
            var u: [Float] = [], z: [Float] = []
            for i in 0..<b {
                u += inputs.u[((i * l + t) * d)..<((i * l + t + 1) * d)]
                z += inputs.z[((i * l + t) * d)..<((i * l + t + 1) * d)]
            }
            var yStep = [Float](repeating: .nan, count: b * d)
            S4DScan.step(batch: b, channels: d, state: n, u: u, delta: inputs.delta, A: inputs.A, B: inputs.B,
                         C: inputs.C, D: inputs.D, z: z, h: &h, y: &yStep)
            for i in 0..<b { for c in 0..<d { stepped[(i * l + t) * d + c] = yStep[i * d + c] } }
        }
        #expect(relativeError(stepped, reference: full.y) < 1e-5)
        #expect(relativeError(h, reference: full.final) < 1e-5)
    }

    @Test func splittingEqualsOnePass() {
        let dims = ScanDimensions(batch: 2, length: 50, channels: 18, state: 16)
        let inputs = S4DInputs(dims, ScanOptions(skip: true, gate: true, initialState: true), seed: 9)
        let whole = inputs.run(fused: true)
        let firstResult = inputs.steps(0..<21).run(fused: true)
        var second = inputs.steps(21..<50)
        second.initial = firstResult.final
        let secondResult = second.run(fused: true)
        let (d, l) = (dims.channels, dims.length)
        for i in 0..<dims.batch {
            let joined = Array(firstResult.y[(i * 21 * d)..<((i + 1) * 21 * d)])
                + Array(secondResult.y[(i * 29 * d)..<((i + 1) * 29 * d)])
            #expect(mismatches(joined, Array(whole.y[(i * l * d)..<((i + 1) * l * d)])) == 0)
        }
        #expect(mismatches(secondResult.final, whole.final) == 0)
    }

    @Test(arguments: [false, true])
    func chunkStatesAreStatesAtChunkStarts(fused: Bool) {
        let dims = ScanDimensions(batch: 3, length: 20, channels: 17, state: 16)
        var inputs = S4DInputs(dims, ScanOptions(skip: true, gate: true, lengths: true, initialState: true), seed: 13)
        inputs.lengths = [20, 8, 0]
        let chunkLength = 6, chunkCount = dims.chunkCount(chunkLength: chunkLength)
        let (d, n) = (dims.channels, dims.state)
        var chunkStates = [Float](repeating: .nan, count: dims.batch * chunkCount * d * n)
        let result = chunkStates.withUnsafeMutableBufferPointer {
            inputs.run(fused: fused, chunkLength: chunkLength, chunkStates: $0.baseAddress)
        }
        let plain = inputs.run(fused: fused)
        #expect(mismatches(result.y, plain.y) == 0 && mismatches(result.final, plain.final) == 0)
        for i in 0..<dims.batch {
            for chunk in 0..<chunkCount {
                let steps = min(chunk * chunkLength, Int(inputs.lengths[i]))
                let expected = steps == 0
                    ? Array(inputs.initial[(i * d * n)..<((i + 1) * d * n)])
                    : inputs.sequence(i, length: steps).run(fused: fused).final
                let stored = Array(chunkStates[((i * chunkCount + chunk) * d * n)..<((i * chunkCount + chunk + 1) * d * n)])
                #expect(relativeError(stored, reference: expected) < 1e-6, "sequence \(i) chunk \(chunk)")
            }
        }
    }
}
