// The scan backward kernels: the Double references against central differences of their forward, the fused kernels
// against the references, and the properties training relies on (determinism across thread counts and chunk
// lengths, accumulation, padding, splitting a sequence through dFinalState / dInitialState).
import Testing
import _MambaTestSupport
@testable import MambaBackbone
import MambaTensor

/// Every gradient a backward kernel gives, as Float arrays (S4D: ddelta (d), dB, dC (d, n), no ddeltaBias).
struct ScanGradients: Equatable {
    var du: [Float], ddelta: [Float], dA: [Float], dB: [Float], dC: [Float]
    var dD: [Float], dz: [Float], ddeltaBias: [Float], dInitial: [Float]

    /// (name, values) of every field.
    var fields: [(name: String, values: [Float])] {
        [("du", du), ("ddelta", ddelta), ("dA", dA), ("dB", dB), ("dC", dC), ("dD", dD), ("dz", dz),
         ("ddeltaBias", ddeltaBias), ("dInitialState", dInitial)]
    }

    /// Bitwise equality (NaN equal to the same NaN), field by field; lists the fields that differ.
    func bitwiseDifferences(_ other: ScanGradients) -> [String] {
        zip(fields, other.fields).filter { mismatches($0.values, $1.values) > 0 }.map(\.0.name)
    }
}

/// Seeded normal values (the dy and dFinalState of a test).
func randomNormals(_ count: Int, seed: UInt64) -> [Float] {
    var generator = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in generator.nextNormal() }
}

/// Σ a·b in Double.
func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Central differences of `objective` with respect to `count` entries of one input, changed by `perturb(&problem,
/// index, step)`; the step is 1e-6 times max(1, |value|) (`magnitude(index)`).
func centralDifferences<Problem>(
    _ problem: Problem, count: Int, magnitude: (Int) -> Double, perturb: (inout Problem, Int, Double) -> Void,
    objective: (Problem) -> Double
) -> [Double] {
    (0..<count).map { index in
        let step = 1e-6 * max(1, abs(magnitude(index)))
        var plus = problem, minus = problem
        perturb(&plus, index, step)
        perturb(&minus, index, -step)
        return (objective(plus) - objective(minus)) / (2 * step)
    }
}

/// Checks an analytic gradient against central differences: max |difference| <= 1e-6 · max(1, max |analytic|),
/// and the gradient is not identically zero (so that the check can fail).
func expectMatchesFiniteDifferences(
    _ analytic: [Double], _ numeric: [Double], _ name: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let scale = max(1, analytic.map(abs).max() ?? 0)
    let worst = maxAbsoluteDifference(analytic, numeric)
    #expect(worst <= 1e-6 * scale, "\(name): max |analytic − numeric| = \(worst), scale \(scale)",
            sourceLocation: sourceLocation)
    #expect(analytic.contains { $0 != 0 }, "\(name) is all zero", sourceLocation: sourceLocation)
}

extension SelectiveInputs {
    /// The same problem in Double (options applied: absent inputs are nil).
    var referenceProblem: SelectiveScanReference {
        func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
        return SelectiveScanReference(
            dims: dims, u: doubles(u), delta: doubles(delta), A: doubles(A), B: doubles(B), C: doubles(C),
            D: options.skip ? doubles(D) : nil, z: options.gate ? doubles(z) : nil,
            deltaBias: options.bias ? doubles(bias) : nil, deltaSoftplus: options.softplus,
            deltaScale: Double(options.scale), lengths: options.lengths ? lengths.map(Int.init) : nil,
            initialState: options.initialState ? doubles(initial) : nil)
    }

