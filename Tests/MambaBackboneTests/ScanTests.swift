// SelectiveScan and S4DScan: the fused kernels against the plain Double references, and the identities the model
// relies on (padding, step-by-step inference, splitting a sequence, chunk-boundary states).
import Testing
import _MambaTestSupport
@testable import MambaBackbone
import MambaTensor

/// Which optional inputs a case uses.
struct ScanOptions: Sendable, CustomTestStringConvertible {
    var skip = false, gate = false, bias = false, softplus = false, lengths = false, initialState = false
    var scale: Float = 1

    static let none = ScanOptions()
    static let all = ScanOptions(skip: true, gate: true, bias: true, softplus: true, lengths: true,
                                 initialState: true, scale: 0.75)
    /// Each option alone.
    static let single: [ScanOptions] = [
        ScanOptions(skip: true), ScanOptions(gate: true), ScanOptions(bias: true), ScanOptions(softplus: true),
        ScanOptions(lengths: true), ScanOptions(initialState: true), ScanOptions(scale: 0.5),
    ]

    var testDescription: String {
        let names = [(skip, "D"), (gate, "z"), (bias, "bias"), (softplus, "softplus"), (lengths, "lengths"),
                     (initialState, "h0")].filter(\.0).map(\.1) + (scale != 1 ? ["scale"] : [])
        return names.isEmpty ? "plain" : names.joined(separator: "+")
    }
}

/// Random inputs of a selective scan, in the layouts of SelectiveScan.forward.
struct SelectiveInputs {
    let dims: ScanDimensions
    var options: ScanOptions
    var u: [Float], delta: [Float], A: [Float], B: [Float], C: [Float]
    var D: [Float], z: [Float], bias: [Float], lengths: [Int32], initial: [Float]

    init(_ dims: ScanDimensions, _ options: ScanOptions, seed: UInt64) {
        self.dims = dims
        self.options = options
        var g = Xoshiro256StarStar(seed: seed)
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        u = (0..<(b * l * d)).map { _ in g.nextNormal() }
        // With softplus the raw delta is centred below 0, as dt_proj outputs are; without it, dt in [0.001, 0.1]
        // (Mamba's dt initialisation range) so that the state both decays and carries over many steps.
        delta = (0..<(b * l * d)).map { _ in
            options.softplus ? g.nextNormal() - 3 : 0.001 + 0.099 * g.nextUniform()
        }
        // A = −exp(A_log) spanning [−16, −0.5] like S4D-Real's −(1...n).
        A = (0..<(d * n)).map { _ in -0.5 * VectorMath.exp(g.nextUniform() * 3.5) }
        B = (0..<(b * l * n)).map { _ in g.nextNormal() }
        C = (0..<(b * l * n)).map { _ in g.nextNormal() }
        D = (0..<d).map { _ in g.nextNormal() }
        z = (0..<(b * l * d)).map { _ in g.nextNormal() }
        // Without softplus, delta + bias must stay positive (a negative step makes the recurrence grow).
        bias = (0..<d).map { _ in options.softplus ? g.nextNormal() * 0.5 : 0.05 * g.nextUniform() }
        // The first sequence full, the others random in [0, l] (0 included when l is small).
        lengths = (0..<b).map { i in i == 0 ? Int32(l) : Int32(g.next() % UInt64(l + 1)) }
        initial = (0..<(b * d * n)).map { _ in g.nextNormal() }
    }

