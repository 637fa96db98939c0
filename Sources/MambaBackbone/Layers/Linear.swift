// Linear layer: y = x · Wᵀ + b with W stored (out, in) as nn.Linear. One GEMM over all rows (b · l as one dimension).
// Backward: dx = dy · W, dW += dyᵀ · x, db += Σ_rows dy (nn.Linear's autograd); it needs the input x, which the
// caller keeps.
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
        if rows <= smallRows && inFeatures > 0 {
            // Recurrent steps multiply one row per sequence: BLAS's per-call cost (thread wake-ups, packing) is then
            // most of the time, so a few rows use plain 16-lane dot products instead.
            smallForward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: weight,
                         outFeatures: outFeatures, bias: bias, output: output, outputStride: outputStride,
                         accumulate: accumulate)
            return
        }
        if inFeatures > 0 && inFeatures <= narrowInputs {
            narrowForward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: weight,
                          outFeatures: outFeatures, bias: bias, output: output, outputStride: outputStride,
                          accumulate: accumulate)
            return
        }
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

    /// Up to this many input features go through `narrowForward` instead of GEMM (dt_proj: k = r = d_model / 16).
    static let narrowInputs = 32

    /// output[r, o] (+)= Σ_i input[r, i] · weight[o, i] + bias[o] for a small number of inputs: GEMM packs and
    /// blocks for a k it barely uses; here each output row is built 16 features at a time from k broadcasts, with
    /// the weight transposed once to (in, out) and rows in parallel.
    static func narrowForward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                              output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool) {
        // transposed[i · out + o] = weight[o · in + i]; the last row holds the bias (zeros without one).
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: (inFeatures + 1) * outFeatures)
        defer { transposed.deallocate() }
        for o in 0..<outFeatures {
            for i in 0..<inFeatures { transposed[i * outFeatures + o] = weight[o * inFeatures + i] }
            transposed[inFeatures * outFeatures + o] = bias?[o] ?? 0
        }
        let input = SendablePointer(input), output = SendablePointer(output), weights = SendablePointer(transposed)
        let vectorOutputs = outFeatures / 16 * 16
        parallelRanges(rows, minimum: max(1, 16_384 / max(1, inFeatures * outFeatures / 16))) { range in
            let w = weights.pointer, biasRow = weights.pointer + inFeatures * outFeatures
            for r in range {
                let x = input.pointer + r * inputStride
                let y = output.pointer + r * outputStride
                var o = 0
                while o < vectorOutputs {
                    var acc = load16(biasRow + o)
                    for i in 0..<inFeatures { acc.addProduct(SIMD16(repeating: x[i]), load16(w + i * outFeatures + o)) }
                    store16(accumulate ? acc + load16(y + o) : acc, y + o)
                    o += 16
                }
                while o < outFeatures {
                    var acc = biasRow[o]
                    for i in 0..<inFeatures { acc += x[i] * w[i * outFeatures + o] }
                    y[o] = accumulate ? y[o] + acc : acc
                    o += 1
                }
            }
        }
    }

    /// Up to this many rows go through `smallForward` instead of GEMM.
    static let smallRows = 4

    /// output[r, o] (+)= Σ_i input[r, i] · weight[o, i] + bias[o] with 16-lane dot products, output features split
    /// over threads when the matrix is large (each task at least 256 K multiply-adds).
    static func smallForward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                             weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                             output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool) {
        let input = SendablePointer(input), weight = SendablePointer(weight), output = SendablePointer(output)
        let bias = bias.map { SendablePointer($0) }
        parallelRanges(outFeatures, minimum: max(1, (1 << 18) / (inFeatures * rows))) { range in
            for o in range {
                let w = weight.pointer + o * inFeatures
                for r in 0..<rows {
                    let x = input.pointer + r * inputStride
                    var sum16 = SIMD16<Float>()
                    var i = 0
                    while i + 16 <= inFeatures {
                        sum16.addProduct(load16(x + i), load16(w + i))
                        i += 16
                    }
                    var sum = sum16.sum()
                    while i < inFeatures { sum += x[i] * w[i]; i += 1 }
                    sum += bias?.pointer[o] ?? 0
                    let y = output.pointer + r * outputStride + o
                    y.pointee = accumulate ? y.pointee + sum : sum
                }
            }
        }
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

    // MARK: - Backward

    /// The gradients of the layer, each optional:
    ///   dInput (+)= dOutput · W      {rows, out} @ {out, in} => {rows, in}   (overwritten, or += when accumulateInput)
    ///   dWeight += dOutputᵀ · input  {out, rows} @ {rows, in} => {out, in}
    ///   dBias += Σ_rows dOutput      {rows, out} => {out}
    /// input: (rows, inFeatures; row stride inputStride), the forward's input; weight: (outFeatures, inFeatures);
    /// dOutput: (rows, outFeatures; row stride dOutputStride); dInput: row stride dInputStride. dWeight and dBias
    /// are ACCUMULATED. Bitwise reproducible at a fixed thread count (GEMM partitions by thread count; the bias
    /// sums walk rows in order per column block).
    public static func backward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                                weight: UnsafePointer<Float>, outFeatures: Int, dOutput: UnsafePointer<Float>,
                                dOutputStride: Int, dInput: UnsafeMutablePointer<Float>?, dInputStride: Int,
                                accumulateInput: Bool, dWeight: UnsafeMutablePointer<Float>?,
                                dBias: UnsafeMutablePointer<Float>?) {
        guard rows > 0 else { return }
        if let dInput, inFeatures > 0 {
            if outFeatures == 0 {
                if !accumulateInput {
                    for r in 0..<rows { (dInput + r * dInputStride).initialize(repeating: 0, count: inFeatures) }
                }
            } else {
                // {rows, out} @ {out, in} => {rows, in}
                BLAS.gemm(transA: false, transB: false, m: rows, n: inFeatures, k: outFeatures, alpha: 1,
                          a: dOutput, lda: dOutputStride, b: weight, ldb: inFeatures,
                          beta: accumulateInput ? 1 : 0, c: dInput, ldc: dInputStride)
            }
        }
        if let dWeight, inFeatures > 0, outFeatures > 0 {
            // {out, rows} @ {rows, in} => {out, in}, added to dWeight
            BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: rows, alpha: 1,
                      a: dOutput, lda: dOutputStride, b: input, ldb: inputStride, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias { columnSums(dOutput, stride: dOutputStride, rows: rows, columns: outFeatures, into: dBias) }
    }

    /// sums[j] += Σ_r matrix[r · stride + j] for j < columns. Tasks own 16-column blocks and walk the rows in order,
    /// so the result does not depend on the thread count.
    static func columnSums(_ matrix: UnsafePointer<Float>, stride: Int, rows: Int, columns: Int,
                           into sums: UnsafeMutablePointer<Float>) {
        let matrix = SendablePointer(matrix), sums = SendablePointer(sums)
        Parallel.forEach((columns + 15) / 16) { block in
            let first = block * 16, lanes = min(16, columns - first)
            var sum = SIMD16<Float>()
            for r in 0..<rows { sum += loadBlock(matrix.pointer + r * stride + first, lanes) }
            storeBlock(loadBlock(sums.pointer + first, lanes) + sum, sums.pointer + first, lanes)
        }
    }

    /// The oracle of `backward`: plain loops with Double accumulators.
    public static func backwardReference(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                                         weight: UnsafePointer<Float>, outFeatures: Int, dOutput: UnsafePointer<Float>,
                                         dOutputStride: Int, dInput: UnsafeMutablePointer<Float>?, dInputStride: Int,
                                         accumulateInput: Bool, dWeight: UnsafeMutablePointer<Float>?,
                                         dBias: UnsafeMutablePointer<Float>?) {
        if let dInput {
            for r in 0..<rows {
                for i in 0..<inFeatures {
                    var sum = accumulateInput ? Double(dInput[r * dInputStride + i]) : 0
                    for o in 0..<outFeatures {
                        sum += Double(dOutput[r * dOutputStride + o]) * Double(weight[o * inFeatures + i])
                    }
                    dInput[r * dInputStride + i] = Float(sum)
                }
            }
        }
        for o in 0..<outFeatures {
            if let dWeight {
                for i in 0..<inFeatures {
                    var sum = Double(dWeight[o * inFeatures + i])
                    for r in 0..<rows { sum += Double(dOutput[r * dOutputStride + o]) * Double(input[r * inputStride + i]) }
                    dWeight[o * inFeatures + i] = Float(sum)
                }
            }
            if let dBias {
                var sum = Double(dBias[o])
                for r in 0..<rows { sum += Double(dOutput[r * dOutputStride + o]) }
                dBias[o] = Float(sum)
            }
        }
    }
}
