// RMSNorm: y = x / sqrt(mean(x²) + ε) · weight. transformers' MambaRMSNorm (computed in float32); state-spaces/mamba's
// RMSNorm (mamba_ssm/ops/triton/layer_norm.py rms_norm_ref) is the same.
// Backward needs x (the residual stream, kept by the caller) and rstd = 1 / sqrt(mean(x²) + ε) per row, which the
// forward writes when given a buffer. With g = dy ⊙ weight (rms_norm_ref's autograd, written out):
//   dx = rstd · g − x · rstd³ · (Σⱼ gⱼ·xⱼ) / dim          dweight += Σ_rows dy ⊙ x · rstd
import Foundation
import MambaTensor

/// Root-mean-square normalisation over the last dimension.
public enum RMSNorm {
    /// Fast path. Reads input rows through `rows` (see `RowMap`), writes `output` contiguously (rows.rows, dim), and
    /// rstd (rows.rows) when given. 16-lane sums, rows in parallel.
    public static func forward(input: UnsafePointer<Float>, rows: RowMap, dim: Int, weight: UnsafePointer<Float>,
                               epsilon: Float, output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?) {
        let input = SendablePointer(input), weight = SendablePointer(weight), output = SendablePointer(output)
        let rstd = rstd.map { SendablePointer($0) }
        parallelRanges(rows.rows, minimum: max(1, 8192 / max(dim, 1))) { range in
            for r in range {
                let x = input.pointer + rows(r) * dim
                let y = output.pointer + r * dim
                let w = weight.pointer
                var sum16 = SIMD16<Float>()
                var j = 0
                while j + 16 <= dim {
                    let v = load16(x + j)
                    sum16.addProduct(v, v)
                    j += 16
                }
                var sum = sum16.sum()
                while j < dim { sum += x[j] * x[j]; j += 1 }
                let scale = 1 / (sum / Float(dim) + epsilon).squareRoot()
                rstd?.pointer[r] = scale
                let scale16 = SIMD16<Float>(repeating: scale)
                j = 0
                while j + 16 <= dim {
                    store16(load16(x + j) * scale16 * load16(w + j), y + j)
                    j += 16
                }
                while j < dim { y[j] = x[j] * scale * w[j]; j += 1 }
            }
        }
    }

    /// The oracle: Double accumulation, one row at a time.
    public static func reference(input: UnsafePointer<Float>, rows: RowMap, dim: Int, weight: UnsafePointer<Float>,
                                 epsilon: Float, output: UnsafeMutablePointer<Float>,
                                 rstd: UnsafeMutablePointer<Float>?) {
        for r in 0..<rows.rows {
            let x = input + rows(r) * dim
            var sum = 0.0
            for j in 0..<dim { sum += Double(x[j]) * Double(x[j]) }
            let scale = 1 / (sum / Double(dim) + Double(epsilon)).squareRoot()
            rstd?[r] = Float(scale)
            for j in 0..<dim { output[r * dim + j] = Float(Double(x[j]) * scale) * weight[j] }
        }
    }

    // MARK: - Backward

    /// Fast path of the gradients (formulas in the file header). input: (rows, dim) contiguous, the forward's input;
    /// rstd: (rows) as the forward wrote it; dOutput: (rows, dim). dInput: (rows, dim), overwritten, or ACCUMULATED
    /// (+=) when `accumulate` (the residual stream's gradient adds the norm's); it may not alias dOutput.
    /// dWeight: (dim), ACCUMULATED. Rows in parallel for dInput; dWeight by tasks that own 16-column blocks and walk
    /// the rows in order (bitwise reproducible at any thread count).
    public static func backward(input: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
                                dWeight: UnsafeMutablePointer<Float>) {
        let input = SendablePointer(input), weight = SendablePointer(weight), rstd = SendablePointer(rstd)
        let dOutput = SendablePointer(dOutput), dInput = SendablePointer(dInput), dWeight = SendablePointer(dWeight)
        parallelRanges(rows, minimum: max(1, 8192 / max(dim, 1))) { range in
            for r in range {
                let x = input.pointer + r * dim, dy = dOutput.pointer + r * dim, dx = dInput.pointer + r * dim
                let w = weight.pointer
                // {dim} · {dim} => Σ g·x
                var dot16 = SIMD16<Float>()
                var j = 0
                while j + 16 <= dim { dot16.addProduct(load16(dy + j) * load16(w + j), load16(x + j)); j += 16 }
                var dot = dot16.sum()
                while j < dim { dot += dy[j] * w[j] * x[j]; j += 1 }
                let s = rstd.pointer[r]
                let coefficient = s * s * s * dot / Float(dim)
                let s16 = SIMD16<Float>(repeating: s), c16 = SIMD16<Float>(repeating: coefficient)
                j = 0
                while j + 16 <= dim {
                    var value = s16 * load16(dy + j) * load16(w + j) - c16 * load16(x + j)
                    if accumulate { value += load16(dx + j) }
                    store16(value, dx + j)
                    j += 16
                }
                while j < dim {
                    let value = s * dy[j] * w[j] - coefficient * x[j]
                    dx[j] = accumulate ? dx[j] + value : value
                    j += 1
                }
            }
        }
        // {rows, dim} => {dim}: dweight += Σ_rows dy ⊙ x · rstd
        Parallel.forEach((dim + 15) / 16) { block in
            let first = block * 16, lanes = min(16, dim - first)
            var sum = SIMD16<Float>()
            for r in 0..<rows {
                let offset = r * dim + first
                sum.addProduct(loadBlock(dOutput.pointer + offset, lanes) * SIMD16(repeating: rstd.pointer[r]),
                               loadBlock(input.pointer + offset, lanes))
            }
            storeBlock(loadBlock(dWeight.pointer + first, lanes) + sum, dWeight.pointer + first, lanes)
        }
    }

    /// The oracle of `backward`: Double arithmetic, one row at a time, rstd recomputed from the input.
    public static func backwardReference(input: UnsafePointer<Float>, rows: Int, dim: Int,
                                         weight: UnsafePointer<Float>, epsilon: Float, dOutput: UnsafePointer<Float>,
                                         dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
                                         dWeight: UnsafeMutablePointer<Float>) {
        var dWeightSums = (0..<dim).map { Double(dWeight[$0]) }
        for r in 0..<rows {
            let x = input + r * dim, dy = dOutput + r * dim, dx = dInput + r * dim
            var sum = 0.0, dot = 0.0
            for j in 0..<dim {
                sum += Double(x[j]) * Double(x[j])
                dot += Double(dy[j]) * Double(weight[j]) * Double(x[j])
            }
            let s = 1 / (sum / Double(dim) + Double(epsilon)).squareRoot()
            for j in 0..<dim {
                let value = s * Double(dy[j]) * Double(weight[j]) - s * s * s * dot / Double(dim) * Double(x[j])
                dx[j] = Float(accumulate ? Double(dx[j]) + value : value)
                dWeightSums[j] += Double(dy[j]) * Double(x[j]) * s
            }
        }
        for j in 0..<dim { dWeight[j] = Float(dWeightSums[j]) }
    }
}
