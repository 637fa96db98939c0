// The time-invariant diagonal scan of an S4D mixer (S4D-Real: Gu, Gupta, Goel & Ré 2022, "On the Parameterization
// and Initialization of Diagonal State Space Models"; the LTI ablation of the Mamba paper). The same recurrence as
// SelectiveScan with the step size, B and C fixed per channel instead of computed from the input:
//   h[n] = exp(delta[d] · A[d, n]) · h[n] + delta[d] · B[d, n] · u[b, t, d]    (ZOH for A, Euler for B)
//   y    = Σₙ C[d, n] · h[n] + D[d] · u[b, t, d];   y ·= silu(z[b, t, d]) when z is given.
// delta (d) is already positive (the caller applies softplus) and A <= 0: the decay is computed as e^(−|delta·A|). Layouts: u, z, y (b, l, d); A, B, C (d, n);
// D (d); lengths (b); initialState, finalState (b, d, n); chunkStates (b, ceil(l / chunkLength), d, n).
import Foundation
import MambaTensor

/// The linear time-invariant diagonal scan: `forward` (fused), `reference` (plain loops), `step` (one step).
public enum S4DScan {
    /// Runs the scan over whole sequences (fused kernel): per (sequence, block of 16 channels) the discretised
    /// exp(delta·A), delta·B and C are formed once as (n, 16) vectors; each step is then a multiply and two FMAs per
    /// state element. Tasks over sequences × channel groups, time outside and blocks inside as SelectiveScan.
    ///
    /// Conventions as `SelectiveScan.forward`: lengths (steps t >= lengths[i] leave the state untouched and write
    /// y = 0; clamped to [0, l]), initialState / finalState (b, d, n), optional chunkStates (the state before step
    /// c·chunkLength for each chunk c).
    public static func forward(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?,
        chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil
    ) {
        let chunkLength = chunkStates == nil ? max(dims.length, 1) : chunkLength
        precondition(chunkLength >= 1, "S4DScan.forward: chunkStates needs chunkLength >= 1, got \(chunkLength)")
        let partition = ScanPartition(dims, bytesPerBlock: 4 * dims.state * 64, threads: Parallel.threadCount)
        let arguments = UnsafeSendable(Arguments(
            dims: dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
            initialState: initialState, y: y, finalState: finalState, chunkLength: chunkLength,
            chunkStates: chunkStates))
        Parallel.forEach(dims.batch * partition.groupsPerSequence) { task in
            withSubnormalsFlushed {
                forwardGroup(arguments.value, sequence: task / partition.groupsPerSequence,
                             blocks: partition.blockRange(task % partition.groupsPerSequence))
            }
        }
    }

    struct Arguments {
        let dims: ScanDimensions
        let u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>
        let B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?
        let lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?
        let y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?
        let chunkLength: Int, chunkStates: UnsafeMutablePointer<Float>?
    }

    /// The fused kernel for sequence `b` and the channel blocks `blocks`: time outside, blocks inside.
    static func forwardGroup(_ a: Arguments, sequence b: Int, blocks: Range<Int>) {
        typealias V = SIMD16<Float>
        let (l, d, n) = (a.dims.length, a.dims.channels, a.dims.state)
        let validSteps = validLength(a.lengths, b, l)
        // Per block, (n) vectors of 16 channels each: exp(delta·A), delta·B, C, and the state h.
        let perBlock = 4 * n
        let scratch = allocateVectors(perBlock * blocks.count + blocks.count)
        defer { scratch.deallocate() }
        let gateRow = scratch + perBlock * blocks.count    // silu(z) of the current row, per block
        func firstChannel(_ j: Int) -> Int { (blocks.lowerBound + j) * scanBlockWidth }
        func width(_ j: Int) -> Int { min(scanBlockWidth, d - firstChannel(j)) }
        for j in 0..<blocks.count {
            let d0 = firstChannel(j), lanes = width(j)
            let decay = scratch + j * perBlock, inputWeight = decay + n, cBlock = decay + 2 * n, h = decay + 3 * n
            let step = loadBlock(a.delta + d0, lanes)
            gatherTransposed(a.A, firstChannel: d0, width: lanes, state: n, into: decay)
            gatherTransposed(a.B, firstChannel: d0, width: lanes, state: n, into: inputWeight)
            gatherTransposed(a.C, firstChannel: d0, width: lanes, state: n, into: cBlock)
            for k in 0..<n {
                decay[k] = VectorMath.expNegativeMagnitude(step * decay[k])
                inputWeight[k] = step * inputWeight[k]
            }
            if let initial = a.initialState {
                gatherTransposed(initial + b * d * n, firstChannel: d0, width: lanes, state: n, into: h)
            }
        }
        let chunkCount = (l + a.chunkLength - 1) / a.chunkLength
        for chunk in 0..<max(chunkCount, 1) {
            let start = chunk * a.chunkLength
            if let states = a.chunkStates, chunk < chunkCount {
                for j in 0..<blocks.count {
                    scatterTransposed(scratch + j * perBlock + 3 * n, firstChannel: firstChannel(j), width: width(j),
                                      state: n, into: states + (b * chunkCount + chunk) * d * n)
                }
            }
            let end = min(start + a.chunkLength, validSteps)
            if start >= end { continue }
            for t in start..<end {
                let rowStart = (b * l + t) * d          // (b, t, 0) in (b, l, d)
                // The gates first, for the whole row, so that their latency overlaps (as in SelectiveScan).
                if let z = a.z {
                    for j in 0..<blocks.count {
                        gateRow[j] = VectorMath.silu(loadBlock(z + rowStart + firstChannel(j), width(j)))
                    }
                }
                for j in 0..<blocks.count {
                    let d0 = firstChannel(j), lanes = width(j)
                    let decay = scratch + j * perBlock, inputWeight = decay + n, cBlock = decay + 2 * n
                    let h = decay + 3 * n
                    let x = loadBlock(a.u + rowStart + d0, lanes)
                    var y0 = V(), y1 = V()
                    if let skip = a.D { y0 = loadBlock(skip + d0, lanes) * x }
                    var k = 0
                    while k + 2 <= n {
                        let h0 = (inputWeight[k] * x).addingProduct(decay[k], h[k])
                        let h1 = (inputWeight[k + 1] * x).addingProduct(decay[k + 1], h[k + 1])
                        h[k] = h0
                        h[k + 1] = h1
                        y0 = y0.addingProduct(h0, cBlock[k])
                        y1 = y1.addingProduct(h1, cBlock[k + 1])
                        k += 2
                    }
                    if k < n {
                        let hk = (inputWeight[k] * x).addingProduct(decay[k], h[k])
                        h[k] = hk
                        y0 = y0.addingProduct(hk, cBlock[k])
                    }
                    var output = y0 + y1
                    if a.z != nil { output *= gateRow[j] }
                    storeBlock(output, a.y + rowStart + d0, lanes)
                }
            }
        }
        for t in validSteps..<max(l, validSteps) {
            for j in 0..<blocks.count {
                storeBlock(V(), a.y + (b * l + t) * d + firstChannel(j), width(j))
            }
        }
        if let final = a.finalState {
            for j in 0..<blocks.count {
                scatterTransposed(scratch + j * perBlock + 3 * n, firstChannel: firstChannel(j), width: width(j),
                                  state: n, into: final + b * d * n)
            }
        }
    }

    /// The same contract as `forward` with plain loops in Double: the test oracle. Single-threaded.
    public static func reference(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?,
        chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil
    ) {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        precondition(chunkStates == nil || chunkLength >= 1,
                     "S4DScan.reference: chunkStates needs chunkLength >= 1, got \(chunkLength)")
        let chunkCount = chunkStates == nil ? 0 : dims.chunkCount(chunkLength: chunkLength)
        var h = [Double](repeating: 0, count: n)
        for b in 0..<batch {
            let validSteps = validLength(lengths, b, l)
            for channel in 0..<d {
                let dt = Double(delta[channel])
                for k in 0..<n { h[k] = initialState.map { Double($0[(b * d + channel) * n + k]) } ?? 0 }
                for t in 0..<l {
                    if let chunkStates, t % chunkLength == 0 {
                        for k in 0..<n { chunkStates[((b * chunkCount + t / chunkLength) * d + channel) * n + k] = Float(h[k]) }
                    }
                    let index = (b * l + t) * d + channel
                    if t >= validSteps {
                        y[index] = 0
                        continue
                    }
                    let x = Double(u[index])
                    var sum = Double(D?[channel] ?? 0) * x
                    for k in 0..<n {
                        let parameter = channel * n + k
                        h[k] = Foundation.exp(dt * Double(A[parameter])) * h[k] + dt * Double(B[parameter]) * x
                        sum += Double(C[parameter]) * h[k]
                    }
                    if let z { sum *= siluReference(Double(z[index])) }
                    y[index] = Float(sum)
                }
                if let finalState {
                    for k in 0..<n { finalState[(b * d + channel) * n + k] = Float(h[k]) }
                }
            }
        }
    }

    /// One time step for every sequence, updating `h` (b, d, n) in place. u, z, y: (b, d); delta, D: (d);
    /// A, B, C: (d, n). The same math as one step of `forward`.
    public static func step(
        batch: Int, channels: Int, state: Int,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        precondition(batch >= 0 && channels >= 0 && state >= 0,
                     "S4DScan.step: sizes must be >= 0, got b=\(batch) d=\(channels) n=\(state)")
        let (d, n) = (channels, state)
        for b in 0..<batch {
            for channel in 0..<d {
                let index = b * d + channel
                let x = u[index]
                let output = SelectiveScan.stepChannel(
                    dt: delta[channel], x: x, aRow: A + channel * n, bRow: B + channel * n, cRow: C + channel * n,
                    h: h + index * n, n: n)
                var value = output + (D?[channel] ?? 0) * x
                if let z { value *= VectorMath.silu(z[index]) }
                y[index] = value
            }
        }
    }
}

// MARK: - Backward
//
// With a = exp(delta·A) and b̄ = delta·B fixed per channel, per (b, d) and step t in reverse (dy, dz, dD, du's D
// term as in SelectiveScan):
//   g[n]  = dh[n] + dout·C[n];   dC[n] += dout·h_t[n];   du_t = Σₙ g·b̄[n] + D·dout;   dh[n] = a[n]·g[n]
// and the time sums Σₜ g·h_{t−1} and Σₜ g·u_t give the parameters once per sequence:
//   dA[n] += (Σₜ g·h_{t−1})·a·delta,   dB[n] += (Σₜ g·u_t)·delta,
//   ddelta += Σₙ (Σₜ g·h_{t−1})·a·A[n] + (Σₜ g·u_t)·B[n].

extension S4DScan {
    /// The gradients of Σ dy·y (plus Σ dFinalState·finalState when given) with respect to every input of `forward`,
    /// the states recomputed chunk by chunk from `chunkStates` as in `SelectiveScan.backward` (same tasks and
    /// segments). Each channel's sums over time stay in one task and the sequences' partials are added in sequence
    /// order: the results are bitwise identical for every `Parallel.threadCount` and `chunkLength`.
    ///
    /// Arguments (shapes row-major):
    ///   - dims, u, delta, A, B, C, D, z, lengths: as given to `forward`; delta (d) must be >= 0 and A <= 0.
    ///   - initialState: unused here (chunk 0 of `chunkStates` holds it), read by `backwardReference`.
    ///   - chunkStates, chunkLength: (b, ceil(l / chunkLength), d, n), written by `forward` with this chunkLength.
    ///   - dy: (b, l, d). du: (b, l, d) output, overwritten. dz: (b, l, d), overwritten when z is given.
    ///   - ddelta: (d), dA, dB, dC: (d, n), dD: (d) or nil: ACCUMULATED (+=).
    ///   - dInitialState: (b, d, n) output or nil, overwritten. dFinalState: (b, d, n) or nil (zero).
    ///   Positions t >= lengths[i] get zero du and dz and contribute nothing.
    public static func backward(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        chunkStates: UnsafePointer<Float>, chunkLength: Int, dy: UnsafePointer<Float>,
        du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
        dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>?,
        dz: UnsafeMutablePointer<Float>?, dInitialState: UnsafeMutablePointer<Float>?,
        dFinalState: UnsafePointer<Float>? = nil
    ) {
        precondition(chunkLength >= 1, "S4DScan.backward: chunkLength must be >= 1, got \(chunkLength)")
        let (batch, d, n) = (dims.batch, dims.channels, dims.state)
        let segment = backwardSegmentLength(chunkLength: chunkLength, state: n)
        // No sums over channels here (dB, dC are per channel): any partition gives the same results.
        let partition = ScanPartition(dims, unitBlocks: 1, historyBytesPerBlock: segment * n * 64,
                                      threads: Parallel.threadCount)
        let groups = partition.groupsPerSequence
        // Per-sequence partials (b, d, 3n + 2): dA, dB, dC of each channel, then ddelta, dD.
        let stride = 3 * n + 2
        let partials = Tensor(zeros: [batch, d, stride])
        let arguments = UnsafeSendable(BackwardArguments(
            dims: dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
            chunkStates: chunkStates, chunkLength: chunkLength,
            segmentLength: segment, dy: dy,
            dFinalState: dFinalState, du: du, dz: dz, dInitialState: dInitialState, partials: partials.pointer))
        Parallel.forEach(batch * groups) { task in
            withSubnormalsFlushed {
                backwardGroup(arguments.value, sequence: task / groups, blocks: partition.blockRange(task % groups))
            }
        }
        // The sequences' partials added in sequence order, then to the caller's sums.
        let sums = partials.pointer
        for channel in 0..<d {
            for k in 0..<stride {
                var sum: Float = 0
                for b in 0..<batch { sum += sums[(b * d + channel) * stride + k] }
                switch k {
                case ..<n: dA[channel * n + k] += sum
                case ..<(2 * n): dB[channel * n + k - n] += sum
                case ..<(3 * n): dC[channel * n + k - 2 * n] += sum
                case 3 * n: ddelta[channel] += sum
                default: dD?[channel] += sum
                }
            }
        }
        withExtendedLifetime(partials) {}
    }

    struct BackwardArguments {
        let dims: ScanDimensions
        let u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>
        let B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?
        let lengths: UnsafePointer<Int32>?
        let chunkStates: UnsafePointer<Float>, chunkLength: Int, segmentLength: Int
        let dy: UnsafePointer<Float>, dFinalState: UnsafePointer<Float>?
        let du: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>?
        let dInitialState: UnsafeMutablePointer<Float>?
        /// (b, d, 3n + 2).
        let partials: UnsafeMutablePointer<Float>
    }

    /// The backward kernel for sequence `b` and the channel blocks `blocks`.
    static func backwardGroup(_ a: BackwardArguments, sequence b: Int, blocks: Range<Int>) {
        typealias V = SIMD16<Float>
        let (l, d, n) = (a.dims.length, a.dims.channels, a.dims.state)
        let groupSize = blocks.count, blockStates = blocks.count * n
        let validSteps = validLength(a.lengths, b, l)
        let segment = a.segmentLength
        // Segment starts of one chunk (a chunk longer than the sequence holds the sequence).
        let segmentsPerChunk = (min(a.chunkLength, max(l, 1)) + segment - 1) / segment
        let scratch = allocateVectors(blockStates * (9 + segmentsPerChunk + segment) + groupSize * 6)
        defer { scratch.deallocate() }
        var cursor = scratch
        func take(_ count: Int) -> UnsafeMutablePointer<V> {
            defer { cursor += count }
            return cursor
        }
        // Per block, (n) vectors n-major: the forward's exp(delta·A), delta·B, C; A and B as given; the adjoint
        // state; the time sums Σ g·h_{t−1}, Σ g·u, Σ dout·h.
        let decay = take(blockStates), inputWeight = take(blockStates), cT = take(blockStates)
        let aT = take(blockStates), bT = take(blockStates), dh = take(blockStates)
        let decaySum = take(blockStates), inputSum = take(blockStates), outputSum = take(blockStates)
        let starts = take(segmentsPerChunk * blockStates), history = take(segment * blockStates)
        // dy·silu(z) and dy·silu'(z) of rows t and t − 1 (groupSize each).
        let doutRows = take(2 * groupSize), dzRows = take(2 * groupSize)
        let dDSum = take(groupSize), stepSize = take(groupSize)
        func firstChannel(_ j: Int) -> Int { (blocks.lowerBound + j) * scanBlockWidth }
        func width(_ j: Int) -> Int { min(scanBlockWidth, d - firstChannel(j)) }
        for j in 0..<groupSize {
            let d0 = firstChannel(j), lanes = width(j), block = j * n
            stepSize[j] = loadBlock(a.delta + d0, lanes)
            gatherTransposed(a.A, firstChannel: d0, width: lanes, state: n, into: aT + block)
            gatherTransposed(a.B, firstChannel: d0, width: lanes, state: n, into: bT + block)
            gatherTransposed(a.C, firstChannel: d0, width: lanes, state: n, into: cT + block)
            for k in 0..<n {   // as `forward`, bitwise
                decay[block + k] = VectorMath.expNegativeMagnitude(stepSize[j] * aT[block + k])
                inputWeight[block + k] = stepSize[j] * bT[block + k]
            }
            if let final = a.dFinalState {
                gatherTransposed(final + b * d * n, firstChannel: d0, width: lanes, state: n, into: dh + block)
            }
        }
        for t in validSteps..<max(l, validSteps) {
            for j in 0..<groupSize {
                let index = (b * l + t) * d + firstChannel(j)
                storeBlock(V(), a.du + index, width(j))
                if let dz = a.dz, a.z != nil { storeBlock(V(), dz + index, width(j)) }
            }
        }

        // Advances `state` through `steps` as `forward` does (bitwise); with `history`, the state after each step
        // goes to its slot there and `state` is left unchanged.
        func advance(_ state: UnsafeMutablePointer<V>, _ steps: Range<Int>, history: UnsafeMutablePointer<V>?) {
            for t in steps {
                let step = t - steps.lowerBound, rowStart = (b * l + t) * d
                for j in 0..<groupSize {
                    let block = j * n
                    let previous: UnsafeMutablePointer<V>, next: UnsafeMutablePointer<V>
                    if let history {
                        previous = step == 0 ? state + block : history + (step - 1) * blockStates + block
                        next = history + step * blockStates + block
                    } else {
                        (previous, next) = (state + block, state + block)
                    }
                    let x = loadBlock(a.u + rowStart + firstChannel(j), width(j))
                    for k in 0..<n {
                        next[k] = (inputWeight[block + k] * x).addingProduct(decay[block + k], previous[k])
                    }
                }
            }
        }

        // Writes du and dz of block j in the row at rowStart, given Σₙ g·b̄ (du) and Σₙ C·h (output); adds dout·u to dD.
        @inline(__always)
        func finishRow(_ j: Int, rowStart: Int, x: V, dout: V, du: V, output: V, dzFactor: V) {
            let d0 = firstChannel(j), lanes = width(j)
            var (du, output) = (du, output)
            if let skip = a.D {
                let skipValue = loadBlock(skip + d0, lanes)
                du = du.addingProduct(skipValue, dout)
                output = output.addingProduct(skipValue, x)
            }
            storeBlock(du, a.du + rowStart + d0, lanes)
            dDSum[j] = dDSum[j].addingProduct(dout, x)
            if let dz = a.dz, a.z != nil { storeBlock(dzFactor * output, dz + rowStart + d0, lanes) }
        }

        let chunkCount = (l + a.chunkLength - 1) / a.chunkLength
        let lastChunk = validSteps == 0 ? -1 : (validSteps - 1) / a.chunkLength
        for chunk in stride(from: lastChunk, through: 0, by: -1) {
            let chunkStart = chunk * a.chunkLength, chunkEnd = min(chunkStart + a.chunkLength, validSteps)
            let stored = a.chunkStates + (b * chunkCount + chunk) * d * n   // (b, chunk, ·, ·)
            for j in 0..<groupSize {
                gatherTransposed(stored, firstChannel: firstChannel(j), width: width(j), state: n, into: starts + j * n)
            }
            let segments = (chunkEnd - chunkStart + segment - 1) / segment
            for m in 1..<max(segments, 1) {
                (starts + m * blockStates).update(from: starts + (m - 1) * blockStates, count: blockStates)
                advance(starts + m * blockStates, (chunkStart + (m - 1) * segment)..<(chunkStart + m * segment),
                        history: nil)
            }
            for m in stride(from: segments - 1, through: 0, by: -1) {
                let segmentStart = chunkStart + m * segment, segmentEnd = min(segmentStart + segment, chunkEnd)
                let start = starts + m * blockStates
                advance(start, segmentStart..<segmentEnd, history: history)
                // Two steps (t, t − 1) per pass where the segment has them: the state-sized vectors (adjoint, time
                // sums, parameters) are then loaded and stored once per two steps (b=2 l=1024 d=512 n=16, one
                // thread, CPU time: native build 0.92 -> 0.71 ns per element; the haswell build, short of vector
                // registers, unchanged at 0.97). Every sum gets its terms in the same order as one step at a time,
                // so the results do not depend on the pairing.
                var t = segmentEnd - 1
                while t >= segmentStart {
                    let pair = t - 1 >= segmentStart
                    for slot in 0..<(pair ? 2 : 1) {
                        let rowStart = (b * l + t - slot) * d
                        for j in 0..<groupSize {
                            let dyValue = loadBlock(a.dy + rowStart + firstChannel(j), width(j))
                            if let z = a.z {
                                let gate = loadBlock(z + rowStart + firstChannel(j), width(j))
                                let sigmoid = VectorMath.sigmoid(gate)
                                doutRows[slot * groupSize + j] = dyValue * gate * sigmoid
                                dzRows[slot * groupSize + j] = dyValue * sigmoid * (1 + gate * (1 - sigmoid))
                            } else {
                                doutRows[slot * groupSize + j] = dyValue
                            }
                        }
                    }
                    let step = t - segmentStart, rowStart = (b * l + t) * d
                    for j in 0..<groupSize {
                        let d0 = firstChannel(j), lanes = width(j), block = j * n
                        let now = history + step * blockStates + block
                        let x = loadBlock(a.u + rowStart + d0, lanes), dout = doutRows[j]
                        var duValue = V(), output = V()
                        if pair {
                            // Row t − 1: its state is `before`, and the state before that `earlier`.
                            let before = history + (step - 1) * blockStates + block
                            let earlier = step == 1 ? start + block : history + (step - 2) * blockStates + block
                            let x1 = loadBlock(a.u + rowStart - d + d0, lanes), dout1 = doutRows[groupSize + j]
                            var duValue1 = V(), output1 = V()
                            for k in 0..<n {
                                let index = block + k
                                let (state, state1) = (now[k], before[k])
                                let (c, w, factor) = (cT[index], inputWeight[index], decay[index])
                                var outputs = outputSum[index], decays = decaySum[index], inputs = inputSum[index]
                                let g = dh[index].addingProduct(dout, c)
                                output = output.addingProduct(state, c)
                                outputs = outputs.addingProduct(dout, state)
                                decays = decays.addingProduct(g, state1)
                                inputs = inputs.addingProduct(g, x)
                                duValue = duValue.addingProduct(g, w)
                                let g1 = (factor * g).addingProduct(dout1, c)
                                output1 = output1.addingProduct(state1, c)
                                outputSum[index] = outputs.addingProduct(dout1, state1)
                                decaySum[index] = decays.addingProduct(g1, earlier[k])
                                inputSum[index] = inputs.addingProduct(g1, x1)
                                duValue1 = duValue1.addingProduct(g1, w)
                                dh[index] = factor * g1
                            }
                            finishRow(j, rowStart: rowStart, x: x, dout: dout, du: duValue, output: output,
                                      dzFactor: dzRows[j])
                            finishRow(j, rowStart: rowStart - d, x: x1, dout: dout1, du: duValue1, output: output1,
                                      dzFactor: dzRows[groupSize + j])
                        } else {
                            let previous = step == 0 ? start + block : history + (step - 1) * blockStates + block
                            for k in 0..<n {
                                let index = block + k
                                let state = now[k]
                                let g = dh[index].addingProduct(dout, cT[index])
                                output = output.addingProduct(state, cT[index])
                                outputSum[index] = outputSum[index].addingProduct(dout, state)
                                decaySum[index] = decaySum[index].addingProduct(g, previous[k])
                                inputSum[index] = inputSum[index].addingProduct(g, x)
                                duValue = duValue.addingProduct(g, inputWeight[index])
                                dh[index] = decay[index] * g
                            }
                            finishRow(j, rowStart: rowStart, x: x, dout: dout, du: duValue, output: output,
                                      dzFactor: dzRows[j])
                        }
                    }
                    t -= pair ? 2 : 1
                }
            }
        }
        let stride = 3 * n + 2
        for j in 0..<groupSize {
            let d0 = firstChannel(j), lanes = width(j), block = j * n
            if let initial = a.dInitialState {
                scatterTransposed(dh + block, firstChannel: d0, width: lanes, state: n, into: initial + b * d * n)
            }
            var stepGradient = V()
            for k in 0..<n {
                let decayGradient = decaySum[block + k] * decay[block + k]       // Σₜ (∂L/∂a)·a
                stepGradient = stepGradient.addingProduct(decayGradient, aT[block + k])
                stepGradient = stepGradient.addingProduct(inputSum[block + k], bT[block + k])
                decaySum[block + k] = decayGradient * stepSize[j]                // dA
                inputSum[block + k] = inputSum[block + k] * stepSize[j]          // dB
            }
            let partials = a.partials + b * d * stride     // (d, 3n + 2) of sequence b
            for lane in 0..<lanes {
                let row = partials + (d0 + lane) * stride
                for k in 0..<n {
                    row[k] = decaySum[block + k][lane]
                    row[n + k] = inputSum[block + k][lane]
                    row[2 * n + k] = outputSum[block + k][lane]
                }
                row[3 * n] = stepGradient[lane]
                row[3 * n + 1] = dDSum[j][lane]
            }
        }
    }
}