    /// Runs `SelectiveScan.forward` (fused) or `.reference`; returns y and the final state.
    func run(fused: Bool, chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil)
        -> (y: [Float], final: [Float])
    {
        let y = Tensor(shape: [dims.batch * dims.length * dims.channels], repeating: .nan)
        let final = Tensor(shape: [dims.batch * dims.channels * dims.state], repeating: .nan)
        let (u, delta, A, B, C) = (tensor(u), tensor(delta), tensor(A), tensor(B), tensor(C))
        let (D, z, bias, initial) = (tensor(D), tensor(z), tensor(bias), tensor(initial))
        let lengths = lengths
        lengths.withUnsafeBufferPointer { lengths in
            let scan = fused ? SelectiveScan.forward : SelectiveScan.reference
            scan(dims, u.pointer, delta.pointer, A.pointer, B.pointer, C.pointer, options.skip ? D.pointer : nil,
                 options.gate ? z.pointer : nil, options.bias ? bias.pointer : nil, options.softplus, options.scale,
                 options.lengths ? lengths.baseAddress : nil, options.initialState ? initial.pointer : nil,
                 y.pointer, final.pointer, chunkLength, chunkStates)
        }
        return withExtendedLifetime((u, delta, A, B, C, D, z, bias, initial)) { (y.array, final.array) }
    }
}

/// The number of positions where `a` and `b` differ bitwise (or in length); 0 means identical.
func mismatches(_ a: [Float], _ b: [Float]) -> Int {
    if a.count != b.count { return max(a.count, b.count) }
    return zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
}

/// A tensor holding `values` (a stable pointer for the raw-pointer kernels).
func tensor(_ values: [Float]) -> Tensor { Tensor(shape: [values.count], values: values) }

@Suite struct SelectiveScanTests {
    struct Size: Sendable, CustomTestStringConvertible {
        let l: Int, d: Int, n: Int
        var testDescription: String { "l=\(l) d=\(d) n=\(n)" }
    }

    // Every combination of L = 1, 2, 7, 1000, d = 1, 5, 17, 33 (not multiples of 16) and n = 1, 16, 64.
    static let sizes: [Size] = [1, 2, 7, 1000].flatMap { l in
        [1, 5, 17, 33].flatMap { d in [1, 16, 64].map { n in Size(l: l, d: d, n: n) } }
    }

    @Test(arguments: sizes, [ScanOptions.none, ScanOptions.all])
    func fusedMatchesReference(size: Size, options: ScanOptions) {
        let inputs = SelectiveInputs(ScanDimensions(batch: 2, length: size.l, channels: size.d, state: size.n),
                                     options, seed: UInt64(size.l * 10_000 + size.d * 100 + size.n))
        let fused = inputs.run(fused: true), reference = inputs.run(fused: false)
        #expect(relativeError(fused.y, reference: reference.y) < 1e-5)
        #expect(relativeError(fused.final, reference: reference.final) < 1e-5)
        #expect(fused.y.allSatisfy { $0.isFinite })
    }

    @Test(arguments: ScanOptions.single)
    func eachOptionAlone(options: ScanOptions) {
        let inputs = SelectiveInputs(ScanDimensions(batch: 3, length: 45, channels: 21, state: 16), options, seed: 7)
        let fused = inputs.run(fused: true), reference = inputs.run(fused: false)
        #expect(relativeError(fused.y, reference: reference.y) < 1e-5)
        #expect(relativeError(fused.final, reference: reference.final) < 1e-5)
        // The option must change the result, or this case would test nothing.
        var withoutOption = inputs
        withoutOption.options = .none
        #expect(mismatches(withoutOption.run(fused: false).y, reference.y) > 0)
    }

    @Test(arguments: [false, true])
    func paddingMatchesUnpaddedSequence(fused: Bool) {
        let dims = ScanDimensions(batch: 3, length: 40, channels: 19, state: 16)
        var inputs = SelectiveInputs(dims, .all, seed: 3)
        inputs.lengths = [40, 23, 0]
        let padded = inputs.run(fused: fused)
        for (sequence, length) in inputs.lengths.map(Int.init).enumerated() {
            let alone = inputs.sequence(sequence, length: length).run(fused: fused)
            let (d, n, l) = (dims.channels, dims.state, dims.length)
            let paddedY = Array(padded.y[(sequence * l * d)..<((sequence * l + length) * d)])
            #expect(mismatches(paddedY, alone.y) == 0, "sequence \(sequence)")
            #expect(padded.y[((sequence * l + length) * d)..<((sequence + 1) * l * d)].allSatisfy { $0 == 0 })
            #expect(mismatches(Array(padded.final[(sequence * d * n)..<((sequence + 1) * d * n)]), alone.final) == 0)
        }
    }

