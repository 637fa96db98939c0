// The seam between the model's data flow and where its arithmetic runs.
//
// `MambaModel` never reads or writes activation memory itself: it computes offsets and hands pointers to a
// `MambaBackend`, one call per kernel (the list below is every kernel the forward uses). `CPUBackend` runs them with
// the layers' CPU kernels (Layers/, Scan/) on `Parallel` and OpenBLAS. A CUDA backend implements the same protocol
// with device pointers (unified virtual addressing makes them plain addresses to Swift), allocating activations
// through `makeBuffer`; the model code does not change. Parameters are read and written on the host (loading,
// initialisation, checkpoints); a device backend would keep a device copy of the parameter buffer.
import Foundation
import MambaTensor

/// The kernels of the Mamba forward pass (see the file header). Shapes are in the doc comments of the CPU kernels
/// each method names.
public protocol MambaBackend: Sendable {
    /// A short name for logs ("cpu").
    var name: String { get }
    /// A zero-filled activation buffer of `count` floats.
    func makeBuffer(_ count: Int) -> Tensor
    /// `Embedding.forward`.
    func embedding(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                   out: UnsafeMutablePointer<Float>)
    /// `RMSNorm.forward`.
    func rmsNorm(input: UnsafePointer<Float>, rows: RowMap, dim: Int, weight: UnsafePointer<Float>, epsilon: Float,
                 output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?)
    /// `Linear.forward`.
    func linear(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool)
    /// `CausalConv1d.forward` with SiLU.
    func causalConv1dSiLU(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                          sequences: Int, length: Int, channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>)
    /// `CausalConv1d.updateWindow`.
    func updateConvWindow(input: UnsafePointer<Float>, inputStride: Int, window: UnsafeMutablePointer<Float>,
                          valid: UnsafePointer<Int32>, sequences: Int, length: Int, channels: Int, kernel: Int)
    /// `SelectiveScan.forward` (S6) with Δ softplus and the z gate.
    func selectiveScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                       A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                       D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                       lengths: UnsafePointer<Int32>, initialState: UnsafePointer<Float>?,
                       y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>)
    /// `S4DScan.forward` (time-invariant) with the z gate; delta already positive.
    func timeInvariantScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                           A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                           D: UnsafePointer<Float>, z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                           initialState: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                           finalState: UnsafeMutablePointer<Float>)
    /// `SelectiveScan.step`: one position of every sequence, state h {b, d_inner, n} updated in place.
    func selectiveScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                           A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                           D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                           h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>)
    /// `S4DScan.step`: one position of every sequence, state h updated in place.
    func timeInvariantScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                               delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                               C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                               h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>)
    /// output = −exp(input) (A from A_log).
    func negativeExp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int)
    /// output = softplus(input) (S4D's Δ from dt_bias).
    func softplus(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int)
    /// Plain copy of `count` floats.
    func copy(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int)
    /// `SequenceOps.copyColumns`.
    func copyColumns(_ source: UnsafePointer<Float>, stride: Int, start: Int, count: Int, rows: Int,
                     into destination: UnsafeMutablePointer<Float>)
    /// `SequenceOps.copyRows`.
    func copyRows(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: RowMap,
                  dim: Int, scatter: Bool)
    /// `SequenceOps.addRows`.
    func addRows(_ source: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into destination: UnsafeMutablePointer<Float>,
                 rows: RowMap, dim: Int)
    /// `SequenceOps.reverseValid`.
    func reverseValid(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                      lengths: UnsafePointer<Int32>, zeroPadding: Bool)
    /// `SequenceOps.zeroPadding`.
    func zeroPadding(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                     lengths: UnsafePointer<Int32>)
    /// `SequenceOps.pool`.
    func pool(_ input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int, lengths: UnsafePointer<Int32>,
              pooling: ClassifierPooling, into pooled: UnsafeMutablePointer<Float>)
}

/// The CPU implementation: the layers' fast kernels on `Parallel` threads and OpenBLAS.
public struct CPUBackend: MambaBackend {
    /// Creates the backend (stateless; threads come from `Parallel.threadCount`).
    public init() {}
    /// "cpu".
    public var name: String { "cpu" }
    /// A zero-filled `Tensor`.
    public func makeBuffer(_ count: Int) -> Tensor { Tensor(zeros: [count]) }
    /// `Embedding.forward`.
    public func embedding(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                          out: UnsafeMutablePointer<Float>) {
        Embedding.forward(ids: ids, rows: rows, table: table, dim: dim, out: out)
    }
    /// `RMSNorm.forward`.
    public func rmsNorm(input: UnsafePointer<Float>, rows: RowMap, dim: Int, weight: UnsafePointer<Float>,
                        epsilon: Float, output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?) {
        RMSNorm.forward(input: input, rows: rows, dim: dim, weight: weight, epsilon: epsilon, output: output, rstd: rstd)
    }
    /// `Linear.forward`.
    public func linear(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                       weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                       output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool) {
        Linear.forward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: weight,
                       outFeatures: outFeatures, bias: bias, output: output, outputStride: outputStride,
                       accumulate: accumulate)
    }
    /// `CausalConv1d.forward` with SiLU.
    public func causalConv1dSiLU(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                                 sequences: Int, length: Int, channels: Int, kernel: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>) {
        CausalConv1d.forward(input: input, inputStride: inputStride, window: window, sequences: sequences,
                             length: length, channels: channels, kernel: kernel, weight: weight, bias: bias,
                             silu: true, output: output)
    }
    /// `CausalConv1d.updateWindow`.
    public func updateConvWindow(input: UnsafePointer<Float>, inputStride: Int, window: UnsafeMutablePointer<Float>,
                                 valid: UnsafePointer<Int32>, sequences: Int, length: Int, channels: Int,
                                 kernel: Int) {
        CausalConv1d.updateWindow(input: input, inputStride: inputStride, window: window, valid: valid,
                                  sequences: sequences, length: length, channels: channels, kernel: kernel)
    }
    /// `SelectiveScan.forward`.
    public func selectiveScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                              A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                              D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                              lengths: UnsafePointer<Int32>, initialState: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>) {
        SelectiveScan.forward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                              deltaSoftplus: true, deltaScale: 1, lengths: lengths, initialState: initialState,
                              y: y, finalState: finalState)
    }
    /// `S4DScan.forward`.
    public func timeInvariantScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                  A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                  D: UnsafePointer<Float>, z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                  initialState: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                  finalState: UnsafeMutablePointer<Float>) {
        S4DScan.forward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
                        initialState: initialState, y: y, finalState: finalState)
    }
    /// `SelectiveScan.step`.
    public func selectiveScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                                  delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                                  C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                  deltaBias: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
                                  y: UnsafeMutablePointer<Float>) {
        SelectiveScan.step(batch: batch, channels: channels, state: state, u: u, delta: delta, A: A, B: B, C: C, D: D,
                           z: z, deltaBias: deltaBias, deltaSoftplus: true, deltaScale: 1, h: h, y: y)
    }
    /// `S4DScan.step`.
    public func timeInvariantScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                                      delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                                      C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        S4DScan.step(batch: batch, channels: channels, state: state, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z,
                     h: h, y: y)
    }
    /// −exp(input), with the 16-lane polynomial exp (recomputed per pass and per step, so kept cheap).
    public func negativeExp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        VectorMath.exp(input, into: output, count: count)
        for i in 0..<count { output[i] = -output[i] }
    }
    /// softplus(input).
    public func softplus(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        VectorMath.softplus(input, into: output, count: count)
    }
    /// memcpy.
    public func copy(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        destination.update(from: source, count: count)
    }
    /// `SequenceOps.copyColumns`.
    public func copyColumns(_ source: UnsafePointer<Float>, stride: Int, start: Int, count: Int, rows: Int,
                            into destination: UnsafeMutablePointer<Float>) {
        SequenceOps.copyColumns(source, stride: stride, start: start, count: count, rows: rows, into: destination)
    }
    /// `SequenceOps.copyRows`.
    public func copyRows(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: RowMap,
                         dim: Int, scatter: Bool) {
        SequenceOps.copyRows(source, into: destination, rows: rows, dim: dim, scatter: scatter)
    }
    /// `SequenceOps.addRows`.
    public func addRows(_ source: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        into destination: UnsafeMutablePointer<Float>, rows: RowMap, dim: Int) {
        SequenceOps.addRows(source, bias: bias, into: destination, rows: rows, dim: dim)
    }
    /// `SequenceOps.reverseValid`.
    public func reverseValid(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                             lengths: UnsafePointer<Int32>, zeroPadding: Bool) {
        SequenceOps.reverseValid(buffer, sequences: sequences, length: length, dim: dim, lengths: lengths,
                                 zeroPadding: zeroPadding)
    }
    /// `SequenceOps.zeroPadding`.
    public func zeroPadding(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                            lengths: UnsafePointer<Int32>) {
        SequenceOps.zeroPadding(buffer, sequences: sequences, length: length, dim: dim, lengths: lengths)
    }
    /// `SequenceOps.pool`.
    public func pool(_ input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                     lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                     into pooled: UnsafeMutablePointer<Float>) {
        SequenceOps.pool(input, sequences: sequences, length: length, dim: dim, lengths: lengths, pooling: pooling,
                         into: pooled)
    }
}
