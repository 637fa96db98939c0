// Every layer's backward: the Float kernel against central differences of a Double forward written here from the
// formulas (sharing no code with the kernels), element by element; and each fast backward against its plain
// reference at sizes whose widths are not multiples of 16 (tail paths), with strides and accumulation.
// Tolerance: ‖Float backward − Double differences‖ <= 1e-4 · ‖differences‖ + 1e-8 per gradient (Float rounding of
// these small problems is ~1e-6 relative; a wrong term is O(1)).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

/// Deterministic test data.
struct TestData {
    var generator: Xoshiro256StarStar

    init(seed: UInt64) { generator = Xoshiro256StarStar(seed: seed) }

    /// Uniform in [low, high).
    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in low + (high - low) * generator.nextUniform() }
    }

    mutating func ids(_ count: Int, below: Int) -> [Int32] {
        (0..<count).map { _ in Int32(generator.next() % UInt64(below)) }
    }
}

func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }

func expectAgree<A: Collection>(_ analytic: A, _ numeric: [Double], _ label: String,
                                sourceLocation: SourceLocation = #_sourceLocation) where A.Element: BinaryFloatingPoint {
    let (agree, error) = gradientsAgree(analytic, numeric)
    #expect(agree, "\(label): relative error \(error)", sourceLocation: sourceLocation)
}

/// Σ c · y in Double.
func dot(_ c: [Float], _ y: [Double]) -> Double {
    precondition(c.count == y.count)
    return zip(c, y).reduce(0) { $0 + Double($1.0) * $1.1 }
}

struct LayerBackwardTests {
    // MARK: - Embedding

    @Test func embeddingMatchesDifferences() throws {
        var data = TestData(seed: 1)
        let rows = 7, dim = 19, vocabulary = 5
        let ids: [Int32] = [3, 1, -1, 3, 0, 3, -1]
        let table = data.floats(vocabulary * dim), dOut = data.floats(rows * dim)
        var dTable = [Float](repeating: 0, count: vocabulary * dim)
        Embedding.backward(ids: ids, rows: rows, dOut: dOut, dim: dim, dTable: &dTable)
        func forward(_ table: [Double]) -> Double {
            var sum = 0.0
            for r in 0..<rows where ids[r] >= 0 {
                for j in 0..<dim { sum += Double(dOut[r * dim + j]) * table[Int(ids[r]) * dim + j] }
            }
            return sum
        }
        expectAgree(dTable, centralDifferences(at: doubles(table), forward), "dTable")
        // Accumulates, and agrees with the reference.
        var fast = data.floats(vocabulary * dim), reference = fast
        Embedding.backward(ids: ids, rows: rows, dOut: dOut, dim: dim, dTable: &fast)
        Embedding.backwardReference(ids: ids, rows: rows, dOut: dOut, dim: dim, dTable: &reference)
        #expect(maxAbsoluteDifference(fast, reference) < 1e-6)
    }

    // MARK: - RMSNorm

    static func rmsNorm(_ x: [Double], _ w: [Double], rows: Int, dim: Int, epsilon: Double) -> [Double] {
        var y = [Double](repeating: 0, count: rows * dim)
        for r in 0..<rows {
            let mean = (0..<dim).reduce(0.0) { $0 + x[r * dim + $1] * x[r * dim + $1] } / Double(dim)
            for j in 0..<dim { y[r * dim + j] = x[r * dim + j] / (mean + epsilon).squareRoot() * w[j] }
        }
        return y
    }

    @Test(arguments: [false, true])
    func rmsNormMatchesDifferences(_ accumulate: Bool) throws {
        var data = TestData(seed: 2)
        let rows = 4, dim = 21, epsilon: Float = 1e-3
        let x = data.floats(rows * dim), w = data.floats(dim, 0.5, 1.5), dy = data.floats(rows * dim)
        var y = [Float](repeating: 0, count: rows * dim), rstd = [Float](repeating: 0, count: rows)
        RMSNorm.forward(input: x, rows: .contiguous(rows), dim: dim, weight: w, epsilon: epsilon, output: &y, rstd: &rstd)
        let start = accumulate ? data.floats(rows * dim) : [Float](repeating: 0, count: rows * dim)
        var dx = start, dw = [Float](repeating: 0, count: dim)
        RMSNorm.backward(input: x, rows: rows, dim: dim, weight: w, rstd: rstd, dOutput: dy, dInput: &dx,
                         accumulate: accumulate, dWeight: &dw)
        let numericX = centralDifferences(at: doubles(x)) { dot(dy, Self.rmsNorm($0, doubles(w), rows: rows, dim: dim, epsilon: Double(epsilon))) }
        let numericW = centralDifferences(at: doubles(w)) { dot(dy, Self.rmsNorm(doubles(x), $0, rows: rows, dim: dim, epsilon: Double(epsilon))) }
        expectAgree(zip(dx, start).map { $0 - $1 }, numericX, "dx")
        expectAgree(dw, numericW, "dweight")
    }

