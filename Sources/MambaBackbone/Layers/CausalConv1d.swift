// Causal depthwise convolution over time, then SiLU: transformers' MambaMixer `conv1d` (nn.Conv1d with groups =
// channels, padding k − 1, output cut to the first l positions) followed by `act` (causal_conv1d_fn with
// activation "silu" in state-spaces/mamba).
//   u[i, t, e] = silu(bias[e] + Σ_{j<k} w[e, j] · x[i, t − (k − 1) + j, e])
// Positions before the chunk's start are read from `window` (b, k − 1, e): the last k − 1 inputs of the previous
// chunk, or of the prompt (recurrent inference), or zeros at the start of a sequence. Padding is only ever at the end
// of a sequence, so causality alone keeps it out of every valid position.
// Backward (next issue): needs x (kept by the caller) and the window; the pre-activation is recomputed, not saved.
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
}
