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
    /// Fast path: 16 channels at a time, (sequence, channel block) pairs in parallel.
    /// input: (b · l, channels) rows with row stride `inputStride`; window: (b, k − 1, channels) or nil for zeros;
    /// weight: (channels, k); bias: (channels) or nil; output: (b · l, channels) contiguous.
    public static func forward(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                               sequences: Int, length: Int, channels: Int, kernel: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, silu: Bool,
                               output: UnsafeMutablePointer<Float>) {
        let blocks = (channels + 15) / 16
        let input = SendablePointer(input), window = window.map { SendablePointer($0) }
        let weight = SendablePointer(weight), bias = bias.map { SendablePointer($0) }, output = SendablePointer(output)
        let past = kernel - 1
        Parallel.forEach(sequences * blocks) { task in
            let sequence = task / blocks
            let e0 = (task % blocks) * 16
            let x = input.pointer + sequence * length * inputStride
            let w0 = window.map { $0.pointer + sequence * past * channels }
            let y = output.pointer + sequence * length * channels
            if e0 + 16 > channels {
                // The last, partial block: one channel at a time.
                for e in e0..<channels {
                    for t in 0..<length {
                        var acc = bias?.pointer[e] ?? 0
                        for j in 0..<kernel {
                            let p = t - past + j
                            let value: Float = p >= 0 ? x[p * inputStride + e] : (w0.map { $0[(past + p) * channels + e] } ?? 0)
                            acc += weight.pointer[e * kernel + j] * value
                        }
                        y[t * channels + e] = silu ? VectorMath.silu(acc) : acc
                    }
                }
                return
            }
            withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: kernel) { taps in
                for j in 0..<kernel {
                    taps[j] = SIMD16<Float>((0..<16).lazy.map { weight.pointer[(e0 + $0) * kernel + j] })
                }
                let b16 = bias.map { load16($0.pointer + e0) } ?? SIMD16<Float>()
                for t in 0..<length {
                    var acc = b16
                    if t >= past {
                        var p = (t - past) * inputStride + e0
                        for j in 0..<kernel {
                            acc.addProduct(taps[j], load16(x + p))
                            p += inputStride
                        }
                    } else {
                        for j in 0..<kernel {
                            let p = t - past + j
                            if p >= 0 {
                                acc.addProduct(taps[j], load16(x + p * inputStride + e0))
                            } else if let w0 {
                                acc.addProduct(taps[j], load16(w0 + (past + p) * channels + e0))
                            }
                        }
                    }
                    store16(silu ? VectorMath.silu(acc) : acc, y + t * channels + e0)
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
