// Linear layer: y = x · Wᵀ + b with W stored (out, in) as nn.Linear. One GEMM over all rows (b · l as one dimension).
// Backward (next issue): dx = dy · W, dW += dyᵀ · x, db += Σ_rows dy; it needs the input x, which the caller keeps.
import Foundation
import MambaTensor

/// A fully connected layer through `BLAS.gemm`.
public enum Linear {
    /// output (rows, outFeatures; row stride `outputStride`) = input (rows, inFeatures; row stride `inputStride`) · Wᵀ
    /// + bias, or `output +=` that when `accumulate`. W: (outFeatures, inFeatures) with row stride inFeatures.
    public static func forward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                               weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                               output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool = false) {
        guard rows > 0, outFeatures > 0 else { return }
        if inFeatures == 0 {
            if !accumulate { for r in 0..<rows { (output + r * outputStride).initialize(repeating: 0, count: outFeatures) } }
        } else {
            // {rows, in} @ {in, out} => {rows, out}
            BLAS.gemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
                      a: input, lda: inputStride, b: weight, ldb: inFeatures,
                      beta: accumulate ? 1 : 0, c: output, ldc: outputStride)
        }
        if let bias { addBias(bias, to: output, rows: rows, features: outFeatures, stride: outputStride) }
    }

    /// output[r, j] += bias[j].
    static func addBias(_ bias: UnsafePointer<Float>, to output: UnsafeMutablePointer<Float>, rows: Int,
                        features: Int, stride: Int) {
        let bias = SendablePointer(bias), output = SendablePointer(output)
        parallelRanges(rows, minimum: max(1, 16_384 / max(features, 1))) { range in
            for r in range {
                let y = output.pointer + r * stride
                var j = 0
                while j + 16 <= features { store16(load16(y + j) + load16(bias.pointer + j), y + j); j += 16 }
                while j < features { y[j] += bias.pointer[j]; j += 1 }
            }
        }
    }

    /// The oracle: plain loops with Double accumulators.
    public static func reference(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                                 weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool = false) {
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { sum += Double(input[r * inputStride + i]) * Double(weight[o * inFeatures + i]) }
                let previous = accumulate ? Double(output[r * outputStride + o]) : 0
                output[r * outputStride + o] = Float(previous + sum)
            }
        }
    }
}
