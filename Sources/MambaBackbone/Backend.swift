// The seam between the model's data flow and where its arithmetic runs.
//
// `MambaModel` never reads or writes activation memory itself: it computes offsets and hands pointers to a
// `MambaBackend`, one call per kernel (the list below is every kernel the forward and the training backward use). `CPUBackend` runs them with
// the layers' CPU kernels (Layers/, Scan/) on `Parallel` and OpenBLAS. A CUDA backend implements the same protocol
// with device pointers (unified virtual addressing makes them plain addresses to Swift), allocating activations
// through `makeBuffer`; the model code does not change. Parameters are read and written on the host (loading,
// initialisation, checkpoints); a device backend would keep a device copy of the parameter buffer.
import Foundation
import MambaTensor

/// The kernels of the Mamba forward and backward passes (see the file header). Shapes are in the doc comments of the CPU kernels
/// each method names.
public protocol MambaBackend: Sendable {
    /// A short name for logs ("cpu").
    var name: String { get }
    /// A zero-filled activation buffer of `count` floats.
    func makeBuffer(_ count: Int) -> Tensor
    /// `Embedding.forward`.
    func embedding(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                   out: UnsafeMutablePointer<Float>)
    /// `Embedding.forward` with `accumulate`: out[row] += table[ids[row]].
    func embeddingAccumulate(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
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
                       deltaScale: Float, lengths: UnsafePointer<Int32>, initialState: UnsafePointer<Float>?,
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
                           deltaScale: Float, h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>)
    /// `S4DScan.step`: one position of every sequence, state h updated in place.
    func timeInvariantScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                               delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                               C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                               h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>)
    /// output = −exp(input) (A from A_log).
    func negativeExp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int)
    /// output = softplus(input) (S4D's Δ from dt_bias).
    func softplus(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int)
    /// buffer ·= factor (S4D's Δ, and its gradient, at a time scale ρ ≠ 1).
    func scale(_ buffer: UnsafeMutablePointer<Float>, by factor: Float, count: Int)
    /// `CausalConv1d.resample`: the convolution's taps at the input rate of `timeScale` {channels, J}.
    func resampleConvolution(weight: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                             into resampled: UnsafeMutablePointer<Float>)
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

    // MARK: Training: the training forward's scans and the backward kernels (MambaModel+Training.swift)

    /// Fills `count` floats with zeros.
    func zero(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// `Embedding.backward` (dTable accumulated).
    func embeddingBackward(ids: UnsafePointer<Int32>, rows: Int, dOut: UnsafePointer<Float>, dim: Int,
                           dTable: UnsafeMutablePointer<Float>)
    /// `RMSNorm.backward` (dWeight accumulated; dInput accumulated when `accumulate`).
    func rmsNormBackward(input: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                         rstd: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                         accumulate: Bool, dWeight: UnsafeMutablePointer<Float>)
    /// `Linear.backward` (dWeight, dBias accumulated; dInput accumulated when `accumulateInput`).
    func linearBackward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                        weight: UnsafePointer<Float>, outFeatures: Int, dOutput: UnsafePointer<Float>,
                        dOutputStride: Int, dInput: UnsafeMutablePointer<Float>?, dInputStride: Int,
                        accumulateInput: Bool, dWeight: UnsafeMutablePointer<Float>?,
                        dBias: UnsafeMutablePointer<Float>?)
    /// `CausalConv1d.backward` with SiLU, from a zero window (dWeight, dBias accumulated).
    func causalConv1dSiLUBackward(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                  channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, dOutput: UnsafePointer<Float>,
                                  dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                                  dBias: UnsafeMutablePointer<Float>?)
    /// `SelectiveScan.forward` (Δ softplus, z gate) from a zero state, writing the chunk states for the backward.
    func selectiveScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                               A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                               D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                               deltaScale: Float,
                               lengths: UnsafePointer<Int32>, y: UnsafeMutablePointer<Float>, chunkLength: Int,
                               chunkStates: UnsafeMutablePointer<Float>)
    /// `SelectiveScan.backward` (dA, dD, ddeltaBias accumulated).
    func selectiveScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                               A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                               D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                               deltaScale: Float,
                               lengths: UnsafePointer<Int32>, chunkStates: UnsafePointer<Float>, chunkLength: Int,
                               dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
                               ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
                               dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                               dD: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>,
                               ddeltaBias: UnsafeMutablePointer<Float>)
    /// `S4DScan.forward` (z gate) from a zero state, writing the chunk states for the backward.
    func timeInvariantScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                   A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                   D: UnsafePointer<Float>, z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                   y: UnsafeMutablePointer<Float>, chunkLength: Int,
                                   chunkStates: UnsafeMutablePointer<Float>)
    /// `S4DScan.backward` (ddelta, dA, dB, dC, dD accumulated).
    func timeInvariantScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                   A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                   D: UnsafePointer<Float>, z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                   chunkStates: UnsafePointer<Float>, chunkLength: Int, dy: UnsafePointer<Float>,
                                   du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>,
                                   dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>,
                                   dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>,
                                   dz: UnsafeMutablePointer<Float>)
    /// `CausalConv1d.resampleBackward`: dWeight {channels, K} += the adjoint of the resampling applied to dResampled
    /// {channels, J}.
    func resampleConvolutionBackward(dResampled: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                     into dWeight: UnsafeMutablePointer<Float>)
    /// The backward of `negativeExp` given its output A = −exp(A_log): dInput += dOutput · A.
    func negativeExpBackward(output: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                             into dInput: UnsafeMutablePointer<Float>, count: Int)
    /// The backward of `softplus`: dInput += dOutput · sigmoid(input).
    func softplusBackward(input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                          into dInput: UnsafeMutablePointer<Float>, count: Int)
    /// `SequenceOps.scatterColumns`.
    func scatterColumns(_ source: UnsafePointer<Float>, count: Int, rows: Int,
                        into destination: UnsafeMutablePointer<Float>, stride: Int, start: Int)
    /// `SequenceOps.poolBackward`.
    func poolBackward(_ dPooled: UnsafePointer<Float>, input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                      lengths: UnsafePointer<Int32>, pooling: ClassifierPooling, into dInput: UnsafeMutablePointer<Float>)
    /// `CrossEntropy.forward`: the summed loss over rows with a target, and the logits' gradient in place.
    func crossEntropy(logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int,
                      targets: UnsafePointer<Int32>, scale: Float, gradient: Bool) -> CrossEntropy.Result
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
    /// `Embedding.forward` with `accumulate`.
    public func embeddingAccumulate(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                                    out: UnsafeMutablePointer<Float>) {
        Embedding.forward(ids: ids, rows: rows, table: table, dim: dim, out: out, accumulate: true)
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
                              deltaScale: Float, lengths: UnsafePointer<Int32>, initialState: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>) {
        SelectiveScan.forward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                              deltaSoftplus: true, deltaScale: deltaScale, lengths: lengths, initialState: initialState,
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
                                  deltaBias: UnsafePointer<Float>, deltaScale: Float, h: UnsafeMutablePointer<Float>,
                                  y: UnsafeMutablePointer<Float>) {
        SelectiveScan.step(batch: batch, channels: channels, state: state, u: u, delta: delta, A: A, B: B, C: C, D: D,
                           z: z, deltaBias: deltaBias, deltaSoftplus: true, deltaScale: deltaScale, h: h, y: y)
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
    /// buffer ·= factor.
    public func scale(_ buffer: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
        for i in 0..<count { buffer[i] *= factor }
    }
    /// `CausalConv1d.resample`.
    public func resampleConvolution(weight: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                    into resampled: UnsafeMutablePointer<Float>) {
        CausalConv1d.resample(weight: weight, channels: channels, timeScale: timeScale, into: resampled)
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

    // MARK: Training

    /// Fills with zeros.
    public func zero(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        buffer.update(repeating: 0, count: count)
    }
    /// `Embedding.backward`.
    public func embeddingBackward(ids: UnsafePointer<Int32>, rows: Int, dOut: UnsafePointer<Float>, dim: Int,
                                  dTable: UnsafeMutablePointer<Float>) {
        Embedding.backward(ids: ids, rows: rows, dOut: dOut, dim: dim, dTable: dTable)
    }
    /// `RMSNorm.backward`.
    public func rmsNormBackward(input: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
                                dWeight: UnsafeMutablePointer<Float>) {
        RMSNorm.backward(input: input, rows: rows, dim: dim, weight: weight, rstd: rstd, dOutput: dOutput,
                         dInput: dInput, accumulate: accumulate, dWeight: dWeight)
    }
    /// `Linear.backward`.
    public func linearBackward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                               weight: UnsafePointer<Float>, outFeatures: Int, dOutput: UnsafePointer<Float>,
                               dOutputStride: Int, dInput: UnsafeMutablePointer<Float>?, dInputStride: Int,
                               accumulateInput: Bool, dWeight: UnsafeMutablePointer<Float>?,
                               dBias: UnsafeMutablePointer<Float>?) {
        Linear.backward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: weight,
                        outFeatures: outFeatures, dOutput: dOutput, dOutputStride: dOutputStride, dInput: dInput,
                        dInputStride: dInputStride, accumulateInput: accumulateInput, dWeight: dWeight, dBias: dBias)
    }
    /// `CausalConv1d.backward` with SiLU.
    public func causalConv1dSiLUBackward(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                         channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, dOutput: UnsafePointer<Float>,
                                         dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                                         dBias: UnsafeMutablePointer<Float>?) {
        CausalConv1d.backward(input: input, inputStride: inputStride, sequences: sequences, length: length,
                              channels: channels, kernel: kernel, weight: weight, bias: bias, silu: true,
                              dOutput: dOutput, dInput: dInput, dWeight: dWeight, dBias: dBias)
    }
    /// `SelectiveScan.forward` with chunk states.
    public func selectiveScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                      A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                      D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      deltaBias: UnsafePointer<Float>, deltaScale: Float, lengths: UnsafePointer<Int32>,
                                      y: UnsafeMutablePointer<Float>, chunkLength: Int,
                                      chunkStates: UnsafeMutablePointer<Float>) {
        SelectiveScan.forward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                              deltaSoftplus: true, deltaScale: deltaScale, lengths: lengths, initialState: nil, y: y,
                              finalState: nil, chunkLength: chunkLength, chunkStates: chunkStates)
    }
    /// `SelectiveScan.backward`.
    public func selectiveScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                      A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                      D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      deltaBias: UnsafePointer<Float>, deltaScale: Float, lengths: UnsafePointer<Int32>,
                                      chunkStates: UnsafePointer<Float>, chunkLength: Int, dy: UnsafePointer<Float>,
                                      du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>,
                                      dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>,
                                      dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>,
                                      dz: UnsafeMutablePointer<Float>, ddeltaBias: UnsafeMutablePointer<Float>) {
        SelectiveScan.backward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                               deltaSoftplus: true, deltaScale: deltaScale, lengths: lengths, initialState: nil,
                               chunkStates: chunkStates, chunkLength: chunkLength, dy: dy, du: du, ddelta: ddelta,
                               dA: dA, dB: dB, dC: dC, dD: dD, dz: dz, ddeltaBias: ddeltaBias, dInitialState: nil)
    }
    /// `S4DScan.forward` with chunk states.
    public func timeInvariantScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>,
                                          delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
                                          B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>,
                                          z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                          y: UnsafeMutablePointer<Float>, chunkLength: Int,
                                          chunkStates: UnsafeMutablePointer<Float>) {
        S4DScan.forward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths, initialState: nil,
                        y: y, finalState: nil, chunkLength: chunkLength, chunkStates: chunkStates)
    }
    /// `S4DScan.backward`.
    public func timeInvariantScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>,
                                          delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
                                          B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>,
                                          z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                          chunkStates: UnsafePointer<Float>, chunkLength: Int,
                                          dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
                                          ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
                                          dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                                          dD: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>) {
        S4DScan.backward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths, initialState: nil,
                         chunkStates: chunkStates, chunkLength: chunkLength, dy: dy, du: du, ddelta: ddelta, dA: dA,
                         dB: dB, dC: dC, dD: dD, dz: dz, dInitialState: nil)
    }
    /// `CausalConv1d.resampleBackward`.
    public func resampleConvolutionBackward(dResampled: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                            into dWeight: UnsafeMutablePointer<Float>) {
        CausalConv1d.resampleBackward(dResampled: dResampled, channels: channels, timeScale: timeScale,
                                      into: dWeight)
    }
    /// dInput += dOutput · output (d(−exp(x))/dx = −exp(x), the output itself).
    public func negativeExpBackward(output: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                    into dInput: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dInput[i] += dOutput[i] * output[i] }
    }
    /// dInput += dOutput · sigmoid(input) (softplus' = sigmoid; 1 above PyTorch's threshold 20, where softplus is
    /// the identity).
    public func softplusBackward(input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                 into dInput: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dInput[i] += dOutput[i] * (input[i] > 20 ? 1 : VectorMath.sigmoid(input[i])) }
    }
    /// `SequenceOps.scatterColumns`.
    public func scatterColumns(_ source: UnsafePointer<Float>, count: Int, rows: Int,
                               into destination: UnsafeMutablePointer<Float>, stride: Int, start: Int) {
        SequenceOps.scatterColumns(source, count: count, rows: rows, into: destination, stride: stride, start: start)
    }
    /// `SequenceOps.poolBackward`.
    public func poolBackward(_ dPooled: UnsafePointer<Float>, input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                             lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                             into dInput: UnsafeMutablePointer<Float>) {
        SequenceOps.poolBackward(dPooled, input: input, sequences: sequences, length: length, dim: dim, lengths: lengths,
                                 pooling: pooling, into: dInput)
    }
    /// `CrossEntropy.forward`.
    public func crossEntropy(logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int,
                             targets: UnsafePointer<Int32>, scale: Float, gradient: Bool) -> CrossEntropy.Result {
        CrossEntropy.forward(logits: logits, rows: rows, classes: classes, stride: stride, targets: targets,
                             scale: scale, gradient: gradient)
    }
}