    /// Runs the fused forward (writing chunk states of `chunkLength`), then `SelectiveScan.backward` (fused) or
    /// `.backwardReference`. The accumulated gradients (dA, dD, ddeltaBias) start from `start`'s (zeros when nil);
    /// the overwritten ones start as NaN, so that a position left unwritten shows.
    func backward(fused: Bool, dy: [Float], dFinal: [Float]? = nil, chunkLength: Int,
                  start: ScanGradients? = nil) -> ScanGradients {
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        let chunkStates = Tensor(shape: [b * dims.chunkCount(chunkLength: chunkLength) * d * n], repeating: .nan)
        _ = run(fused: true, chunkLength: chunkLength, chunkStates: chunkStates.pointer)
        let (u, delta, A, B, C) = (tensor(u), tensor(delta), tensor(A), tensor(B), tensor(C))
        let (D, z, bias, initial, dy) = (tensor(D), tensor(z), tensor(bias), tensor(initial), tensor(dy))
        let dFinal = dFinal.map(tensor)
        let du = Tensor(shape: [b * l * d], repeating: .nan), ddelta = Tensor(shape: [b * l * d], repeating: .nan)
        let dz = Tensor(shape: [b * l * d], repeating: .nan)
        let dB = Tensor(shape: [b * l * n], repeating: .nan), dC = Tensor(shape: [b * l * n], repeating: .nan)
        let dInitial = Tensor(shape: [b * d * n], repeating: .nan)
        let dA = tensor(start?.dA ?? Array(repeating: 0, count: d * n))
        let dD = tensor(start?.dD ?? Array(repeating: 0, count: d))
        let ddeltaBias = tensor(start?.ddeltaBias ?? Array(repeating: 0, count: d))
        lengths.withUnsafeBufferPointer { lengths in
            let kernel = fused ? SelectiveScan.backward : SelectiveScan.backwardReference
            kernel(dims, u.pointer, delta.pointer, A.pointer, B.pointer, C.pointer, options.skip ? D.pointer : nil,
                   options.gate ? z.pointer : nil, options.bias ? bias.pointer : nil, options.softplus, options.scale,
                   options.lengths ? lengths.baseAddress : nil, options.initialState ? initial.pointer : nil,
                   chunkStates.pointer, chunkLength, dy.pointer, du.pointer, ddelta.pointer, dA.pointer, dB.pointer,
                   dC.pointer, dD.pointer, dz.pointer, ddeltaBias.pointer, dInitial.pointer, dFinal?.pointer)
        }
        return withExtendedLifetime((u, delta, A, B, C, D, z, bias, initial, dy, dFinal, chunkStates)) {
            ScanGradients(du: du.array, ddelta: ddelta.array, dA: dA.array, dB: dB.array, dC: dC.array,
                          dD: dD.array, dz: dz.array, ddeltaBias: ddeltaBias.array, dInitial: dInitial.array)
        }
    }
}

@Suite struct ScanBackwardTests {
    // MARK: Reference against finite differences

    @Test(arguments: [ScanOptions.none, .all] + ScanOptions.single, [false, true])
    func selectiveReferenceMatchesFiniteDifferences(options: ScanOptions, withFinalState: Bool) {
        let dims = ScanDimensions(batch: 2, length: 5, channels: 3, state: 2)
        var inputs = SelectiveInputs(dims, options, seed: 21)
        inputs.lengths = [5, 2]
        var problem = inputs.referenceProblem
        // Absent D, bias and initial state act as zeros; given as zeros, their gradients are checked too.
        problem.D = problem.D ?? Array(repeating: 0, count: 3)
        problem.deltaBias = problem.deltaBias ?? Array(repeating: 0, count: 3)
        problem.initialState = problem.initialState ?? Array(repeating: 0, count: 12)
        let dy = randomNormals(30, seed: 22).map(Double.init)
        let dFinal = withFinalState ? randomNormals(12, seed: 23).map(Double.init) : nil
        let gradients = problem.backward(dy: dy, dFinalState: dFinal)
        let objective = { (p: SelectiveScanReference) -> Double in
            let (y, final) = p.forward()
            return dot(dy, y) + (dFinal.map { dot($0, final) } ?? 0)
        }
        func check(_ name: String, _ analytic: [Double], _ values: [Double],
                   _ perturb: @escaping (inout SelectiveScanReference, Int, Double) -> Void) {
            let numeric = centralDifferences(problem, count: values.count, magnitude: { values[$0] },
                                             perturb: perturb, objective: objective)
            expectMatchesFiniteDifferences(analytic, numeric, name)
        }
        check("du", gradients.du, problem.u) { $0.u[$1] += $2 }
        check("ddelta", gradients.ddelta, problem.delta) { $0.delta[$1] += $2 }
        check("dA", gradients.dA, problem.A) { $0.A[$1] += $2 }
        check("dB", gradients.dB, problem.B) { $0.B[$1] += $2 }
        check("dC", gradients.dC, problem.C) { $0.C[$1] += $2 }
        check("dD", gradients.dD, problem.D!) { $0.D![$1] += $2 }
        check("ddeltaBias", gradients.ddeltaBias, problem.deltaBias!) { $0.deltaBias![$1] += $2 }
        check("dInitialState", gradients.dInitialState, problem.initialState!) { $0.initialState![$1] += $2 }
        if let z = problem.z { check("dz", gradients.dz, z) { $0.z![$1] += $2 } }
        // Positions past a sequence's length (sequence 1 has 2 of 5) get exactly zero.
        if options.lengths {
            let padded = (2..<5).flatMap { t in (0..<3).map { (1 * 5 + t) * 3 + $0 } }
            #expect(padded.allSatisfy { gradients.du[$0] == 0 && gradients.ddelta[$0] == 0 && gradients.dz[$0] == 0 })
        }
    }

    // MARK: Fused against reference

    struct Size: Sendable, CustomTestStringConvertible {
        let l: Int, d: Int, n: Int, chunk: Int
        var testDescription: String { "l=\(l) d=\(d) n=\(n) chunk=\(chunk)" }
    }

    // L = 1, 2, 7, 300; d not a multiple of 16 (40: two blocks and a partial one); n = 1, 16; chunk lengths that
    // divide L and that do not, 100 > 64 steps being walked in two segments at n = 16.
    static let sizes: [Size] = [1, 2, 7, 300].flatMap { l in
        [5, 17, 40].flatMap { d in [1, 16].flatMap { n in [1, 3, 64, 100].map { Size(l: l, d: d, n: n, chunk: $0) } } }
    }

    @Test(arguments: sizes, [ScanOptions.none, .all])
    func selectiveFusedMatchesReference(size: Size, options: ScanOptions) {
        let dims = ScanDimensions(batch: 2, length: size.l, channels: size.d, state: size.n)
        let inputs = SelectiveInputs(dims, options, seed: UInt64(size.l * 1000 + size.d * 10 + size.n))
        let dy = randomNormals(2 * size.l * size.d, seed: 5), dFinal = randomNormals(2 * size.d * size.n, seed: 6)
        let fused = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: size.chunk)
        let reference = inputs.backward(fused: false, dy: dy, dFinal: dFinal, chunkLength: size.chunk)
        for ((name, values), (_, expected)) in zip(fused.fields, reference.fields) {
            if name == "dz" && !options.gate {
                #expect(values.allSatisfy { $0.isNaN }, "dz written without z")
                continue
            }
            #expect(relativeError(values, reference: expected) < 1e-5, "\(name)")
            #expect(values.allSatisfy { $0.isFinite }, "\(name) has NaN or infinite values (unwritten positions?)")
        }
    }

    @Test(arguments: ScanOptions.single)
    func selectiveEachOptionAlone(options: ScanOptions) {
        let dims = ScanDimensions(batch: 3, length: 45, channels: 21, state: 16)
        let inputs = SelectiveInputs(dims, options, seed: 31)
        let dy = randomNormals(3 * 45 * 21, seed: 32)
        let fused = inputs.backward(fused: true, dy: dy, chunkLength: 16)
        let reference = inputs.backward(fused: false, dy: dy, chunkLength: 16)
        for ((name, values), (_, expected)) in zip(fused.fields, reference.fields) where name != "dz" || options.gate {
            #expect(relativeError(values, reference: expected) < 1e-5, "\(name)")
        }
        // The option must change the gradients, or this case would test nothing.
        var without = inputs
        without.options = .none
        #expect(without.backward(fused: false, dy: dy, chunkLength: 16).bitwiseDifferences(reference).count > 0)
    }

    // MARK: Determinism and composition

    /// The partition of the backward depends on the sizes only, and the recomputed states are bitwise the
    /// forward's: the results must be bitwise identical across thread counts, chunk lengths and runs.
    @Test func selectiveIsBitwiseDeterministic() {
        let dims = ScanDimensions(batch: 3, length: 150, channels: 300, state: 16)   // 19 blocks: 3 groups
        var inputs = SelectiveInputs(dims, .all, seed: 41)
        inputs.lengths = [150, 97, 0]
        let dy = randomNormals(3 * 150 * 300, seed: 42), dFinal = randomNormals(3 * 300 * 16, seed: 43)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let expected = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: 64)
        for (threads, chunk) in [(1, 64), (2, 64), (3, 64), (2, 1), (2, 7), (2, 150), (2, 200)] {
            Parallel.threadCount = threads
            let result = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: chunk)
            #expect(result.bitwiseDifferences(expected).isEmpty, "threads \(threads), chunk \(chunk)")
        }
    }

    @Test func selectiveAccumulatesParameterGradients() {
        let dims = ScanDimensions(batch: 2, length: 20, channels: 19, state: 16)
        let inputs = SelectiveInputs(dims, .all, seed: 51)
        let dy = randomNormals(2 * 20 * 19, seed: 52)
        let fromZero = inputs.backward(fused: true, dy: dy, chunkLength: 8)
        var start = fromZero
        start.dA = randomNormals(19 * 16, seed: 53)
        start.dD = randomNormals(19, seed: 54)
        start.ddeltaBias = randomNormals(19, seed: 55)
        for fused in [true, false] {
            let accumulated = inputs.backward(fused: fused, dy: dy, chunkLength: 8, start: start)
            let zeroStart = fused ? fromZero : inputs.backward(fused: false, dy: dy, chunkLength: 8)
            for (name, values, initial, alone) in [
                ("dA", accumulated.dA, start.dA, zeroStart.dA), ("dD", accumulated.dD, start.dD, zeroStart.dD),
                ("ddeltaBias", accumulated.ddeltaBias, start.ddeltaBias, zeroStart.ddeltaBias),
            ] {
                let sum = zip(initial, alone).map { $0 + $1 }
                // The fused kernel adds its Float total to the caller's value; the reference rounds once in Double.
                if fused {
                    #expect(mismatches(values, sum) == 0, "\(name)")
                } else {
                    #expect(relativeError(values, reference: sum) < 1e-6, "\(name)")
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func selectivePaddingMatchesUnpaddedSequence(fused: Bool) {
        let dims = ScanDimensions(batch: 3, length: 40, channels: 19, state: 16)
        var inputs = SelectiveInputs(dims, .all, seed: 61)
        inputs.lengths = [40, 23, 0]
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        let dy = randomNormals(3 * l * d, seed: 62), dFinal = randomNormals(3 * d * n, seed: 63)
        let padded = inputs.backward(fused: fused, dy: dy, dFinal: dFinal, chunkLength: 16)
        for (i, length) in inputs.lengths.map(Int.init).enumerated() {
            let alone = inputs.sequence(i, length: length).backward(
                fused: fused, dy: Array(dy[(i * l * d)..<((i * l + length) * d)]),
                dFinal: Array(dFinal[(i * d * n)..<((i + 1) * d * n)]), chunkLength: 16)
            for (name, values, width) in [("du", padded.du, d), ("ddelta", padded.ddelta, d), ("dz", padded.dz, d),
                                          ("dB", padded.dB, n), ("dC", padded.dC, n)] {
                let valid = Array(values[(i * l * width)..<((i * l + length) * width)])
                let expected = alone.fields.first { $0.name == name }!.values
                #expect(mismatches(valid, expected) == 0, "sequence \(i) \(name)")
                #expect(values[((i * l + length) * width)..<((i + 1) * l * width)].allSatisfy { $0 == 0 },
                        "sequence \(i) \(name) past the length")
            }
            #expect(mismatches(Array(padded.dInitial[(i * d * n)..<((i + 1) * d * n)]), alone.dInitial) == 0)
        }
        // A sequence of length 0 passes dFinalState through to dInitialState.
        #expect(mismatches(Array(padded.dInitial[(2 * d * n)...]), Array(dFinal[(2 * d * n)...])) == 0)
    }

    /// Two halves, chained through the state (forward) and dFinalState = the second half's dInitialState
    /// (backward), give the gradients of the whole sequence.
    @Test(arguments: [false, true])
    func selectiveSplittingEqualsOnePass(fused: Bool) {
        let dims = ScanDimensions(batch: 2, length: 50, channels: 18, state: 16)
        var options = ScanOptions.all
        options.lengths = false
        let inputs = SelectiveInputs(dims, options, seed: 71)
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        let dy = randomNormals(2 * l * d, seed: 72)
        let whole = inputs.backward(fused: fused, dy: dy, chunkLength: 16)
        func cut(_ values: [Float], _ range: Range<Int>, _ width: Int) -> [Float] {
            (0..<2).flatMap { i in values[((i * l + range.lowerBound) * width)..<((i * l + range.upperBound) * width)] }
        }
        let first = inputs.steps(0..<21)
        var second = inputs.steps(21..<50)
        second.initial = first.run(fused: fused).final
        let secondGradients = second.backward(fused: fused, dy: cut(dy, 21..<50, d), chunkLength: 16)
        let firstGradients = first.backward(fused: fused, dy: cut(dy, 0..<21, d), dFinal: secondGradients.dInitial,
                                            chunkLength: 16)
        for (name, width) in [("du", d), ("ddelta", d), ("dz", d), ("dB", n), ("dC", n)] {
            let value = { (g: ScanGradients) in g.fields.first { $0.name == name }!.values }
            let wholeValues = value(whole)
            #expect(relativeError(value(firstGradients), reference: cut(wholeValues, 0..<21, width)) < 1e-5, "\(name)")
            #expect(relativeError(value(secondGradients), reference: cut(wholeValues, 21..<50, width)) < 1e-5, "\(name)")
        }
        #expect(relativeError(firstGradients.dInitial, reference: whole.dInitial) < 1e-5)
        for (name, a, b, total) in [("dA", firstGradients.dA, secondGradients.dA, whole.dA),
                                    ("dD", firstGradients.dD, secondGradients.dD, whole.dD),
                                    ("ddeltaBias", firstGradients.ddeltaBias, secondGradients.ddeltaBias,
                                     whole.ddeltaBias)] {
            #expect(relativeError(zip(a, b).map { $0 + $1 }, reference: total) < 1e-5, "\(name)")
        }
    }

    @Test func selectiveEmptyDimensions() {
        for dims in [ScanDimensions(batch: 0, length: 5, channels: 3, state: 2),
                     ScanDimensions(batch: 2, length: 0, channels: 3, state: 2),
                     ScanDimensions(batch: 2, length: 4, channels: 0, state: 2),
                     ScanDimensions(batch: 2, length: 3, channels: 4, state: 0)] {
            let inputs = SelectiveInputs(dims, .all, seed: 81)
            let dy = randomNormals(dims.batch * dims.length * dims.channels, seed: 82)
            let dFinal = randomNormals(dims.batch * dims.channels * dims.state, seed: 83)
            let fused = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: 4)
            let reference = inputs.backward(fused: false, dy: dy, dFinal: dFinal, chunkLength: 4)
            for ((name, values), (_, expected)) in zip(fused.fields, reference.fields) {
                #expect(relativeError(values, reference: expected) < 1e-5, "\(dims) \(name)")
            }
            if dims.length == 0 { #expect(mismatches(fused.dInitial, dFinal) == 0) }
        }
    }

    // MARK: Lane sums

    @Test(arguments: [1, 5, 16, 20, 33])
    func sumLanesOrder(count: Int) {
        let padded = (count + 15) / 16 * 16
        var generator = Xoshiro256StarStar(seed: UInt64(count))
        var vectors = (0..<padded).map { index -> SIMD16<Float> in
            var vector = SIMD16<Float>()
            if index < count { for lane in 0..<16 { vector[lane] = generator.nextNormal() } }
            return vector
        }
        var sums = [Float](repeating: .nan, count: count + 1)
        vectors.withUnsafeMutableBufferPointer { vectors in
            sums.withUnsafeMutableBufferPointer { sumLanes(vectors.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        for index in 0..<count {
            let exact = (0..<16).reduce(0.0) { $0 + Double(vectors[index][$1]) }
            #expect(abs(Double(sums[index]) - exact) < 1e-5, "vector \(index)")
        }
        #expect(sums[count].isNaN, "wrote past count")
    }
}

// MARK: - S4D

extension S4DInputs {
    /// The same problem in Double (options applied: absent inputs are nil).
    var referenceProblem: S4DScanReference {
        func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
        return S4DScanReference(
            dims: dims, u: doubles(u), delta: doubles(delta), A: doubles(A), B: doubles(B), C: doubles(C),
            D: options.skip ? doubles(D) : nil, z: options.gate ? doubles(z) : nil,
            lengths: options.lengths ? lengths.map(Int.init) : nil,
            initialState: options.initialState ? doubles(initial) : nil)
    }

    /// As `SelectiveInputs.backward`: the fused forward writes the chunk states, then `S4DScan.backward` or
    /// `.backwardReference` runs; ddelta, dA, dB, dC, dD accumulate onto `start`'s (zeros when nil); ddeltaBias
    /// is empty.
    func backward(fused: Bool, dy: [Float], dFinal: [Float]? = nil, chunkLength: Int,
                  start: ScanGradients? = nil) -> ScanGradients {
        let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        let chunkStates = Tensor(shape: [b * dims.chunkCount(chunkLength: chunkLength) * d * n], repeating: .nan)
        _ = run(fused: true, chunkLength: chunkLength, chunkStates: chunkStates.pointer)
        let (u, delta, A, B, C) = (tensor(u), tensor(delta), tensor(A), tensor(B), tensor(C))
        let (D, z, initial, dy) = (tensor(D), tensor(z), tensor(initial), tensor(dy))
        let dFinal = dFinal.map(tensor)
        let du = Tensor(shape: [b * l * d], repeating: .nan), dz = Tensor(shape: [b * l * d], repeating: .nan)
        let dInitial = Tensor(shape: [b * d * n], repeating: .nan)
        let ddelta = tensor(start?.ddelta ?? Array(repeating: 0, count: d))
        let dA = tensor(start?.dA ?? Array(repeating: 0, count: d * n))
        let dB = tensor(start?.dB ?? Array(repeating: 0, count: d * n))
        let dC = tensor(start?.dC ?? Array(repeating: 0, count: d * n))
        let dD = tensor(start?.dD ?? Array(repeating: 0, count: d))
        lengths.withUnsafeBufferPointer { lengths in
            let kernel = fused ? S4DScan.backward : S4DScan.backwardReference
            kernel(dims, u.pointer, delta.pointer, A.pointer, B.pointer, C.pointer, options.skip ? D.pointer : nil,
                   options.gate ? z.pointer : nil, options.lengths ? lengths.baseAddress : nil,
                   options.initialState ? initial.pointer : nil, chunkStates.pointer, chunkLength, dy.pointer,
                   du.pointer, ddelta.pointer, dA.pointer, dB.pointer, dC.pointer, dD.pointer, dz.pointer,
                   dInitial.pointer, dFinal?.pointer)
        }
        return withExtendedLifetime((u, delta, A, B, C, D, z, initial, dy, dFinal, chunkStates)) {
            ScanGradients(du: du.array, ddelta: ddelta.array, dA: dA.array, dB: dB.array, dC: dC.array,
                          dD: dD.array, dz: dz.array, ddeltaBias: [], dInitial: dInitial.array)
        }
    }
}

@Suite struct S4DScanBackwardTests {
    static let options: [ScanOptions] = [
        .none, .all, ScanOptions(skip: true), ScanOptions(gate: true), ScanOptions(lengths: true),
        ScanOptions(initialState: true),
    ]

    @Test(arguments: options, [false, true])
    func referenceMatchesFiniteDifferences(options: ScanOptions, withFinalState: Bool) {
        let dims = ScanDimensions(batch: 2, length: 5, channels: 3, state: 2)
        var inputs = S4DInputs(dims, options, seed: 121)
        inputs.lengths = [5, 2]
        var problem = inputs.referenceProblem
        problem.D = problem.D ?? Array(repeating: 0, count: 3)
        problem.initialState = problem.initialState ?? Array(repeating: 0, count: 12)
        let dy = randomNormals(30, seed: 122).map(Double.init)
        let dFinal = withFinalState ? randomNormals(12, seed: 123).map(Double.init) : nil
        let gradients = problem.backward(dy: dy, dFinalState: dFinal)
        let objective = { (p: S4DScanReference) -> Double in
            let (y, final) = p.forward()
            return dot(dy, y) + (dFinal.map { dot($0, final) } ?? 0)
        }
        func check(_ name: String, _ analytic: [Double], _ values: [Double],
                   _ perturb: @escaping (inout S4DScanReference, Int, Double) -> Void) {
            let numeric = centralDifferences(problem, count: values.count, magnitude: { values[$0] },
                                             perturb: perturb, objective: objective)
            expectMatchesFiniteDifferences(analytic, numeric, name)
        }
        check("du", gradients.du, problem.u) { $0.u[$1] += $2 }
        check("ddelta", gradients.ddelta, problem.delta) { $0.delta[$1] += $2 }
        check("dA", gradients.dA, problem.A) { $0.A[$1] += $2 }
        check("dB", gradients.dB, problem.B) { $0.B[$1] += $2 }
        check("dC", gradients.dC, problem.C) { $0.C[$1] += $2 }
        check("dD", gradients.dD, problem.D!) { $0.D![$1] += $2 }
        check("dInitialState", gradients.dInitialState, problem.initialState!) { $0.initialState![$1] += $2 }
        if let z = problem.z { check("dz", gradients.dz, z) { $0.z![$1] += $2 } }
    }

    @Test(arguments: ScanBackwardTests.sizes, [ScanOptions.none, .all])
    func fusedMatchesReference(size: ScanBackwardTests.Size, options: ScanOptions) {
        let dims = ScanDimensions(batch: 2, length: size.l, channels: size.d, state: size.n)
        let inputs = S4DInputs(dims, options, seed: UInt64(size.l * 1000 + size.d * 10 + size.n))
        let dy = randomNormals(2 * size.l * size.d, seed: 7), dFinal = randomNormals(2 * size.d * size.n, seed: 8)
        let fused = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: size.chunk)
        let reference = inputs.backward(fused: false, dy: dy, dFinal: dFinal, chunkLength: size.chunk)
        for ((name, values), (_, expected)) in zip(fused.fields, reference.fields) {
            if name == "dz" && !options.gate {
                #expect(values.allSatisfy { $0.isNaN }, "dz written without z")
                continue
            }
            #expect(relativeError(values, reference: expected) < 1e-5, "\(name)")
            #expect(values.allSatisfy { $0.isFinite }, "\(name) has NaN or infinite values (unwritten positions?)")
        }
    }

    @Test func isBitwiseDeterministic() {
        let dims = ScanDimensions(batch: 3, length: 150, channels: 300, state: 16)
        var inputs = S4DInputs(dims, .all, seed: 141)
        inputs.lengths = [150, 97, 0]
        let dy = randomNormals(3 * 150 * 300, seed: 142), dFinal = randomNormals(3 * 300 * 16, seed: 143)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let expected = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: 64)
        for (threads, chunk) in [(1, 64), (2, 64), (3, 64), (2, 1), (2, 7), (2, 150), (2, 200)] {
            Parallel.threadCount = threads
            let result = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: chunk)
            #expect(result.bitwiseDifferences(expected).isEmpty, "threads \(threads), chunk \(chunk)")
        }
    }

    @Test func accumulatesParameterGradients() {
        let dims = ScanDimensions(batch: 2, length: 20, channels: 19, state: 16)
        let inputs = S4DInputs(dims, .all, seed: 151)
        let dy = randomNormals(2 * 20 * 19, seed: 152)
        let fromZero = inputs.backward(fused: true, dy: dy, chunkLength: 8)
        var start = fromZero
        start.ddelta = randomNormals(19, seed: 153)
        start.dA = randomNormals(19 * 16, seed: 154)
        start.dB = randomNormals(19 * 16, seed: 155)
        start.dC = randomNormals(19 * 16, seed: 156)
        start.dD = randomNormals(19, seed: 157)
        let accumulated = inputs.backward(fused: true, dy: dy, chunkLength: 8, start: start)
        for (name, values, initial, alone) in [
            ("ddelta", accumulated.ddelta, start.ddelta, fromZero.ddelta), ("dA", accumulated.dA, start.dA, fromZero.dA),
            ("dB", accumulated.dB, start.dB, fromZero.dB), ("dC", accumulated.dC, start.dC, fromZero.dC),
            ("dD", accumulated.dD, start.dD, fromZero.dD),
        ] {
            #expect(mismatches(values, zip(initial, alone).map { $0 + $1 }) == 0, "\(name)")
        }
    }

    @Test func paddingMatchesUnpaddedSequence() {
        let dims = ScanDimensions(batch: 3, length: 40, channels: 19, state: 16)
        var inputs = S4DInputs(dims, .all, seed: 161)
        inputs.lengths = [40, 23, 0]
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        let dy = randomNormals(3 * l * d, seed: 162), dFinal = randomNormals(3 * d * n, seed: 163)
        let padded = inputs.backward(fused: true, dy: dy, dFinal: dFinal, chunkLength: 16)
        for (i, length) in inputs.lengths.map(Int.init).enumerated() {
            let alone = inputs.sequence(i, length: length).backward(
                fused: true, dy: Array(dy[(i * l * d)..<((i * l + length) * d)]),
                dFinal: Array(dFinal[(i * d * n)..<((i + 1) * d * n)]), chunkLength: 16)
            for (name, values, expected) in [("du", padded.du, alone.du), ("dz", padded.dz, alone.dz)] {
                #expect(mismatches(Array(values[(i * l * d)..<((i * l + length) * d)]), expected) == 0,
                        "sequence \(i) \(name)")
                #expect(values[((i * l + length) * d)..<((i + 1) * l * d)].allSatisfy { $0 == 0 },
                        "sequence \(i) \(name) past the length")
            }
            #expect(mismatches(Array(padded.dInitial[(i * d * n)..<((i + 1) * d * n)]), alone.dInitial) == 0)
        }
    }

    @Test func splittingEqualsOnePass() {
        let dims = ScanDimensions(batch: 2, length: 50, channels: 18, state: 16)
        var options = ScanOptions.all
        options.lengths = false
        let inputs = S4DInputs(dims, options, seed: 171)
        let (l, d) = (dims.length, dims.channels)
        let dy = randomNormals(2 * l * d, seed: 172)
        let whole = inputs.backward(fused: true, dy: dy, chunkLength: 16)
        func cut(_ values: [Float], _ range: Range<Int>) -> [Float] {
            (0..<2).flatMap { i in values[((i * l + range.lowerBound) * d)..<((i * l + range.upperBound) * d)] }
        }
        let first = inputs.steps(0..<21)
        var second = inputs.steps(21..<50)
        second.initial = first.run(fused: true).final
        let secondGradients = second.backward(fused: true, dy: cut(dy, 21..<50), chunkLength: 16)
        let firstGradients = first.backward(fused: true, dy: cut(dy, 0..<21), dFinal: secondGradients.dInitial,
                                            chunkLength: 16)
        #expect(relativeError(firstGradients.du + secondGradients.du,
                              reference: cut(whole.du, 0..<21) + cut(whole.du, 21..<50)) < 1e-5)
        #expect(relativeError(firstGradients.dInitial, reference: whole.dInitial) < 1e-5)
        for (name, a, b, total) in [("ddelta", firstGradients.ddelta, secondGradients.ddelta, whole.ddelta),
                                    ("dA", firstGradients.dA, secondGradients.dA, whole.dA),
                                    ("dB", firstGradients.dB, secondGradients.dB, whole.dB),
                                    ("dC", firstGradients.dC, secondGradients.dC, whole.dC)] {
            #expect(relativeError(zip(a, b).map { $0 + $1 }, reference: total) < 1e-5, "\(name)")
        }
    }
}
