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
    /// - Parameters:
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
            forwardGroup(arguments.value, sequence: task / partition.groupsPerSequence,
                         blocks: partition.blockRange(task % partition.groupsPerSequence))
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

/// softplus in Double with PyTorch's threshold (x > 20 gives x).
@inline(__always)
func softplusReference(_ x: Double) -> Double { x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }

/// x · sigmoid(x) in Double.
@inline(__always)
func siluReference(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }
