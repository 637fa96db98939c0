// RMSNorm: y = x / sqrt(mean(x²) + ε) · weight. transformers' MambaRMSNorm (computed in float32); state-spaces/mamba's
// RMSNorm (mamba_ssm/ops/triton/layer_norm.py rms_norm_ref) is the same.
// Backward (next issue) needs x (the residual stream, kept by the caller) and rstd = 1 / sqrt(mean(x²) + ε) per row,
// which the forward writes when given a buffer.
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
}