    @Test func stepByStepEqualsFullPass() {
        let dims = ScanDimensions(batch: 2, length: 30, channels: 37, state: 20)
        var options = ScanOptions.all
        options.lengths = false
        let inputs = SelectiveInputs(dims, options, seed: 5)
        let full = inputs.run(fused: true)
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var h = inputs.initial
        var stepped = [Float](repeating: .nan, count: b * l * d)
        for t in 0..<l {
            // (b, l, ·) slices at step t → (b, ·).
            func slice(_ values: [Float], _ width: Int) -> [Float] {
                var result: [Float] = []
                for i in 0..<b {
                    let start = (i * l + t) * width
                    result += values[start..<(start + width)]
                }
                return result
            }
            var yStep = [Float](repeating: .nan, count: b * d)
            SelectiveScan.step(
                batch: b, channels: d, state: n, u: slice(inputs.u, d), delta: slice(inputs.delta, d), A: inputs.A,
                B: slice(inputs.B, n), C: slice(inputs.C, n), D: inputs.D, z: slice(inputs.z, d),
                deltaBias: inputs.bias, deltaSoftplus: true, deltaScale: options.scale, h: &h, y: &yStep)
            for i in 0..<b { for c in 0..<d { stepped[(i * l + t) * d + c] = yStep[i * d + c] } }
        }
        #expect(relativeError(stepped, reference: full.y) < 1e-5)
        #expect(relativeError(h, reference: full.final) < 1e-5)
    }

    @Test(arguments: [false, true])
    func splittingEqualsOnePass(fused: Bool) {
        let dims = ScanDimensions(batch: 2, length: 50, channels: 18, state: 16)
        var options = ScanOptions.all
        options.lengths = false
        let inputs = SelectiveInputs(dims, options, seed: 9)
        let whole = inputs.run(fused: fused)
        let first = inputs.steps(0..<21), second = inputs.steps(21..<50)
        let firstResult = first.run(fused: fused)
        var secondWithState = second
        secondWithState.initial = firstResult.final
        let secondResult = secondWithState.run(fused: fused)
        let (d, l) = (dims.channels, dims.length)
        for i in 0..<dims.batch {
            let joined = Array(firstResult.y[(i * 21 * d)..<((i + 1) * 21 * d)])
                + Array(secondResult.y[(i * 29 * d)..<((i + 1) * 29 * d)])
            let expected = Array(whole.y[(i * l * d)..<((i + 1) * l * d)])
            if fused {
                // Same operations in the same order: bitwise equal.
                #expect(mismatches(joined, expected) == 0)
            } else {
                // The Double reference rounds its state to Float at the split.
                #expect(relativeError(joined, reference: expected) < 1e-6)
            }
        }
        if fused {
            #expect(mismatches(secondResult.final, whole.final) == 0)
        } else {
            #expect(relativeError(secondResult.final, reference: whole.final) < 1e-6)
        }
    }

