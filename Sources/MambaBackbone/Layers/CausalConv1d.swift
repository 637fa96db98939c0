// Causal depthwise convolution over time, then SiLU: transformers' MambaMixer `conv1d` (nn.Conv1d with groups =
// channels, padding k − 1, output cut to the first l positions) followed by `act` (causal_conv1d_fn with
// activation "silu" in state-spaces/mamba).
//   u[i, t, e] = silu(bias[e] + Σ_{j<k} w[e, j] · x[i, t − (k − 1) + j, e])
// Positions before the chunk's start are read from `window` (b, k − 1, e): the last k − 1 inputs of the previous
// chunk, or of the prompt (recurrent inference), or zeros at the start of a sequence. Padding is only ever at the end
// of a sequence, so causality alone keeps it out of every valid position.
// Backward (a pass that started from a zero window, as training does), with p = the pre-activation (recomputed from
// x, not saved) and σ the logistic function:
//   dp[t, e] = du[t, e] · σ(p)·(1 + p·(1 − σ(p)))                      (silu')
//   dx[s, e] = Σ_j w[e, j] · dp[s + (k − 1) − j, e]   (terms past the sequence's end are 0)
//   dw[e, j] += Σ_t dp[t, e] · x[t − (k − 1) + j, e];   dbias[e] += Σ_t dp[t, e]
import Foundation
import MambaTensor