// MARK: - Reference backward

extension S4DScan {
    /// The same contract as `backward`, computed by `S4DScanReference` in Double with the whole state history: the
    /// test oracle. `chunkStates` and `chunkLength` are not read; they are accepted so that both kernels share a
    /// signature. Single-threaded.
    public static func backwardReference(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        chunkStates: UnsafePointer<Float>?, chunkLength: Int, dy: UnsafePointer<Float>,
        du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
        dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>?,
        dz: UnsafeMutablePointer<Float>?, dInitialState: UnsafeMutablePointer<Float>?,
        dFinalState: UnsafePointer<Float>? = nil
    ) {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        func doubles(_ pointer: UnsafePointer<Float>, _ count: Int) -> [Double] {
            (0..<count).map { Double(pointer[$0]) }
        }
        let problem = S4DScanReference(
            dims: dims, u: doubles(u, batch * l * d), delta: doubles(delta, d), A: doubles(A, d * n),
            B: doubles(B, d * n), C: doubles(C, d * n), D: D.map { doubles($0, d) },
            z: z.map { doubles($0, batch * l * d) },
            lengths: lengths.map { pointer in (0..<batch).map { Int(pointer[$0]) } },
            initialState: initialState.map { doubles($0, batch * d * n) })
        let gradients = problem.backward(dy: doubles(dy, batch * l * d),
                                         dFinalState: dFinalState.map { doubles($0, batch * d * n) })
        for index in 0..<(batch * l * d) {
            du[index] = Float(gradients.du[index])
            if let dz, z != nil { dz[index] = Float(gradients.dz[index]) }
        }
        for index in 0..<(d * n) {
            dA[index] = Float(Double(dA[index]) + gradients.dA[index])
            dB[index] = Float(Double(dB[index]) + gradients.dB[index])
            dC[index] = Float(Double(dC[index]) + gradients.dC[index])
        }
        for channel in 0..<d {
            ddelta[channel] = Float(Double(ddelta[channel]) + gradients.ddelta[channel])
            if let dD { dD[channel] = Float(Double(dD[channel]) + gradients.dD[channel]) }
        }
        if let dInitialState {
            for index in 0..<(batch * d * n) { dInitialState[index] = Float(gradients.dInitialState[index]) }
        }
    }
}