    @Test(arguments: [false, true])
    func chunkStatesAreStatesAtChunkStarts(fused: Bool) {
        let dims = ScanDimensions(batch: 3, length: 20, channels: 17, state: 16)
        var inputs = SelectiveInputs(dims, .all, seed: 13)
        inputs.lengths = [20, 8, 0]
        let chunkLength = 6, chunkCount = dims.chunkCount(chunkLength: chunkLength)   // 4 chunks: 0, 6, 12, 18
        let (d, n) = (dims.channels, dims.state)
        var chunkStates = [Float](repeating: .nan, count: dims.batch * chunkCount * d * n)
        let result = chunkStates.withUnsafeMutableBufferPointer {
            inputs.run(fused: fused, chunkLength: chunkLength, chunkStates: $0.baseAddress)
        }
        let plain = inputs.run(fused: fused)
        #expect(mismatches(result.y, plain.y) == 0 && mismatches(result.final, plain.final) == 0)
        for i in 0..<dims.batch {
            for chunk in 0..<chunkCount {
                // The final state of the first chunk·6 steps (frozen past the valid length).
                let steps = min(chunk * chunkLength, Int(inputs.lengths[i]))
                let prefix = inputs.sequence(i, length: steps).run(fused: fused).final
                let stored = Array(chunkStates[((i * chunkCount + chunk) * d * n)..<((i * chunkCount + chunk + 1) * d * n)])
                if steps == 0 {
                    #expect(mismatches(stored, Array(inputs.initial[(i * d * n)..<((i + 1) * d * n)])) == 0)
                } else {
                    #expect(relativeError(stored, reference: prefix) < 1e-6, "sequence \(i) chunk \(chunk)")
                }
            }
        }
    }

    @Test func emptyDimensionsDoNothing() {
        for dims in [ScanDimensions(batch: 0, length: 5, channels: 3, state: 2),
                     ScanDimensions(batch: 2, length: 0, channels: 3, state: 2),
                     ScanDimensions(batch: 2, length: 4, channels: 0, state: 2)] {
            let inputs = SelectiveInputs(dims, .all, seed: 1)
            let fused = inputs.run(fused: true)
            #expect(mismatches(fused.final, inputs.run(fused: false).final) == 0)
            // Without steps the final state is the initial state.
            #expect(mismatches(fused.final, inputs.initial) == 0)
        }
        // n = 0: the state is empty and y = D·u·silu(z).
        let inputs = SelectiveInputs(ScanDimensions(batch: 1, length: 3, channels: 4, state: 0), .all, seed: 2)
        #expect(relativeError(inputs.run(fused: true).y, reference: inputs.run(fused: false).y) < 1e-6)
    }
}

extension SelectiveInputs {
    /// Sequence `index` alone, truncated to `length` steps (no lengths), keeping its initial state.
    func sequence(_ index: Int, length: Int) -> SelectiveInputs {
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        var result = SelectiveInputs(copying: self, dims: ScanDimensions(batch: 1, length: length, channels: d, state: n))
        result.u = Array(u[(index * l * d)..<((index * l + length) * d)])
        result.delta = Array(delta[(index * l * d)..<((index * l + length) * d)])
        result.z = Array(z[(index * l * d)..<((index * l + length) * d)])
        result.B = Array(B[(index * l * n)..<((index * l + length) * n)])
        result.C = Array(C[(index * l * n)..<((index * l + length) * n)])
        result.initial = Array(initial[(index * d * n)..<((index + 1) * d * n)])
        result.lengths = [Int32(length)]
        return result
    }

    /// All sequences restricted to the steps `range` (lengths not used).
    func steps(_ range: Range<Int>) -> SelectiveInputs {
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var result = SelectiveInputs(copying: self, dims: ScanDimensions(batch: b, length: range.count, channels: d, state: n))
        func cut(_ values: [Float], _ width: Int) -> [Float] {
            var result: [Float] = []
            for i in 0..<b {
                let start = (i * l + range.lowerBound) * width, end = (i * l + range.upperBound) * width
                result += values[start..<end]
            }
            return result
        }
        result.u = cut(u, d)
        result.delta = cut(delta, d)
        result.z = cut(z, d)
        result.B = cut(B, n)
        result.C = cut(C, n)
        return result
    }

    init(copying other: SelectiveInputs, dims: ScanDimensions) {
        self.dims = dims
        options = other.options
        u = other.u; delta = other.delta; A = other.A; B = other.B; C = other.C
        D = other.D; z = other.z; bias = other.bias; lengths = other.lengths; initial = other.initial
    }
}
