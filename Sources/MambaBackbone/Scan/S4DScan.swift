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
            forwardGroup(arguments.value, sequence: task / partition.groupsPerSequence,
                         blocks: partition.blockRange(task % partition.groupsPerSequence))
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