/// An S4D scan held in Double: forward and backward with the whole state history, plain loops (the oracle of
/// `S4DScan.backward` and the subject of the finite-difference tests). Layouts as `S4DScan.forward`.
struct S4DScanReference {
    var dims: ScanDimensions
    var u: [Double], delta: [Double], A: [Double], B: [Double], C: [Double]
    var D: [Double]?, z: [Double]?
    var lengths: [Int]?
    var initialState: [Double]?

    /// Every gradient of Σ dy·y + Σ dFinalState·finalState, in the layouts of the inputs.
    struct Gradients {
        var du: [Double], ddelta: [Double], dA: [Double], dB: [Double], dC: [Double]
        var dD: [Double], dz: [Double], dInitialState: [Double]
    }

    func validSteps(_ b: Int) -> Int { lengths.map { min(max($0[b], 0), dims.length) } ?? dims.length }

    /// The states h_0 (initial) … h_l of one (sequence, channel), (l + 1, n); steps past the valid length repeat
    /// the last state.
    func states(_ b: Int, channel: Int) -> [Double] {
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        let valid = validSteps(b), dt = delta[channel]
        var h = [Double](repeating: 0, count: (l + 1) * n)
        for k in 0..<n { h[k] = initialState?[(b * d + channel) * n + k] ?? 0 }
        for t in 0..<l {
            let x = u[(b * l + t) * d + channel]
            for k in 0..<n {
                let parameter = channel * n + k
                h[(t + 1) * n + k] = t >= valid ? h[t * n + k]
                    : Foundation.exp(dt * A[parameter]) * h[t * n + k] + dt * B[parameter] * x
            }
        }
        return h
    }

    /// y (b, l, d) and the final state (b, d, n).
    func forward() -> (y: [Double], finalState: [Double]) {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var y = [Double](repeating: 0, count: batch * l * d), final = [Double](repeating: 0, count: batch * d * n)
        for b in 0..<batch {
            for channel in 0..<d {
                let h = states(b, channel: channel)
                for t in 0..<validSteps(b) {
                    let index = (b * l + t) * d + channel
                    var output = (D?[channel] ?? 0) * u[index]
                    for k in 0..<n { output += C[channel * n + k] * h[(t + 1) * n + k] }
                    y[index] = output * (z.map { siluReference($0[index]) } ?? 1)
                }
                for k in 0..<n { final[(b * d + channel) * n + k] = h[l * n + k] }
            }
        }
        return (y, final)
    }

    /// The gradients of Σ dy·y + Σ dFinalState·finalState, accumulated step by step (not through the time sums of
    /// the fused kernel).
    func backward(dy: [Double], dFinalState: [Double]?) -> Gradients {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var gradients = Gradients(
            du: .init(repeating: 0, count: batch * l * d), ddelta: .init(repeating: 0, count: d),
            dA: .init(repeating: 0, count: d * n), dB: .init(repeating: 0, count: d * n),
            dC: .init(repeating: 0, count: d * n), dD: .init(repeating: 0, count: d),
            dz: .init(repeating: 0, count: batch * l * d), dInitialState: .init(repeating: 0, count: batch * d * n))
        var dh = [Double](repeating: 0, count: n)
        for b in 0..<batch {
            for channel in 0..<d {
                let h = states(b, channel: channel), dt = delta[channel]
                for k in 0..<n { dh[k] = dFinalState?[(b * d + channel) * n + k] ?? 0 }
                for t in stride(from: validSteps(b) - 1, through: 0, by: -1) {
                    let index = (b * l + t) * d + channel
                    let x = u[index], skip = D?[channel] ?? 0
                    var output = skip * x
                    for k in 0..<n { output += C[channel * n + k] * h[(t + 1) * n + k] }
                    var dout = dy[index]
                    if let z {
                        let sigmoid = 1 / (1 + Foundation.exp(-z[index]))
                        dout = dy[index] * z[index] * sigmoid
                        gradients.dz[index] = dy[index] * output * sigmoid * (1 + z[index] * (1 - sigmoid))
                    }
                    gradients.dD[channel] += dout * x
                    var du = skip * dout
                    for k in 0..<n {
                        let parameter = channel * n + k
                        let g = dh[k] + dout * C[parameter]
                        gradients.dC[parameter] += dout * h[(t + 1) * n + k]
                        let decay = Foundation.exp(dt * A[parameter])
                        let decayGradient = g * h[t * n + k] * decay
                        gradients.dA[parameter] += decayGradient * dt
                        gradients.ddelta[channel] += decayGradient * A[parameter] + g * B[parameter] * x
                        gradients.dB[parameter] += g * dt * x
                        du += g * dt * B[parameter]
                        dh[k] = decay * g
                    }
                    gradients.du[index] = du
                }
                for k in 0..<n { gradients.dInitialState[(b * d + channel) * n + k] = dh[k] }
            }
        }
        return gradients
    }
}