/// The causal depthwise convolution with fused bias and SiLU.
public enum CausalConv1d {
    /// Fast path. input: (b · l, channels) rows with row stride `inputStride`; window: (b, k − 1, channels) or nil for
    /// zeros; weight: (channels, k); bias: (channels) or nil; output: (b · l, channels) contiguous.
    /// Rows are walked in memory order (blocks of positions of one sequence in parallel), 16 channels per SIMD step,
    /// with the taps transposed once to (k, channels) so that each tap is one contiguous 16-lane load.
    public static func forward(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                               sequences: Int, length: Int, channels: Int, kernel: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, silu: Bool,
                               output: UnsafeMutablePointer<Float>) {
        let past = kernel - 1
        let vectorChannels = channels / 16 * 16
        // taps[j · channels + e] = weight[e · k + j]; then the bias (zeros when absent); then a row of zeros that
        // stands for positions before the sequence when there is no window.
        let taps = UnsafeMutablePointer<Float>.allocate(capacity: (kernel + 2) * channels)
        defer { taps.deallocate() }
        for e in 0..<channels {
            for j in 0..<kernel { taps[j * channels + e] = weight[e * kernel + j] }
            taps[kernel * channels + e] = bias?[e] ?? 0
            taps[(kernel + 1) * channels + e] = 0
        }
        let positionsPerTask = max(1, min(length, 32_768 / max(channels, 1)))
        let tasksPerSequence = (length + positionsPerTask - 1) / positionsPerTask
        let input = SendablePointer(input), window = window.map { SendablePointer($0) }
        let tapsPointer = SendablePointer(taps), output = SendablePointer(output)
        Parallel.forEach(sequences * tasksPerSequence) { task in
            let sequence = task / tasksPerSequence
            let first = (task % tasksPerSequence) * positionsPerTask
            let x = input.pointer + sequence * length * inputStride
            let w0 = window.map { $0.pointer + sequence * past * channels }
            let taps = tapsPointer.pointer, biasRow = taps + kernel * channels, zeros = taps + (kernel + 1) * channels
            let y = output.pointer + sequence * length * channels
            withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>.self, capacity: kernel) { sources in
                for t in first..<min(first + positionsPerTask, length) {
                    // The k input rows of output t: positions t − (k − 1) ... t, before 0 from the window.
                    for j in 0..<kernel {
                        let p = t - past + j
                        sources[j] = p >= 0 ? x + p * inputStride : (w0.map { $0 + (past + p) * channels } ?? zeros)
                    }
                    let out = y + t * channels
                    var e = 0
                    while e < vectorChannels {
                        var acc = load16(biasRow + e)
                        for j in 0..<kernel { acc.addProduct(load16(taps + j * channels + e), load16(sources[j] + e)) }
                        store16(silu ? VectorMath.silu(acc) : acc, out + e)
                        e += 16
                    }
                    while e < channels {
                        var acc = biasRow[e]
                        for j in 0..<kernel { acc += taps[j * channels + e] * sources[j][e] }
                        out[e] = silu ? VectorMath.silu(acc) : acc
                        e += 1
                    }
                }
            }
        }
    }

    /// After a chunk: window[i] ← the last k − 1 rows of (window[i] ++ input[i, 0..<valid[i]]), so that it holds the
    /// inputs before the next chunk (valid[i] == l) or the last k − 1 valid inputs of a sequence that ended in this
    /// chunk (the recurrent state after a padded prompt). valid[i] == 0 leaves window[i] as it is.
    public static func updateWindow(input: UnsafePointer<Float>, inputStride: Int, window: UnsafeMutablePointer<Float>,
                                    valid: UnsafePointer<Int32>, sequences: Int, length: Int, channels: Int,
                                    kernel: Int) {
        let past = kernel - 1
        guard past > 0 else { return }
        for sequence in 0..<sequences {
            let count = Int(valid[sequence])
            guard count > 0 else { continue }
            let w = window + sequence * past * channels
            let keep = max(0, past - count)  // old window rows that stay, moved to the front
            if keep > 0 { memmove(w, w + (past - keep) * channels, keep * channels * MemoryLayout<Float>.stride) }
            for slot in keep..<past {
                let t = count - (past - slot)
                (w + slot * channels).update(from: input + (sequence * length + t) * inputStride, count: channels)
            }
        }
    }

    /// The oracle: the formula above, one output at a time, Double accumulators, zeros before the window.
    public static func reference(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                                 sequences: Int, length: Int, channels: Int, kernel: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, silu: Bool,
                                 output: UnsafeMutablePointer<Float>) {
        let past = kernel - 1
        for i in 0..<sequences {
            for t in 0..<length {
                for e in 0..<channels {
                    var acc = Double(bias?[e] ?? 0)
                    for j in 0..<kernel {
                        let p = t - past + j
                        let value: Float
                        if p >= 0 { value = input[(i * length + p) * inputStride + e] }
                        else if let window { value = window[(i * past + past + p) * channels + e] }
                        else { value = 0 }
                        acc += Double(weight[e * kernel + j]) * Double(value)
                    }
                    output[(i * length + t) * channels + e] = Float(silu ? acc / (1 + Foundation.exp(-acc)) : acc)
                }
            }
        }
    }

    // MARK: - Backward

    /// Gradients of the convolution (+ SiLU when `silu`) over whole sequences that started from a zero window
    /// (formulas in the file header). input: (b · l, channels) rows with stride `inputStride`, the forward's input;
    /// weight (channels, k); bias (channels) or nil; dOutput: (b · l, channels) contiguous. dInput: (b · l, channels)
    /// contiguous, overwritten (may not alias dOutput). dWeight (channels, k), dBias (channels) or nil: ACCUMULATED.
    /// One task per 16-channel block walks every sequence in time order, keeping the last k values of dp in a ring,
    /// so the weight sums are taken in a fixed order (bitwise reproducible at any thread count).
    public static func backward(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                channels: Int, kernel: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                silu: Bool, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                                dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?) {
        let past = kernel - 1
        let input = SendablePointer(input), weight = SendablePointer(weight), bias = bias.map { SendablePointer($0) }
        let dOutput = SendablePointer(dOutput), dInput = SendablePointer(dInput)
        let dWeight = SendablePointer(dWeight), dBias = dBias.map { SendablePointer($0) }
        Parallel.forEach((channels + 15) / 16) { block in
            typealias V = SIMD16<Float>
            let first = block * 16, lanes = min(16, channels - first)
            // Per block: taps (k), their gradient sums (k), the ring of the last k dp values (k), then the bias.
            let scratch = UnsafeMutablePointer<V>.allocate(capacity: 3 * kernel + 2)
            defer { scratch.deallocate() }
            let taps = scratch, dTaps = scratch + kernel, ring = scratch + 2 * kernel
            dTaps.initialize(repeating: V(), count: kernel)
            var biasValue = V(), dBiasSum = V()
            for j in 0..<kernel {
                var tap = V()
                for lane in 0..<lanes { tap[lane] = weight.pointer[(first + lane) * kernel + j] }
                taps[j] = tap
            }
            if let bias { biasValue = loadBlock(bias.pointer + first, lanes) }
            for sequence in 0..<sequences {
                let x = input.pointer + sequence * length * inputStride + first
                let dy = dOutput.pointer + sequence * length * channels + first
                let dx = dInput.pointer + sequence * length * channels + first
                // Step t makes dp[t] (0 past the end) and completes dx[t − (k − 1)] = Σ_j w[j] · dp[t − j].
                for t in 0..<(length + past) {
                    var dp = V()
                    if t < length {
                        var pre = biasValue
                        for j in 0..<kernel where t - past + j >= 0 {
                            pre.addProduct(taps[j], loadBlock(x + (t - past + j) * inputStride, lanes))
                        }
                        dp = loadBlock(dy + t * channels, lanes)
                        if silu {
                            let s = VectorMath.sigmoid(pre)
                            dp *= s * (1 + pre * (1 - s))
                        }
                        for j in 0..<kernel where t - past + j >= 0 {
                            dTaps[j].addProduct(dp, loadBlock(x + (t - past + j) * inputStride, lanes))
                        }
                        dBiasSum += dp
                    }
                    ring[t % kernel] = dp
                    let s = t - past
                    if s >= 0 {
                        var sum = V()
                        for j in 0..<kernel where t - j >= 0 { sum.addProduct(taps[j], ring[(t - j) % kernel]) }
                        storeBlock(sum, dx + s * channels, lanes)
                    }
                }
            }
            for j in 0..<kernel {
                for lane in 0..<lanes { dWeight.pointer[(first + lane) * kernel + j] += dTaps[j][lane] }
            }
            if let dBias { storeBlock(loadBlock(dBias.pointer + first, lanes) + dBiasSum, dBias.pointer + first, lanes) }
        }
    }

    /// The oracle of `backward`: the formulas one element at a time in Double.
    public static func backwardReference(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                         channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, silu: Bool, dOutput: UnsafePointer<Float>,
                                         dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                                         dBias: UnsafeMutablePointer<Float>?) {
        let past = kernel - 1
        var dx = [Double](repeating: 0, count: sequences * length * channels)
        var dw = (0..<(channels * kernel)).map { Double(dWeight[$0]) }
        var db = (0..<channels).map { Double(dBias?[$0] ?? 0) }
        for i in 0..<sequences {
            for t in 0..<length {
                for e in 0..<channels {
                    func x(_ p: Int) -> Double { p >= 0 ? Double(input[(i * length + p) * inputStride + e]) : 0 }
                    var pre = Double(bias?[e] ?? 0)
                    for j in 0..<kernel { pre += Double(weight[e * kernel + j]) * x(t - past + j) }
                    var dp = Double(dOutput[(i * length + t) * channels + e])
                    if silu {
                        let s = 1 / (1 + Foundation.exp(-pre))
                        dp *= s * (1 + pre * (1 - s))
                    }
                    db[e] += dp
                    for j in 0..<kernel where t - past + j >= 0 {
                        dw[e * kernel + j] += dp * x(t - past + j)
                        dx[(i * length + t - past + j) * channels + e] += dp * Double(weight[e * kernel + j])
                    }
                }
            }
        }
        for index in dx.indices { dInput[index] = Float(dx[index]) }
        for index in dw.indices { dWeight[index] = Float(dw[index]) }
        if let dBias { for e in 0..<channels { dBias[e] = Float(db[e]) } }
    }
}
