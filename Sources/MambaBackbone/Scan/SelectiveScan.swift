// The selective scan (S6) of Mamba: a diagonal linear recurrence whose step size and input/output projections depend
// on the input. Reference: selective_scan_ref in state-spaces/mamba (mamba_ssm/ops/selective_scan_interface.py) and
// the "hardware-aware" fused kernel of Gu & Dao 2023, section 3.3.2, carried to a CPU.
//
// Per (b, t, d), with h the (n) state of channel d of sequence b:
//   dt      = deltaScale · (deltaSoftplus ? softplus(delta + deltaBias) : delta + deltaBias)  (scalar, must be >= 0)
//   h[n]    = exp(dt · A[d, n]) · h[n] + dt · B[b, t, n] · u[b, t, d]      (ZOH for A, Euler for B, as the official
//                                                                           code; the paper writes ZOH for both)
//   y       = Σₙ C[b, t, n] · h[n] + D[d] · u[b, t, d];   y ·= silu(z[b, t, d]) when z is given.
//
// Layouts (row-major): u, delta, z, y (b, l, d); A (d, n), already negative (−exp(A_log)); B, C (b, l, n);
// D, deltaBias (d); lengths (b); initialState, finalState (b, d, n); chunkStates (b, ceil(l / chunkLength), d, n).
import Foundation
import MambaTensor

/// The selective scan: `forward` (fused, SIMD, parallel), `reference` (plain loops, the oracle), `step` (one step).
public enum SelectiveScan {
    /// Runs the scan over whole sequences (fused kernel).
    ///
    /// One pass over time per (sequence, group of 16-channel blocks): at each step the step size is discretised, the
    /// state updated in L1/L2 and contracted with C; the (b, l, d, n) tensors of discretised A and B are never formed.
    /// SIMD over 16 channels (A read once into (n, 16) vectors per block), tasks over sequences × channel groups on
    /// `Parallel`. The decay exp(dt·A) is `VectorMath.expNegativeMagnitude` (relative error < 1.5e-7), which needs
    /// dt >= 0 and A <= 0, as Mamba guarantees (softplus, A = −exp(A_log)); the reference computes exp(dt·A) as given.
    ///
    /// Arguments (shapes row-major):
    ///   - u, delta: (b, l, d). B, C: (b, l, n). A: (d, n), negative. D, deltaBias: (d) or nil (0).
    ///   - z: (b, l, d) gate or nil; when given, y is multiplied by silu(z).
    ///   - deltaSoftplus: apply softplus to delta + deltaBias (PyTorch threshold 20). deltaScale multiplies the result.
    ///   - lengths: (b) valid lengths or nil (all l). Steps t >= lengths[i] leave the state untouched and write y = 0.
    ///     Values outside [0, l] are clamped to it.
    ///   - initialState: (b, d, n) or nil (zeros). finalState: (b, d, n) output or nil: the state after the last
    ///     valid step.
    ///   - y: (b, l, d) output; may not alias the inputs.
    ///   - chunkLength, chunkStates: when chunkStates is given, the state at the start of every chunk of
    ///     chunkLength (>= 1) steps is written there, (b, ceil(l / chunkLength), d, n): chunk c holds the state before
    ///     step c·chunkLength (chunk 0 holds the initial state). A backward pass can recompute within chunks from it.
    public static func forward(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
        z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?, deltaSoftplus: Bool, deltaScale: Float = 1,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?,
        chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil
    ) {
        let chunkLength = chunkStates == nil ? max(dims.length, 1) : chunkLength
        precondition(chunkLength >= 1, "SelectiveScan.forward: chunkStates needs chunkLength >= 1, got \(chunkLength)")
        let partition = ScanPartition(dims, bytesPerBlock: 2 * dims.state * 64, threads: Parallel.threadCount)
        let arguments = UnsafeSendable(Arguments(
            dims: dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
            deltaSoftplus: deltaSoftplus, deltaScale: deltaScale, lengths: lengths, initialState: initialState,
            y: y, finalState: finalState, chunkLength: chunkLength, chunkStates: chunkStates))
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
        let B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?
        let z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?
        let deltaSoftplus: Bool, deltaScale: Float
        let lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?
        let y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?
        let chunkLength: Int, chunkStates: UnsafeMutablePointer<Float>?
    }