    @Test func rmsNormFastMatchesReference() throws {
        var data = TestData(seed: 3)
        let rows = 37, dim = 50, epsilon: Float = 1e-5
        let x = data.floats(rows * dim, -3, 3), w = data.floats(dim), dy = data.floats(rows * dim)
        var y = [Float](repeating: 0, count: rows * dim), rstd = [Float](repeating: 0, count: rows)
        RMSNorm.forward(input: x, rows: .contiguous(rows), dim: dim, weight: w, epsilon: epsilon, output: &y, rstd: &rstd)
        let start = data.floats(rows * dim), startW = data.floats(dim)
        var fastX = start, fastW = startW, referenceX = start, referenceW = startW
        RMSNorm.backward(input: x, rows: rows, dim: dim, weight: w, rstd: rstd, dOutput: dy, dInput: &fastX,
                         accumulate: true, dWeight: &fastW)
        RMSNorm.backwardReference(input: x, rows: rows, dim: dim, weight: w, epsilon: epsilon, dOutput: dy,
                                  dInput: &referenceX, accumulate: true, dWeight: &referenceW)
        #expect(relativeError(fastX, reference: referenceX) < 1e-6)
        #expect(relativeError(fastW, reference: referenceW) < 1e-6)
    }

    // MARK: - Linear

    @Test(arguments: [true, false])
    func linearMatchesDifferences(_ withBias: Bool) throws {
        var data = TestData(seed: 4)
        let rows = 5, inFeatures = 7, outFeatures = 18, inputStride = 9, outputStride = 20
        let x = data.floats(rows * inputStride), w = data.floats(outFeatures * inFeatures), b = data.floats(outFeatures)
        let dy = data.floats(rows * outputStride)
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for r in 0..<rows {
                for o in 0..<outFeatures {
                    var y = withBias ? b[o] : 0
                    for i in 0..<inFeatures { y += x[r * inputStride + i] * w[o * inFeatures + i] }
                    sum += Double(dy[r * outputStride + o]) * y
                }
            }
            return sum
        }
        var dx = [Float](repeating: 0, count: rows * inputStride), dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: outFeatures)
        db.withUnsafeMutableBufferPointer { db in
            Linear.backward(input: x, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: w,
                            outFeatures: outFeatures, dOutput: dy, dOutputStride: outputStride, dInput: &dx,
                            dInputStride: inputStride, accumulateInput: false, dWeight: &dw,
                            dBias: withBias ? db.baseAddress : nil)
        }
        let indices = (0..<rows).flatMap { r in (0..<inFeatures).map { r * inputStride + $0 } }
        expectAgree(indices.map { dx[$0] },
                    centralDifferences(at: doubles(x), indices: indices) { forward($0, doubles(w), doubles(b)) }, "dx")
        expectAgree(dw, centralDifferences(at: doubles(w)) { forward(doubles(x), $0, doubles(b)) }, "dweight")
        if withBias {
            expectAgree(db, centralDifferences(at: doubles(b)) { forward(doubles(x), doubles(w), $0) }, "dbias")
        } else {
            #expect(db.allSatisfy { $0 == 0 })
        }
        // Padding columns of a strided dx are not written.
        #expect((0..<rows).allSatisfy { r in (inFeatures..<inputStride).allSatisfy { dx[r * inputStride + $0] == 0 } })
    }

    @Test(arguments: [(1, 3, 5), (70, 33, 19), (300, 48, 130), (300, 16, 130), (64, 32, 40)])
    func linearFastMatchesReference(_ rows: Int, _ inFeatures: Int, _ outFeatures: Int) throws {
        var data = TestData(seed: 5)
        let inputStride = inFeatures + 3, outputStride = outFeatures + 1
        let x = data.floats(rows * inputStride), w = data.floats(outFeatures * inFeatures)
        let dy = data.floats(rows * outputStride)
        let startX = data.floats(rows * inputStride), startW = data.floats(w.count), startB = data.floats(outFeatures)
        for accumulate in [false, true] {
            var fastX = startX, fastW = startW, fastB = startB
            var referenceX = startX, referenceW = startW, referenceB = startB
            Linear.backward(input: x, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: w,
                            outFeatures: outFeatures, dOutput: dy, dOutputStride: outputStride, dInput: &fastX,
                            dInputStride: inputStride, accumulateInput: accumulate, dWeight: &fastW, dBias: &fastB)
            Linear.backwardReference(input: x, inputStride: inputStride, rows: rows, inFeatures: inFeatures,
                                     weight: w, outFeatures: outFeatures, dOutput: dy, dOutputStride: outputStride,
                                     dInput: &referenceX, dInputStride: inputStride, accumulateInput: accumulate,
                                     dWeight: &referenceW, dBias: &referenceB)
            #expect(relativeError(fastX, reference: referenceX) < 1e-5)
            #expect(relativeError(fastW, reference: referenceW) < 1e-5)
            #expect(relativeError(fastB, reference: referenceB) < 1e-5)
        }
    }

    // MARK: - Causal convolution + SiLU

    static func convolution(_ x: [Double], _ w: [Double], _ b: [Double]?, sequences: Int, length: Int, channels: Int,
                            kernel: Int, silu: Bool) -> [Double] {
        var y = [Double](repeating: 0, count: sequences * length * channels)
        for i in 0..<sequences {
            for t in 0..<length {
                for e in 0..<channels {
                    var pre = b?[e] ?? 0
                    for j in 0..<kernel where t - (kernel - 1) + j >= 0 {
                        pre += w[e * kernel + j] * x[(i * length + t - (kernel - 1) + j) * channels + e]
                    }
                    y[(i * length + t) * channels + e] = silu ? pre / (1 + exp(-pre)) : pre
                }
            }
        }
        return y
    }

    @Test(arguments: [(4, true, true), (2, true, false), (3, false, true), (1, true, true)])
    func convolutionMatchesDifferences(_ kernel: Int, _ silu: Bool, _ withBias: Bool) throws {
        var data = TestData(seed: 6)
        let sequences = 2, length = 6, channels = 19
        let x = data.floats(sequences * length * channels, -2, 2), w = data.floats(channels * kernel)
        let b = data.floats(channels), dy = data.floats(sequences * length * channels)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: channels)
        b.withUnsafeBufferPointer { b in
            db.withUnsafeMutableBufferPointer { db in
                CausalConv1d.backward(input: x, inputStride: channels, sequences: sequences, length: length,
                                      channels: channels, kernel: kernel, weight: w,
                                      bias: withBias ? b.baseAddress : nil, silu: silu, dOutput: dy, dInput: &dx,
                                      dWeight: &dw, dBias: withBias ? db.baseAddress : nil)
            }
        }
        func f(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            dot(dy, Self.convolution(x, w, withBias ? b : nil, sequences: sequences, length: length,
                                     channels: channels, kernel: kernel, silu: silu))
        }
        expectAgree(dx, centralDifferences(at: doubles(x)) { f($0, doubles(w), doubles(b)) }, "dx")
        expectAgree(dw, centralDifferences(at: doubles(w)) { f(doubles(x), $0, doubles(b)) }, "dweight")
        if withBias { expectAgree(db, centralDifferences(at: doubles(b)) { f(doubles(x), doubles(w), $0) }, "dbias") }
    }

    @Test func convolutionFastMatchesReference() throws {
        var data = TestData(seed: 7)
        let sequences = 3, length = 300, channels = 37, kernel = 4, stride = 80  // spans of 128 positions: 3 per sequence
        let x = data.floats(sequences * length * stride, -2, 2), w = data.floats(channels * kernel)
        let b = data.floats(channels), dy = data.floats(sequences * length * channels)
        let startW = data.floats(w.count), startB = data.floats(channels)
        var fastX = [Float](repeating: 0, count: sequences * length * channels), referenceX = fastX
        var fastW = startW, fastB = startB, referenceW = startW, referenceB = startB
        CausalConv1d.backward(input: x, inputStride: stride, sequences: sequences, length: length, channels: channels,
                              kernel: kernel, weight: w, bias: b, silu: true, dOutput: dy, dInput: &fastX,
                              dWeight: &fastW, dBias: &fastB)
        CausalConv1d.backwardReference(input: x, inputStride: stride, sequences: sequences, length: length,
                                       channels: channels, kernel: kernel, weight: w, bias: b, silu: true, dOutput: dy,
                                       dInput: &referenceX, dWeight: &referenceW, dBias: &referenceB)
        #expect(relativeError(fastX, reference: referenceX) < 1e-5)
        #expect(relativeError(fastW, reference: referenceW) < 1e-5)
        #expect(relativeError(fastB, reference: referenceB) < 1e-5)
    }

    // MARK: - Cross-entropy

    @Test func crossEntropyMatchesDifferences() throws {
        var data = TestData(seed: 8)
        let rows = 6, classes = 21, stride = 23, scale: Float = 0.37
        let logits = data.floats(rows * stride, -4, 4)
        let targets: [Int32] = [3, -1, 20, 0, 7, -5]
        var gradient = logits
        let result = CrossEntropy.forward(logits: &gradient, rows: rows, classes: classes, stride: stride,
                                          targets: targets, scale: scale, gradient: true)
        func loss(_ x: [Double]) -> Double {
            var sum = 0.0
            for r in 0..<rows where targets[r] >= 0 {
                let row = (0..<classes).map { x[r * stride + $0] }
                sum += log(row.reduce(0) { $0 + exp($1) }) - row[Int(targets[r])]
            }
            return sum
        }
        #expect(result.count == 4)
        #expect(abs(result.lossSum - loss(doubles(logits))) < 1e-5 * result.lossSum)
        let indices = (0..<rows).flatMap { r in (0..<classes).map { r * stride + $0 } }
        let numeric = centralDifferences(at: doubles(logits), indices: indices) { Double(scale) * loss($0) }
        expectAgree(indices.map { gradient[$0] }, numeric, "dlogits")
        // Ignored rows: zero gradient. Reference agrees, correct counts argmax hits.
        #expect((0..<classes).allSatisfy { gradient[stride + $0] == 0 })
        var referenceGradient = logits
        let reference = CrossEntropy.reference(logits: &referenceGradient, rows: rows, classes: classes,
                                               stride: stride, targets: targets, scale: scale, gradient: true)
        #expect(abs(reference.lossSum - result.lossSum) < 1e-6 * result.lossSum)
        #expect(reference.correct == result.correct && reference.count == result.count)
        let hits = (0..<rows).filter { r in
            targets[r] >= 0 && (0..<classes).allSatisfy { logits[r * stride + $0] <= logits[r * stride + Int(targets[r])] }
        }.count
        #expect(result.correct == hits)
        #expect(maxAbsoluteDifference(indices.map { gradient[$0] }, indices.map { referenceGradient[$0] }) < 1e-6)
        // Without the gradient the logits are left alone.
        var untouched = logits
        let lossOnly = CrossEntropy.forward(logits: &untouched, rows: rows, classes: classes, stride: stride,
                                            targets: targets, scale: scale, gradient: false)
        #expect(untouched == logits && lossOnly == result)
    }

    // MARK: - Pooling

    @Test(arguments: [ClassifierPooling.mean, .last, .max])
    func poolingMatchesDifferences(_ pooling: ClassifierPooling) throws {
        var data = TestData(seed: 9)
        let sequences = 3, length = 5, dim = 7
        let lengths: [Int32] = [5, 2, 0]
        let x = data.floats(sequences * length * dim), dPooled = data.floats(sequences * dim)
        var dx = data.floats(x.count)  // overwritten
        SequenceOps.poolBackward(dPooled, input: x, sequences: sequences, length: length, dim: dim,
                                 lengths: lengths, pooling: pooling, into: &dx)
        func f(_ x: [Double]) -> Double {
            var sum = 0.0
            for i in 0..<sequences where lengths[i] > 0 {
                let valid = Int(lengths[i])
                for j in 0..<dim {
                    let column = (0..<valid).map { x[(i * length + $0) * dim + j] }
                    let value = switch pooling {
                    case .last: column[valid - 1]
                    case .max: column.max()!
                    case .mean: column.reduce(0, +) / Double(valid)
                    }
                    sum += Double(dPooled[i * dim + j]) * value
                }
            }
            return sum
        }
        expectAgree(dx, centralDifferences(at: doubles(x), f), "dinput")
    }

    // MARK: - Scatter columns (the adjoint of copyColumns)

    @Test func scatterColumnsIsTheAdjointOfCopyColumns() throws {
        var data = TestData(seed: 10)
        let rows = 4, stride = 9, start = 3, count = 5
        let matrix = data.floats(rows * stride), small = data.floats(rows * count)
        var gathered = [Float](repeating: 0, count: rows * count)
        SequenceOps.copyColumns(matrix, stride: stride, start: start, count: count, rows: rows, into: &gathered)
        var scattered = [Float](repeating: 0, count: rows * stride)
        SequenceOps.scatterColumns(small, count: count, rows: rows, into: &scattered, stride: stride, start: start)
        // ⟨copy(M), S⟩ = ⟨M, scatter(S)⟩
        let left = zip(gathered, small).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(matrix, scattered).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) < 1e-5)
    }
}
