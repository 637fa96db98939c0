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
// At a time scale ρ ≠ 1 (TimeScale.swift) the model runs this same convolution with J taps resampled from the K
// learned ones (`resample`); their gradient goes back to the K taps through the adjoint of the interpolation
// (`resampleBackward`): dw[e, K − 1 − i_m] += ρ (1 − φ_m) dw'[e, J − 1 − m], dw[e, K − 2 − i_m] += ρ φ_m dw'[e, J − 1 − m].
// `timeScaledReference` is the Double oracle of the whole thing, written from the continuous kernel instead
// (a sum of hat functions), sharing no code with `resample`.
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
    ///
    /// Tasks are spans of `backwardSpan` positions of one sequence; each walks its rows in memory order (16 channels
    /// per SIMD step, as the forward), keeping the last k rows of dp in a ring so that dx[s] = Σ_j w[j]·dp[s+k−1−j]
    /// is complete k − 1 rows later (dp of the next span's first k − 1 rows is recomputed, not shared). Each task sums
    /// its weight and bias gradients over its own rows; the tasks' sums are then added in task order. The partition
    /// depends on the sizes only, so the result is bitwise the same at every thread count.
    public static func backward(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                channels: Int, kernel: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                silu: Bool, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                                dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?) {
        guard sequences > 0, length > 0, channels > 0 else { return }
        let past = kernel - 1
        let spansPerSequence = (length + backwardSpan - 1) / backwardSpan
        let tasks = sequences * spansPerSequence
        // taps (k, channels) then the bias (zeros when absent); per task, partial sums (k + 1, channels): dw by tap,
        // then dbias.
        let taps = UnsafeMutablePointer<Float>.allocate(capacity: (kernel + 1) * channels)
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: tasks * (kernel + 1) * channels)
        defer { taps.deallocate(); partials.deallocate() }
        for e in 0..<channels {
            for j in 0..<kernel { taps[j * channels + e] = weight[e * kernel + j] }
            taps[kernel * channels + e] = bias?[e] ?? 0
        }
        let blocks = (channels + 15) / 16
        let input = SendablePointer(input), dOutput = SendablePointer(dOutput), dInput = SendablePointer(dInput)
        let tapsPointer = SendablePointer(taps), partialsPointer = SendablePointer(partials)
        Parallel.forEach(tasks) { task in
            typealias V = SIMD16<Float>
            let sequence = task / spansPerSequence
            let first = (task % spansPerSequence) * backwardSpan, end = min(first + backwardSpan, length)
            let x = input.pointer + sequence * length * inputStride
            let dy = dOutput.pointer + sequence * length * channels
            let dx = dInput.pointer + sequence * length * channels
            let taps = tapsPointer.pointer, biasRow = taps + kernel * channels
            let sums = partialsPointer.pointer + task * (kernel + 1) * channels
            sums.initialize(repeating: 0, count: (kernel + 1) * channels)
            // The ring of the last k rows of dp (k, channels).
            withUnsafeTemporaryAllocation(of: Float.self, capacity: kernel * channels) { ring in
                let ring = ring.baseAddress!
                // Row t makes dp[t] (0 at and past the sequence's end); row t then completes dx[t − (k − 1)].
                for t in first..<min(end + past, length + past) {
                    let dpRow = ring + (t % kernel) * channels
                    if t < length {
                        for block in 0..<blocks {
                            let e = block * 16, lanes = min(16, channels - e)
                            var pre = loadBlock(biasRow + e, lanes)
                            for j in 0..<kernel where t - past + j >= 0 {
                                pre.addProduct(loadBlock(taps + j * channels + e, lanes),
                                               loadBlock(x + (t - past + j) * inputStride + e, lanes))
                            }
                            var dp = loadBlock(dy + t * channels + e, lanes)
                            if silu {
                                let s = VectorMath.sigmoid(pre)
                                dp *= s * (1 + pre * (1 - s))
                            }
                            storeBlock(dp, dpRow + e, lanes)
                            if t < end {
                                // Only this span's rows count towards its weight and bias sums.
                                for j in 0..<kernel where t - past + j >= 0 {
                                    let sum = sums + j * channels + e
                                    storeBlock(loadBlock(sum, lanes)
                                               + dp * loadBlock(x + (t - past + j) * inputStride + e, lanes), sum, lanes)
                                }
                                let sum = sums + kernel * channels + e
                                storeBlock(loadBlock(sum, lanes) + dp, sum, lanes)
                            }
                        }
                    } else {
                        dpRow.initialize(repeating: 0, count: channels)
                    }
                    let s = t - past
                    guard s >= first else { continue }
                    // dx[s] = Σ_j w[j] · dp[t − j]
                    for block in 0..<blocks {
                        let e = block * 16, lanes = min(16, channels - e)
                        var sum = V()
                        for j in 0..<kernel {
                            sum.addProduct(loadBlock(taps + j * channels + e, lanes),
                                           loadBlock(ring + ((t - j) % kernel) * channels + e, lanes))
                        }
                        storeBlock(sum, dx + s * channels + e, lanes)
                    }
                }
            }
        }
        // The tasks' sums, added in task order.
        for e in 0..<channels {
            for j in 0..<kernel {
                var total: Float = 0
                for task in 0..<tasks { total += partials[(task * (kernel + 1) + j) * channels + e] }
                dWeight[e * kernel + j] += total
            }
            if let dBias {
                var total: Float = 0
                for task in 0..<tasks { total += partials[(task * (kernel + 1) + kernel) * channels + e] }
                dBias[e] += total
            }
        }
    }

    /// Positions per task of `backward`.
    static let backwardSpan = 128

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

    // MARK: - Time scale

    /// The taps at the input rate of `timeScale`: resampled {channels, J} ← weight {channels, K} (formula in
    /// TimeScale.swift). At ρ = 1 a copy of the weights.
    public static func resample(weight: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                into resampled: UnsafeMutablePointer<Float>) {
        let k = timeScale.trainedKernel, j = timeScale.kernel, rho = Float(timeScale.ratio)
        for m in 0..<j {
            let i = timeScale.lowerLag[m], phi = Float(timeScale.fraction[m])
            for e in 0..<channels {
                let row = weight + e * k
                var value = (1 - phi) * row[k - 1 - i]
                if phi != 0 { value += phi * row[k - 2 - i] }
                resampled[e * j + j - 1 - m] = rho * value
            }
        }
    }

    /// The adjoint of `resample`: dWeight {channels, K} += the gradient of the K taps given dResampled
    /// {channels, J}, the gradient of the resampled taps.
    public static func resampleBackward(dResampled: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                        into dWeight: UnsafeMutablePointer<Float>) {
        let k = timeScale.trainedKernel, j = timeScale.kernel, rho = Float(timeScale.ratio)
        for e in 0..<channels {
            let row = dWeight + e * k
            for m in 0..<j {
                let i = timeScale.lowerLag[m], phi = Float(timeScale.fraction[m])
                let g = rho * dResampled[e * j + j - 1 - m]
                row[k - 1 - i] += (1 - phi) * g
                if phi != 0 { row[k - 2 - i] += phi * g }
            }
        }
    }

    /// The oracle of the time-scaled convolution, in Double, from a zero window: the learned taps weight {channels,
    /// K} define c_e(s) = Σ_λ weight[e, K − 1 − λ] · max(0, 1 − |s − λ|) on 0 ≤ s ≤ K − 1 (s: lag in trained sample
    /// periods), and u[i, t, e] = (silu)(bias[e] + Σ_{m ≥ 0, m·ρ ≤ K − 1} ρ · c_e(m·ρ) · x[i, t − m, e]).
    /// input: (b · l, channels) rows of stride `inputStride`; output: (b · l, channels).
    public static func timeScaledReference(input: UnsafePointer<Float>, inputStride: Int, sequences: Int,
                                           length: Int, channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                                           bias: UnsafePointer<Float>?, silu: Bool, ratio: Double,
                                           output: UnsafeMutablePointer<Float>) {
        func c(_ e: Int, _ s: Double) -> Double {
            var sum = 0.0
            for lag in 0..<kernel { sum += Double(weight[e * kernel + kernel - 1 - lag]) * max(0, 1 - abs(s - Double(lag))) }
            return sum
        }
        var lags = 0
        while Double(lags) * ratio <= Double(kernel - 1) + 1e-9 { lags += 1 }
        for i in 0..<sequences {
            for t in 0..<length {
                for e in 0..<channels {
                    var acc = Double(bias?[e] ?? 0)
                    for m in 0..<min(lags, t + 1) {
                        acc += ratio * c(e, min(Double(m) * ratio, Double(kernel - 1)))
                            * Double(input[(i * length + t - m) * inputStride + e])
                    }
                    output[(i * length + t) * channels + e] = Float(silu ? acc / (1 + Foundation.exp(-acc)) : acc)
                }
            }
        }
    }
}