    /// The fused kernel for sequence `b` and the channel blocks `blocks` (block j = channels 16j ..< 16j + 16, fewer
    /// in the last block of d): time in the outer loop, blocks inside.
    static func forwardGroup(_ a: Arguments, sequence b: Int, blocks: Range<Int>) {
        typealias V = SIMD16<Float>
        let (l, d, n) = (a.dims.length, a.dims.channels, a.dims.state)
        let validSteps = validLength(a.lengths, b, l)
        // Per block, (n) vectors of 16 channels: A transposed, then the state h; then per block the step's dt and
        // skip-plus-gate terms, computed for the whole row first (see below).
        let scratch = allocateVectors((2 * n + 2) * blocks.count)
        defer { scratch.deallocate() }
        let aT = scratch, hT = scratch + n * blocks.count
        let dtRow = hT + n * blocks.count, gateRow = dtRow + blocks.count
        func firstChannel(_ j: Int) -> Int { (blocks.lowerBound + j) * scanBlockWidth }
        func width(_ j: Int) -> Int { min(scanBlockWidth, d - firstChannel(j)) }
        for j in 0..<blocks.count {
            gatherTransposed(a.A, firstChannel: firstChannel(j), width: width(j), state: n, into: aT + j * n)
            if let initial = a.initialState {
                gatherTransposed(initial + b * d * n, firstChannel: firstChannel(j), width: width(j), state: n,
                                 into: hT + j * n)
            }
        }
        let scale = V(repeating: a.deltaScale)
        let chunkCount = (l + a.chunkLength - 1) / a.chunkLength
        for chunk in 0..<max(chunkCount, 1) {
            let start = chunk * a.chunkLength
            if let states = a.chunkStates, chunk < chunkCount {
                for j in 0..<blocks.count {
                    scatterTransposed(hT + j * n, firstChannel: firstChannel(j), width: width(j), state: n,
                                      into: states + (b * chunkCount + chunk) * d * n)
                }
            }
            let end = min(start + a.chunkLength, validSteps)
            if start >= end { continue }
            for t in start..<end {
                let bRow = a.B + (b * l + t) * n, cRow = a.C + (b * l + t) * n   // (b, t, :) in (b, l, n)
                let rowStart = (b * l + t) * d                                    // (b, t, 0) in (b, l, d)
                // dt and silu(z) for the whole row first: computed block after block inside the state loop, each
                // softplus (a long dependency chain) stalled the next block's exps; here they overlap.
                for j in 0..<blocks.count {
                    let d0 = firstChannel(j), lanes = width(j)
                    var dt = loadBlock(a.delta + rowStart + d0, lanes)
                    if let bias = a.deltaBias { dt += loadBlock(bias + d0, lanes) }
                    if a.deltaSoftplus { dt = VectorMath.softplus(dt) }
                    dtRow[j] = dt * scale
                    if let z = a.z { gateRow[j] = VectorMath.silu(loadBlock(z + rowStart + d0, lanes)) }
                }
                for j in 0..<blocks.count {
                    let d0 = firstChannel(j), lanes = width(j)
                    let aBlock = aT + j * n, h = hT + j * n
                    let uValue = loadBlock(a.u + rowStart + d0, lanes)
                    let dt = dtRow[j], dtU = dt * uValue
                    var sum = V()
                    for k in 0..<n {
                        let decay = VectorMath.expNegativeMagnitude(dt * aBlock[k])
                        let hk = (dtU * bRow[k]).addingProduct(decay, h[k])
                        h[k] = hk
                        sum = sum.addingProduct(hk, cRow[k])
                    }
                    if let skip = a.D { sum = sum.addingProduct(loadBlock(skip + d0, lanes), uValue) }
                    if a.z != nil { sum *= gateRow[j] }
                    storeBlock(sum, a.y + rowStart + d0, lanes)
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
                scatterTransposed(hT + j * n, firstChannel: firstChannel(j), width: width(j), state: n,
                                  into: final + b * d * n)
            }
        }
    }

    /// The same contract as `forward`, computed with plain loops in Double (exp and log1p from the C library):
    /// the test oracle. Single-threaded.
    public static func reference(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
        z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?, deltaSoftplus: Bool, deltaScale: Float = 1,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>?,
        chunkLength: Int = 0, chunkStates: UnsafeMutablePointer<Float>? = nil
    ) {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        precondition(chunkStates == nil || chunkLength >= 1,
                     "SelectiveScan.reference: chunkStates needs chunkLength >= 1, got \(chunkLength)")
        let chunkCount = chunkStates == nil ? 0 : dims.chunkCount(chunkLength: chunkLength)
        var h = [Double](repeating: 0, count: n)
        for b in 0..<batch {
            let validSteps = validLength(lengths, b, l)
            for channel in 0..<d {
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
                    var dt = Double(delta[index]) + Double(deltaBias?[channel] ?? 0)
                    if deltaSoftplus { dt = softplusReference(dt) }
                    dt *= Double(deltaScale)
                    var sum = Double(D?[channel] ?? 0) * x
                    for k in 0..<n {
                        let decay = Foundation.exp(dt * Double(A[channel * n + k]))
                        h[k] = decay * h[k] + dt * Double(B[(b * l + t) * n + k]) * x
                        sum += Double(C[(b * l + t) * n + k]) * h[k]
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

    /// One time step for every sequence (recurrent inference), updating `h` in place.
    ///
    /// Shapes: u, delta, z, y (b, d); B, C (b, n); A (d, n); D, deltaBias (d); h (b, d, n). The same math as one step
    /// of `forward`. SIMD over n (h's rows are contiguous in n), parallel over sequences × channel groups when the
    /// step is large enough to pay for the threads.
    public static func step(
        batch: Int, channels: Int, state: Int,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?, z: UnsafePointer<Float>?,
        deltaBias: UnsafePointer<Float>?, deltaSoftplus: Bool, deltaScale: Float = 1,
        h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
    ) {
        precondition(batch >= 0 && channels >= 0 && state >= 0,
                     "SelectiveScan.step: sizes must be >= 0, got b=\(batch) d=\(channels) n=\(state)")
        let (d, n) = (channels, state)
        let arguments = UnsafeSendable((u, delta, A, B, C, D, z, deltaBias, h, y))
        // Groups of channels of about 16k state elements each: one group per task.
        let channelsPerGroup = max(1, min(d, 16_384 / max(n, 1)))
        let groups = (d + channelsPerGroup - 1) / channelsPerGroup
        let body: @Sendable (Int) -> Void = { task in
            let (u, delta, A, B, C, D, z, deltaBias, h, y) = arguments.value
            let b = task / groups
            let first = (task % groups) * channelsPerGroup
            let bRow = B + b * n, cRow = C + b * n
            for channel in first..<min(first + channelsPerGroup, d) {
                let index = b * d + channel
                var dt = delta[index] + (deltaBias?[channel] ?? 0)
                if deltaSoftplus { dt = VectorMath.softplus(dt) }
                dt *= deltaScale
                let x = u[index]
                let output = stepChannel(
                    dt: dt, x: x, aRow: A + channel * n, bRow: bRow, cRow: cRow, h: h + index * n, n: n)
                var value = output + (D?[channel] ?? 0) * x
                if let z { value *= VectorMath.silu(z[index]) }
                y[index] = value
            }
        }
        if batch * d * n >= 1 << 16 {
            Parallel.forEach(batch * groups, body)
        } else {
            for task in 0..<(batch * groups) { body(task) }
        }
    }

    /// h[k] = exp(dt·A[k])·h[k] + dt·B[k]·x for k < n, returning Σ C[k]·h[k]; SIMD16 over k with a masked tail.
    @inline(__always)
    static func stepChannel(
        dt: Float, x: Float, aRow: UnsafePointer<Float>, bRow: UnsafePointer<Float>, cRow: UnsafePointer<Float>,
        h: UnsafeMutablePointer<Float>, n: Int
    ) -> Float {
        typealias V = SIMD16<Float>
        var sum = V()
        var k = 0
        while k < n {
            let width = min(scanBlockWidth, n - k)
            let decay = VectorMath.expNegativeMagnitude(V(repeating: dt) * loadBlock(aRow + k, width))
            let state = (V(repeating: dt * x) * loadBlock(bRow + k, width)).addingProduct(decay, loadBlock(h + k, width))
            storeBlock(state, h + k, width)
            sum = sum.addingProduct(state, loadBlock(cRow + k, width))
            k += scanBlockWidth
        }
        return sum.sum()
    }
}

// MARK: - Backward
//
// Gradients of L = Σ dy·y (+ Σ dFinalState·finalState) for the recurrence above, per (b, d) and step t (reverse):
//   out     = Σₙ C[t, n]·h_t[n] + D·u_t,   y = out · silu(z_t)             (without z: y = out)
//   dout    = dy_t · silu(z_t);   dz_t = dy_t · out · silu'(z_t);   dD += dout · u_t
//   g[n]    = dh[n] + dout · C[t, n]              (the adjoint of h_t: carried from t + 1, plus y's own term)
//   dC[t, n] += dout · h_t[n]                     (summed over channels)
//   a = exp(dt·A):  (∂L/∂a)·a = g·h_{t−1}·a  →  dA[n] += g·h_{t−1}·a·dt,  ddt += Σₙ g·h_{t−1}·a·A[n]
//   dt·B·u:         dB[t, n] += g·dt·u (summed over channels),  ddt += u·Σₙ g·B[t, n],
//                   du_t = dt·Σₙ g·B[t, n] + D·dout
//   dh[n]   = a[n] · g[n]                         (the adjoint of h_{t−1})
//   ddelta_t = ddt · deltaScale · (deltaSoftplus ? sigmoid(delta + bias) : 1)  (1 above the softplus threshold 20,
//              as torch's softplus backward);   ddeltaBias += ddelta_t;   dInitialState = dh after step 0.
// (As selective_scan_bwd in state-spaces/mamba, whose CUDA kernel also recomputes the states from chunk boundaries.)

extension SelectiveScan {
    /// The gradients of Σ dy·y (plus Σ dFinalState·finalState when given) with respect to every input of `forward`,
    /// computed without a (b, l, d, n) tensor: the states are recomputed chunk by chunk from `chunkStates` as
    /// `forward` wrote them, while the adjoint state is carried backwards through time.
    ///
    /// Tasks are (sequence, group of channel blocks) pairs, as wide as the thread count allows (`ScanPartition`). For
    /// each chunk, last first, a task recomputes the chunk's states from its start state (bitwise the forward's), a
    /// segment of at most 64 steps at a time (at n = 16) into a history buffer, then walks the segment backwards,
    /// SIMD over 16 channels as `forward`, time outside and blocks inside. Memory: segment · n floats per channel of
    /// a task, plus (b, l, d/256, n) partial sums of dB and dC per reduction unit of 256 channels
    /// (`backwardReductionBlocks`) and (b, d, n + 2) per-sequence parameter partials, all added in a fixed order.
    /// The results are therefore bitwise identical for every `Parallel.threadCount` and every `chunkLength`.
    ///
    /// Needs dt >= 0 and A <= 0 as `forward` (the decay is `VectorMath.expNegativeMagnitude`).
    ///
    /// Arguments (shapes row-major):
    ///   - dims, u, delta, A, B, C, D, z, deltaBias, deltaSoftplus, deltaScale, lengths: as given to `forward`.
    ///   - initialState: as given to `forward`; unused here (chunk 0 of `chunkStates` holds it), read by
    ///     `backwardReference`, which shares this signature.
    ///   - chunkStates, chunkLength: (b, ceil(l / chunkLength), d, n), written by `forward` with this chunkLength
    ///     (>= 1). Any chunk length works and gives the same results; `ScanDimensions.recommendedChunkLength` (64 at
    ///     n = 16) is the longest walked in one pass: longer chunks are first walked forward once more to find their
    ///     segment starts (b=2 l=1024 d=512 n=16: chunks of 16-64 steps 1.0-1.07 ns per element, 128-256 steps
    ///     1.2-1.25, 1024 steps 1.34).
    ///   - dy: (b, l, d), the gradient of the loss with respect to y.
    ///   - du, ddelta: (b, l, d) outputs, overwritten; ddelta is the gradient with respect to the raw `delta` input
    ///     (through deltaBias, softplus and deltaScale).
    ///   - dB, dC: (b, l, n) outputs, overwritten.
    ///   - dA: (d, n), dD, ddeltaBias: (d) or nil: ACCUMULATED (+=), so that callers can sum over calls.
    ///   - dz: (b, l, d) output, overwritten when z is given (not written without z).
    ///   - dInitialState: (b, d, n) output or nil, overwritten.
    ///   - dFinalState: (b, d, n), the gradient with respect to `finalState`, or nil (zero).
    ///   Positions t >= lengths[i] get zero du, ddelta, dz, dB, dC and contribute nothing.
    public static func backward(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
        z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?, deltaSoftplus: Bool, deltaScale: Float = 1,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        chunkStates: UnsafePointer<Float>, chunkLength: Int, dy: UnsafePointer<Float>,
        du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
        dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>?,
        dz: UnsafeMutablePointer<Float>?, ddeltaBias: UnsafeMutablePointer<Float>?,
        dInitialState: UnsafeMutablePointer<Float>?, dFinalState: UnsafePointer<Float>? = nil
    ) {
        precondition(chunkLength >= 1, "SelectiveScan.backward: chunkLength must be >= 1, got \(chunkLength)")
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        let segment = backwardSegmentLength(chunkLength: chunkLength, state: n)
        let partition = ScanPartition(dims, unitBlocks: backwardReductionBlocks,
                                      historyBytesPerBlock: segment * n * 64, threads: Parallel.threadCount)
        let groups = partition.groupsPerSequence
        let units = (partition.blocks + backwardReductionBlocks - 1) / backwardReductionBlocks
        // Partial sums: dB and dC rows per reduction unit (b, units, l, n) each; per sequence dA (b, d, n), dD and
        // ddeltaBias (b, d).
        let rowPartials = Tensor(zeros: [2, batch, units, l, n])
        let parameterPartials = Tensor(zeros: [batch, d, n + 2])
        let arguments = UnsafeSendable(BackwardArguments(
            dims: dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
            deltaSoftplus: deltaSoftplus, deltaScale: deltaScale, lengths: lengths,
            chunkStates: chunkStates, chunkLength: chunkLength,
            segmentLength: segment, dy: dy, dFinalState: dFinalState,
            du: du, ddelta: ddelta, dz: dz, dInitialState: dInitialState,
            dBPartials: rowPartials.pointer, dCPartials: rowPartials.pointer + batch * units * l * n,
            parameterPartials: parameterPartials.pointer, unitsPerSequence: units))
        Parallel.forEach(batch * groups) { task in
            withSubnormalsFlushed {
                backwardGroup(arguments.value, sequence: task / groups, blocks: partition.blockRange(task % groups))
            }
        }
        // dB, dC: the units' partial rows added in unit order (rows past a sequence's length are 0).
        let outputs = UnsafeSendable((dB, dC, rowPartials.pointer, lengths))
        Parallel.forEach(batch) { b in
            let (dB, dC, partials, lengths) = outputs.value
            let validSteps = validLength(lengths, b, l)
            for (output, part) in [(dB, partials), (dC, partials + batch * units * l * n)] {
                for index in 0..<(l * n) {
                    var sum: Float = 0
                    if index < validSteps * n {
                        for unit in 0..<units { sum += part[(b * units + unit) * l * n + index] }
                    }
                    output[b * l * n + index] = sum
                }
            }
        }
        // dA, dD, ddeltaBias: the sequences' partials added in sequence order, then to the caller's sums.
        withExtendedLifetime(rowPartials) {}
        let partials = parameterPartials.pointer
        for channel in 0..<d {
            for k in 0..<(n + 2) {
                var sum: Float = 0
                for b in 0..<batch { sum += partials[(b * d + channel) * (n + 2) + k] }
                if k < n {
                    dA[channel * n + k] += sum
                } else if k == n {
                    dD?[channel] += sum
                } else {
                    ddeltaBias?[channel] += sum
                }
            }
        }
        withExtendedLifetime(parameterPartials) {}
    }

    struct BackwardArguments {
        let dims: ScanDimensions
        let u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>
        let B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?
        let z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?
        let deltaSoftplus: Bool, deltaScale: Float
        let lengths: UnsafePointer<Int32>?
        let chunkStates: UnsafePointer<Float>, chunkLength: Int, segmentLength: Int
        let dy: UnsafePointer<Float>, dFinalState: UnsafePointer<Float>?
        let du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>?
        let dInitialState: UnsafeMutablePointer<Float>?
        /// (b, units, l, n) each.
        let dBPartials: UnsafeMutablePointer<Float>, dCPartials: UnsafeMutablePointer<Float>
        /// (b, d, n + 2): dA, then dD, then ddeltaBias of each channel.
        let parameterPartials: UnsafeMutablePointer<Float>
        let unitsPerSequence: Int
    }

    /// The backward kernel for sequence `b` and the channel blocks `blocks` (whole reduction units, the last one
    /// possibly short at the end of d).
    static func backwardGroup(_ a: BackwardArguments, sequence b: Int, blocks: Range<Int>) {
        typealias V = SIMD16<Float>
        let (l, d, n) = (a.dims.length, a.dims.channels, a.dims.state)
        let groupSize = blocks.count, blockStates = blocks.count * n
        let validSteps = validLength(a.lengths, b, l)
        let segment = a.segmentLength
        // Segment starts of one chunk (a chunk longer than the sequence holds the sequence).
        let segmentsPerChunk = (min(a.chunkLength, max(l, 1)) + segment - 1) / segment
        let paddedState = (n + scanBlockWidth - 1) / scanBlockWidth * scanBlockWidth
        // Scratch, in SIMD16 vectors of 16 channels; per block, (n) vectors n-major as in `forward`.
        let scratch = allocateVectors(blockStates * (3 + segmentsPerChunk + segment) + groupSize * (segment + 4)
                                      + 2 * paddedState)
        defer { scratch.deallocate() }
        var cursor = scratch
        func take(_ count: Int) -> UnsafeMutablePointer<V> {
            defer { cursor += count }
            return cursor
        }
        let aT = take(blockStates)                          // A transposed
        let dh = take(blockStates)                          // the adjoint state
        let dASum = take(blockStates)                       // Σₜ g·h_{t−1}·a·dt
        let starts = take(segmentsPerChunk * blockStates)   // the state at each segment start of the current chunk
        let history = take(segment * blockStates)           // the state after each step of the current segment
        let dtHistory = take(segment * groupSize)           // dt of each step of the current segment
        let doutRow = take(groupSize), dzRow = take(groupSize)   // dy·silu(z), dy·silu'(z) of the current row
        let dDSum = take(groupSize), dBiasSum = take(groupSize)
        let rowDB = take(paddedState), rowDC = take(paddedState) // this row's dB, dC over a unit's lanes (+ zeros)
        func firstChannel(_ j: Int) -> Int { (blocks.lowerBound + j) * scanBlockWidth }
        func width(_ j: Int) -> Int { min(scanBlockWidth, d - firstChannel(j)) }
        for j in 0..<groupSize {
            gatherTransposed(a.A, firstChannel: firstChannel(j), width: width(j), state: n, into: aT + j * n)
            if let final = a.dFinalState {
                gatherTransposed(final + b * d * n, firstChannel: firstChannel(j), width: width(j), state: n,
                                 into: dh + j * n)
            }
        }
        for t in validSteps..<max(l, validSteps) {
            for j in 0..<groupSize {
                let index = (b * l + t) * d + firstChannel(j)
                storeBlock(V(), a.du + index, width(j))
                storeBlock(V(), a.ddelta + index, width(j))
                if let dz = a.dz, a.z != nil { storeBlock(V(), dz + index, width(j)) }
            }
        }
        let scale = V(repeating: a.deltaScale)

        // Advances `state` (blockStates vectors) through `steps` as `forward` does, bitwise: dt of step t goes to
        // dtHistory[t − steps.lowerBound]; with `history`, the state after that step goes to its slot there and
        // `state` is left unchanged.
        func advance(_ state: UnsafeMutablePointer<V>, _ steps: Range<Int>, history: UnsafeMutablePointer<V>?) {
            for t in steps {
                let step = t - steps.lowerBound
                let bRow = a.B + (b * l + t) * n
                let rowStart = (b * l + t) * d
                for j in 0..<groupSize {
                    let d0 = firstChannel(j), lanes = width(j)
                    var dt = loadBlock(a.delta + rowStart + d0, lanes)
                    if let bias = a.deltaBias { dt += loadBlock(bias + d0, lanes) }
                    if a.deltaSoftplus { dt = VectorMath.softplus(dt) }
                    dtHistory[step * groupSize + j] = dt * scale
                }
                for j in 0..<groupSize {
                    let aBlock = aT + j * n
                    let previous: UnsafeMutablePointer<V>, next: UnsafeMutablePointer<V>
                    if let history {
                        previous = step == 0 ? state + j * n : history + ((step - 1) * groupSize + j) * n
                        next = history + (step * groupSize + j) * n
                    } else {
                        (previous, next) = (state + j * n, state + j * n)
                    }
                    let dt = dtHistory[step * groupSize + j]
                    let dtU = dt * loadBlock(a.u + rowStart + firstChannel(j), width(j))
                    for k in 0..<n {
                        let decay = VectorMath.expNegativeMagnitude(dt * aBlock[k])
                        next[k] = (dtU * bRow[k]).addingProduct(decay, previous[k])
                    }
                }
            }
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
                for t in stride(from: segmentEnd - 1, through: segmentStart, by: -1) {
                    let step = t - segmentStart
                    let bRow = a.B + (b * l + t) * n, cRow = a.C + (b * l + t) * n
                    let rowStart = (b * l + t) * d
                    for j in 0..<groupSize {
                        let dyValue = loadBlock(a.dy + rowStart + firstChannel(j), width(j))
                        if let z = a.z {
                            let gate = loadBlock(z + rowStart + firstChannel(j), width(j))
                            let sigmoid = VectorMath.sigmoid(gate)
                            doutRow[j] = dyValue * gate * sigmoid
                            // silu'(z) = σ(z)·(1 + z·(1 − σ(z)))
                            dzRow[j] = dyValue * sigmoid * (1 + gate * (1 - sigmoid))
                        } else {
                            doutRow[j] = dyValue
                        }
                    }
                    for firstBlock in stride(from: 0, to: groupSize, by: backwardReductionBlocks) {
                        for k in 0..<n { rowDB[k] = V(); rowDC[k] = V() }
                        for j in firstBlock..<min(firstBlock + backwardReductionBlocks, groupSize) {
                            let d0 = firstChannel(j), lanes = width(j)
                            let aBlock = aT + j * n, dhBlock = dh + j * n, dABlock = dASum + j * n
                            let now = history + (step * groupSize + j) * n
                            let previous = step == 0 ? start + j * n : history + ((step - 1) * groupSize + j) * n
                            let dt = dtHistory[step * groupSize + j]
                            let x = loadBlock(a.u + rowStart + d0, lanes)
                            let dout = doutRow[j], dtX = dt * x
                            var inputSum = V()     // Σₙ g·B[t, n]
                            var decaySum = V()     // Σₙ g·h_{t−1}·a·A
                            var output = V()       // Σₙ C[t, n]·h_t   (for dz)
                            for k in 0..<n {
                                let decay = VectorMath.expNegativeMagnitude(dt * aBlock[k])
                                let state = now[k]
                                let g = dhBlock[k].addingProduct(dout, cRow[k])
                                output = output.addingProduct(state, cRow[k])
                                rowDC[k] = rowDC[k].addingProduct(dout, state)
                                let decayGradient = g * previous[k] * decay
                                dABlock[k] = dABlock[k].addingProduct(decayGradient, dt)
                                decaySum = decaySum.addingProduct(decayGradient, aBlock[k])
                                inputSum = inputSum.addingProduct(g, bRow[k])
                                rowDB[k] = rowDB[k].addingProduct(g, dtX)
                                dhBlock[k] = decay * g
                            }
                            var duValue = dt * inputSum
                            if let skip = a.D {
                                let skipValue = loadBlock(skip + d0, lanes)
                                duValue = duValue.addingProduct(skipValue, dout)
                                output = output.addingProduct(skipValue, x)
                            }
                            storeBlock(duValue, a.du + rowStart + d0, lanes)
                            dDSum[j] = dDSum[j].addingProduct(dout, x)
                            var rawGradient = decaySum.addingProduct(inputSum, x) * scale
                            if a.deltaSoftplus {
                                var raw = loadBlock(a.delta + rowStart + d0, lanes)
                                if let bias = a.deltaBias { raw += loadBlock(bias + d0, lanes) }
                                rawGradient *= VectorMath.sigmoid(raw)
                            }
                            storeBlock(rawGradient, a.ddelta + rowStart + d0, lanes)
                            dBiasSum[j] += rawGradient
                            if let dz = a.dz, a.z != nil { storeBlock(dzRow[j] * output, dz + rowStart + d0, lanes) }
                        }
                        let unit = (blocks.lowerBound + firstBlock) / backwardReductionBlocks
                        let rowIndex = ((b * a.unitsPerSequence + unit) * l + t) * n
                        sumLanes(rowDB, count: n, into: a.dBPartials + rowIndex)
                        sumLanes(rowDC, count: n, into: a.dCPartials + rowIndex)
                    }
                }
            }
        }
        for j in 0..<groupSize {
            let d0 = firstChannel(j), lanes = width(j)
            if let initial = a.dInitialState {
                scatterTransposed(dh + j * n, firstChannel: d0, width: lanes, state: n, into: initial + b * d * n)
            }
            let partials = a.parameterPartials + b * d * (n + 2)     // (d, n + 2) of sequence b
            for lane in 0..<lanes {
                let row = partials + (d0 + lane) * (n + 2)
                for k in 0..<n { row[k] = dASum[j * n + k][lane] }
                row[n] = dDSum[j][lane]
                row[n + 1] = dBiasSum[j][lane]
            }
        }
    }
}

// MARK: - Reference backward

extension SelectiveScan {
    /// The same contract as `backward`, computed by `SelectiveScanReference` in Double with the whole state history
    /// (b·l·n per channel at a time): the test oracle. `chunkStates` and `chunkLength` are not read (the states are
    /// recomputed from `initialState`); they are accepted so that both kernels share a signature. Single-threaded.
    public static func backwardReference(
        _ dims: ScanDimensions,
        u: UnsafePointer<Float>, delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
        B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
        z: UnsafePointer<Float>?, deltaBias: UnsafePointer<Float>?, deltaSoftplus: Bool, deltaScale: Float = 1,
        lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?,
        chunkStates: UnsafePointer<Float>?, chunkLength: Int, dy: UnsafePointer<Float>,
        du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
        dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>?,
        dz: UnsafeMutablePointer<Float>?, ddeltaBias: UnsafeMutablePointer<Float>?,
        dInitialState: UnsafeMutablePointer<Float>?, dFinalState: UnsafePointer<Float>? = nil
    ) {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        func doubles(_ pointer: UnsafePointer<Float>, _ count: Int) -> [Double] {
            (0..<count).map { Double(pointer[$0]) }
        }
        let problem = SelectiveScanReference(
            dims: dims, u: doubles(u, batch * l * d), delta: doubles(delta, batch * l * d), A: doubles(A, d * n),
            B: doubles(B, batch * l * n), C: doubles(C, batch * l * n), D: D.map { doubles($0, d) },
            z: z.map { doubles($0, batch * l * d) }, deltaBias: deltaBias.map { doubles($0, d) },
            deltaSoftplus: deltaSoftplus, deltaScale: Double(deltaScale),
            lengths: lengths.map { pointer in (0..<batch).map { Int(pointer[$0]) } },
            initialState: initialState.map { doubles($0, batch * d * n) })
        let gradients = problem.backward(dy: doubles(dy, batch * l * d),
                                         dFinalState: dFinalState.map { doubles($0, batch * d * n) })
        for index in 0..<(batch * l * d) {
            du[index] = Float(gradients.du[index])
            ddelta[index] = Float(gradients.ddelta[index])
            if let dz, z != nil { dz[index] = Float(gradients.dz[index]) }
        }
        for index in 0..<(batch * l * n) {
            dB[index] = Float(gradients.dB[index])
            dC[index] = Float(gradients.dC[index])
        }
        for index in 0..<(d * n) { dA[index] = Float(Double(dA[index]) + gradients.dA[index]) }
        for channel in 0..<d {
            if let dD { dD[channel] = Float(Double(dD[channel]) + gradients.dD[channel]) }
            if let ddeltaBias {
                ddeltaBias[channel] = Float(Double(ddeltaBias[channel]) + gradients.ddeltaBias[channel])
            }
        }
        if let dInitialState {
            for index in 0..<(batch * d * n) { dInitialState[index] = Float(gradients.dInitialState[index]) }
        }
    }
}

/// A selective scan held in Double: the forward and the backward with the whole state history, plain loops.
/// `SelectiveScan.backwardReference` runs it, and the tests check its backward against central differences of its
/// forward. Layouts and options as `SelectiveScan.forward`; lengths are clamped to [0, l].
struct SelectiveScanReference {
    var dims: ScanDimensions
    var u: [Double], delta: [Double], A: [Double], B: [Double], C: [Double]
    var D: [Double]?, z: [Double]?, deltaBias: [Double]?
    var deltaSoftplus: Bool, deltaScale: Double
    var lengths: [Int]?
    var initialState: [Double]?

    /// Every gradient of Σ dy·y + Σ dFinalState·finalState, in the layouts of the inputs.
    struct Gradients {
        var du: [Double], ddelta: [Double], dA: [Double], dB: [Double], dC: [Double]
        var dD: [Double], dz: [Double], ddeltaBias: [Double], dInitialState: [Double]
    }

    func validSteps(_ b: Int) -> Int { lengths.map { min(max($0[b], 0), dims.length) } ?? dims.length }

    /// dt at (b, t, channel) and d(dt)/d(delta) there.
    func stepSize(_ index: Int, channel: Int) -> (dt: Double, derivative: Double) {
        let raw = delta[index] + (deltaBias?[channel] ?? 0)
        guard deltaSoftplus else { return (deltaScale * raw, deltaScale) }
        // torch.nn.functional.softplus (threshold 20) and its backward.
        if raw > 20 { return (deltaScale * raw, deltaScale) }
        return (deltaScale * softplusReference(raw), deltaScale / (1 + Foundation.exp(-raw)))
    }

    /// The states h_0 (initial) … h_l of one (sequence, channel), (l + 1, n); steps past the valid length repeat
    /// the last state.
    func states(_ b: Int, channel: Int) -> [Double] {
        let (l, d, n) = (dims.length, dims.channels, dims.state)
        let valid = validSteps(b)
        var h = [Double](repeating: 0, count: (l + 1) * n)
        for k in 0..<n { h[k] = initialState?[(b * d + channel) * n + k] ?? 0 }
        for t in 0..<l {
            let index = (b * l + t) * d + channel
            let dt = t < valid ? stepSize(index, channel: channel).dt : 0
            for k in 0..<n {
                h[(t + 1) * n + k] = t >= valid ? h[t * n + k]
                    : Foundation.exp(dt * A[channel * n + k]) * h[t * n + k] + dt * B[(b * l + t) * n + k] * u[index]
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
                    for k in 0..<n { output += C[(b * l + t) * n + k] * h[(t + 1) * n + k] }
                    y[index] = output * (z.map { siluReference($0[index]) } ?? 1)
                }
                for k in 0..<n { final[(b * d + channel) * n + k] = h[l * n + k] }
            }
        }
        return (y, final)
    }

    /// The gradients of Σ dy·y + Σ dFinalState·finalState (see the formulas above `SelectiveScan.backward`).
    func backward(dy: [Double], dFinalState: [Double]?) -> Gradients {
        let (batch, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
        var gradients = Gradients(
            du: .init(repeating: 0, count: batch * l * d), ddelta: .init(repeating: 0, count: batch * l * d),
            dA: .init(repeating: 0, count: d * n), dB: .init(repeating: 0, count: batch * l * n),
            dC: .init(repeating: 0, count: batch * l * n), dD: .init(repeating: 0, count: d),
            dz: .init(repeating: 0, count: batch * l * d), ddeltaBias: .init(repeating: 0, count: d),
            dInitialState: .init(repeating: 0, count: batch * d * n))
        var dh = [Double](repeating: 0, count: n)
        for b in 0..<batch {
            for channel in 0..<d {
                let h = states(b, channel: channel)
                for k in 0..<n { dh[k] = dFinalState?[(b * d + channel) * n + k] ?? 0 }
                for t in stride(from: validSteps(b) - 1, through: 0, by: -1) {
                    let index = (b * l + t) * d + channel
                    let x = u[index], skip = D?[channel] ?? 0
                    let (dt, dtDerivative) = stepSize(index, channel: channel)
                    var output = skip * x
                    for k in 0..<n { output += C[(b * l + t) * n + k] * h[(t + 1) * n + k] }
                    var dout = dy[index]
                    if let z {
                        let sigmoid = 1 / (1 + Foundation.exp(-z[index]))
                        dout = dy[index] * z[index] * sigmoid
                        gradients.dz[index] = dy[index] * output * sigmoid * (1 + z[index] * (1 - sigmoid))
                    }
                    gradients.dD[channel] += dout * x
                    var du = skip * dout, ddt = 0.0
                    for k in 0..<n {
                        let row = (b * l + t) * n + k, parameter = channel * n + k
                        let g = dh[k] + dout * C[row]
                        gradients.dC[row] += dout * h[(t + 1) * n + k]
                        let decay = Foundation.exp(dt * A[parameter])
                        let decayGradient = g * h[t * n + k] * decay
                        gradients.dA[parameter] += decayGradient * dt
                        ddt += decayGradient * A[parameter] + g * B[row] * x
                        gradients.dB[row] += g * dt * x
                        du += g * dt * B[row]
                        dh[k] = decay * g
                    }
                    gradients.du[index] = du
                    gradients.ddelta[index] = ddt * dtDerivative
                    gradients.ddeltaBias[channel] += ddt * dtDerivative
                }
                for k in 0..<n { gradients.dInitialState[(b * d + channel) * n + k] = dh[k] }
            }
        }
        return gradients
    }
}

/// softplus in Double with PyTorch's threshold (x > 20 gives x).
@inline(__always)
func softplusReference(_ x: Double) -> Double { x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }

/// x · sigmoid(x) in Double.
@inline(__always)
func siluReference(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }
