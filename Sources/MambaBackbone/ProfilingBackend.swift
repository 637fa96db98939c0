// A backend that forwards every kernel to another backend and adds up the wall time spent in each kernel
// (`mambakit bench forward --profile`). Kernels run synchronously on the CPU backend, so wall time is kernel time.
import Foundation
import MambaTensor
import Synchronization

/// Wraps a backend and times each kernel by name.
public final class ProfilingBackend: MambaBackend, @unchecked Sendable {
    /// The backend doing the work.
    public let base: any MambaBackend
    private let totals = Mutex<[String: (seconds: Double, calls: Int)]>([:])
    private let cpuTotals = Mutex<[String: Double]>([:])

    /// Wraps `base`.
    public init(_ base: any MambaBackend = CPUBackend()) { self.base = base }

    /// "profile(<base>)".
    public var name: String { "profile(\(base.name))" }

    /// Seconds and calls per kernel since creation or the last `reset`.
    public var report: [(kernel: String, seconds: Double, calls: Int)] {
        totals.withLock { $0.map { ($0.key, $0.value.seconds, $0.value.calls) } }.sorted { $0.seconds > $1.seconds }
    }

    /// Process CPU seconds (user + system, all threads) per kernel, largest first. Kernels run one at a time, so
    /// the process's CPU time during a kernel is the kernel's; on a machine shared with other work it is a fairer
    /// measure than wall time.
    public var cpuReport: [(kernel: String, seconds: Double)] {
        cpuTotals.withLock { $0.map { ($0.key, $0.value) } }.sorted { $0.seconds > $1.seconds }
    }

    /// Forgets the totals.
    public func reset() {
        totals.withLock { $0 = [:] }
        cpuTotals.withLock { $0 = [:] }
    }

    private static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    @inline(__always)
    private func time<R>(_ kernel: String, _ body: () -> R) -> R {
        let cpuStart = Self.processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = Self.processCPUSeconds() - cpuStart
        totals.withLock { totals in
            let previous = totals[kernel] ?? (0, 0)
            totals[kernel] = (previous.seconds + seconds, previous.calls + 1)
        }
        cpuTotals.withLock { $0[kernel, default: 0] += cpu }
        return result
    }

    /// `base.makeBuffer`, timed.
    public func makeBuffer(_ count: Int) -> Tensor { time("makeBuffer") { base.makeBuffer(count) } }
    /// `base.embedding`, timed.
    public func embedding(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                          out: UnsafeMutablePointer<Float>) {
        time("embedding") { base.embedding(ids: ids, rows: rows, table: table, dim: dim, out: out) }
    }
    /// `base.embeddingAccumulate`, timed.
    public func embeddingAccumulate(ids: UnsafePointer<Int32>, rows: Int, table: UnsafePointer<Float>, dim: Int,
                                    out: UnsafeMutablePointer<Float>) {
        time("embeddingAccumulate") { base.embeddingAccumulate(ids: ids, rows: rows, table: table, dim: dim, out: out) }
    }
    /// `base.rmsNorm`, timed.
    public func rmsNorm(input: UnsafePointer<Float>, rows: RowMap, dim: Int, weight: UnsafePointer<Float>,
                        epsilon: Float, output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?) {
        time("rmsNorm") {
            base.rmsNorm(input: input, rows: rows, dim: dim, weight: weight, epsilon: epsilon, output: output, rstd: rstd)
        }
    }
    /// `base.linear`, timed.
    public func linear(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                       weight: UnsafePointer<Float>, outFeatures: Int, bias: UnsafePointer<Float>?,
                       output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool) {
        time("linear \(inFeatures)->\(outFeatures)") {
            base.linear(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures, weight: weight,
                        outFeatures: outFeatures, bias: bias, output: output, outputStride: outputStride,
                        accumulate: accumulate)
        }
    }
    /// `base.causalConv1dSiLU`, timed.
    public func causalConv1dSiLU(input: UnsafePointer<Float>, inputStride: Int, window: UnsafePointer<Float>?,
                                 sequences: Int, length: Int, channels: Int, kernel: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>) {
        time("causalConv1dSiLU") {
            base.causalConv1dSiLU(input: input, inputStride: inputStride, window: window, sequences: sequences,
                                  length: length, channels: channels, kernel: kernel, weight: weight, bias: bias,
                                  output: output)
        }
    }
    /// `base.updateConvWindow`, timed.
    public func updateConvWindow(input: UnsafePointer<Float>, inputStride: Int, window: UnsafeMutablePointer<Float>,
                                 valid: UnsafePointer<Int32>, sequences: Int, length: Int, channels: Int,
                                 kernel: Int) {
        time("updateConvWindow") {
            base.updateConvWindow(input: input, inputStride: inputStride, window: window, valid: valid,
                                  sequences: sequences, length: length, channels: channels, kernel: kernel)
        }
    }
    /// `base.selectiveScan`, timed.
    public func selectiveScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                              A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                              D: UnsafePointer<Float>, z: UnsafePointer<Float>, deltaBias: UnsafePointer<Float>,
                              deltaScale: Float, lengths: UnsafePointer<Int32>, initialState: UnsafePointer<Float>?,
                              y: UnsafeMutablePointer<Float>, finalState: UnsafeMutablePointer<Float>) {
        time("selectiveScan") {
            base.selectiveScan(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                               deltaScale: deltaScale,
                               lengths: lengths, initialState: initialState, y: y, finalState: finalState)
        }
    }
    /// `base.timeInvariantScan`, timed.
    public func timeInvariantScan(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                  A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                  D: UnsafePointer<Float>, z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                  initialState: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                  finalState: UnsafeMutablePointer<Float>) {
        time("timeInvariantScan") {
            base.timeInvariantScan(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
                                   initialState: initialState, y: y, finalState: finalState)
        }
    }
    /// `base.selectiveScanStep`, timed.
    public func selectiveScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                                  delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                                  C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                  deltaBias: UnsafePointer<Float>, deltaScale: Float, h: UnsafeMutablePointer<Float>,
                                  y: UnsafeMutablePointer<Float>) {
        time("selectiveScanStep") {
            base.selectiveScanStep(batch: batch, channels: channels, state: state, u: u, delta: delta, A: A, B: B,
                                   C: C, D: D, z: z, deltaBias: deltaBias, deltaScale: deltaScale, h: h, y: y)
        }
    }
    /// `base.timeInvariantScanStep`, timed.
    public func timeInvariantScanStep(batch: Int, channels: Int, state: Int, u: UnsafePointer<Float>,
                                      delta: UnsafePointer<Float>, A: UnsafePointer<Float>, B: UnsafePointer<Float>,
                                      C: UnsafePointer<Float>, D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      h: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        time("timeInvariantScanStep") {
            base.timeInvariantScanStep(batch: batch, channels: channels, state: state, u: u, delta: delta, A: A,
                                       B: B, C: C, D: D, z: z, h: h, y: y)
        }
    }
    /// `base.negativeExp`, timed.
    public func negativeExp(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        time("negativeExp") { base.negativeExp(input, into: output, count: count) }
    }
    /// `base.softplus`, timed.
    public func softplus(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        time("softplus") { base.softplus(input, into: output, count: count) }
    }
    /// `base.scale`, timed.
    public func scale(_ buffer: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
        time("scale") { base.scale(buffer, by: factor, count: count) }
    }
    /// `base.resampleConvolution`, timed.
    public func resampleConvolution(weight: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                    into resampled: UnsafeMutablePointer<Float>) {
        time("resampleConvolution") {
            base.resampleConvolution(weight: weight, channels: channels, timeScale: timeScale, into: resampled)
        }
    }
    /// `base.copy`, timed.
    public func copy(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        time("copy") { base.copy(source, into: destination, count: count) }
    }
    /// `base.copyColumns`, timed.
    public func copyColumns(_ source: UnsafePointer<Float>, stride: Int, start: Int, count: Int, rows: Int,
                            into destination: UnsafeMutablePointer<Float>) {
        time("copyColumns") { base.copyColumns(source, stride: stride, start: start, count: count, rows: rows, into: destination) }
    }
    /// `base.copyRows`, timed.
    public func copyRows(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: RowMap,
                         dim: Int, scatter: Bool) {
        time("copyRows") { base.copyRows(source, into: destination, rows: rows, dim: dim, scatter: scatter) }
    }
    /// `base.addRows`, timed.
    public func addRows(_ source: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        into destination: UnsafeMutablePointer<Float>, rows: RowMap, dim: Int) {
        time("addRows") { base.addRows(source, bias: bias, into: destination, rows: rows, dim: dim) }
    }
    /// `base.reverseValid`, timed.
    public func reverseValid(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                             lengths: UnsafePointer<Int32>, zeroPadding: Bool) {
        time("reverseValid") {
            base.reverseValid(buffer, sequences: sequences, length: length, dim: dim, lengths: lengths,
                              zeroPadding: zeroPadding)
        }
    }
    /// `base.zeroPadding`, timed.
    public func zeroPadding(_ buffer: UnsafeMutablePointer<Float>, sequences: Int, length: Int, dim: Int,
                            lengths: UnsafePointer<Int32>) {
        time("zeroPadding") { base.zeroPadding(buffer, sequences: sequences, length: length, dim: dim, lengths: lengths) }
    }
    /// `base.pool`, timed.
    public func pool(_ input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                     lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                     into pooled: UnsafeMutablePointer<Float>) {
        time("pool") {
            base.pool(input, sequences: sequences, length: length, dim: dim, lengths: lengths, pooling: pooling,
                      into: pooled)
        }
    }

    // MARK: Training

    /// `base.zero`, timed.
    public func zero(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        time("zero") { base.zero(buffer, count: count) }
    }
    /// `base.embeddingBackward`, timed.
    public func embeddingBackward(ids: UnsafePointer<Int32>, rows: Int, dOut: UnsafePointer<Float>, dim: Int,
                                  dTable: UnsafeMutablePointer<Float>) {
        time("embeddingBackward") { base.embeddingBackward(ids: ids, rows: rows, dOut: dOut, dim: dim, dTable: dTable) }
    }
    /// `base.rmsNormBackward`, timed.
    public func rmsNormBackward(input: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
                                dWeight: UnsafeMutablePointer<Float>) {
        time("rmsNormBackward") {
            base.rmsNormBackward(input: input, rows: rows, dim: dim, weight: weight, rstd: rstd, dOutput: dOutput,
                                 dInput: dInput, accumulate: accumulate, dWeight: dWeight)
        }
    }
    /// `base.linearBackward`, timed.
    public func linearBackward(input: UnsafePointer<Float>, inputStride: Int, rows: Int, inFeatures: Int,
                               weight: UnsafePointer<Float>, outFeatures: Int, dOutput: UnsafePointer<Float>,
                               dOutputStride: Int, dInput: UnsafeMutablePointer<Float>?, dInputStride: Int,
                               accumulateInput: Bool, dWeight: UnsafeMutablePointer<Float>?,
                               dBias: UnsafeMutablePointer<Float>?) {
        time("linearBackward \(inFeatures)->\(outFeatures)") {
            base.linearBackward(input: input, inputStride: inputStride, rows: rows, inFeatures: inFeatures,
                                weight: weight, outFeatures: outFeatures, dOutput: dOutput,
                                dOutputStride: dOutputStride, dInput: dInput, dInputStride: dInputStride,
                                accumulateInput: accumulateInput, dWeight: dWeight, dBias: dBias)
        }
    }
    /// `base.causalConv1dSiLUBackward`, timed.
    public func causalConv1dSiLUBackward(input: UnsafePointer<Float>, inputStride: Int, sequences: Int, length: Int,
                                         channels: Int, kernel: Int, weight: UnsafePointer<Float>,
                                         bias: UnsafePointer<Float>?, dOutput: UnsafePointer<Float>,
                                         dInput: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                                         dBias: UnsafeMutablePointer<Float>?) {
        time("causalConv1dSiLUBackward") {
            base.causalConv1dSiLUBackward(input: input, inputStride: inputStride, sequences: sequences,
                                          length: length, channels: channels, kernel: kernel, weight: weight,
                                          bias: bias, dOutput: dOutput, dInput: dInput, dWeight: dWeight,
                                          dBias: dBias)
        }
    }
    /// `base.selectiveScanTraining`, timed.
    public func selectiveScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                      A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                      D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      deltaBias: UnsafePointer<Float>, deltaScale: Float, lengths: UnsafePointer<Int32>,
                                      y: UnsafeMutablePointer<Float>, chunkLength: Int,
                                      chunkStates: UnsafeMutablePointer<Float>) {
        time("selectiveScanTraining") {
            base.selectiveScanTraining(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                                       deltaScale: deltaScale,
                                       lengths: lengths, y: y, chunkLength: chunkLength, chunkStates: chunkStates)
        }
    }
    /// `base.selectiveScanBackward`, timed.
    public func selectiveScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>, delta: UnsafePointer<Float>,
                                      A: UnsafePointer<Float>, B: UnsafePointer<Float>, C: UnsafePointer<Float>,
                                      D: UnsafePointer<Float>, z: UnsafePointer<Float>,
                                      deltaBias: UnsafePointer<Float>, deltaScale: Float, lengths: UnsafePointer<Int32>,
                                      chunkStates: UnsafePointer<Float>, chunkLength: Int, dy: UnsafePointer<Float>,
                                      du: UnsafeMutablePointer<Float>, ddelta: UnsafeMutablePointer<Float>,
                                      dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>,
                                      dC: UnsafeMutablePointer<Float>, dD: UnsafeMutablePointer<Float>,
                                      dz: UnsafeMutablePointer<Float>, ddeltaBias: UnsafeMutablePointer<Float>) {
        time("selectiveScanBackward") {
            base.selectiveScanBackward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, deltaBias: deltaBias,
                                       deltaScale: deltaScale,
                                       lengths: lengths, chunkStates: chunkStates, chunkLength: chunkLength, dy: dy,
                                       du: du, ddelta: ddelta, dA: dA, dB: dB, dC: dC, dD: dD, dz: dz,
                                       ddeltaBias: ddeltaBias)
        }
    }
    /// `base.timeInvariantScanTraining`, timed.
    public func timeInvariantScanTraining(_ dims: ScanDimensions, u: UnsafePointer<Float>,
                                          delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
                                          B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>,
                                          z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                          y: UnsafeMutablePointer<Float>, chunkLength: Int,
                                          chunkStates: UnsafeMutablePointer<Float>) {
        time("timeInvariantScanTraining") {
            base.timeInvariantScanTraining(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
                                           y: y, chunkLength: chunkLength, chunkStates: chunkStates)
        }
    }
    /// `base.timeInvariantScanBackward`, timed.
    public func timeInvariantScanBackward(_ dims: ScanDimensions, u: UnsafePointer<Float>,
                                          delta: UnsafePointer<Float>, A: UnsafePointer<Float>,
                                          B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>,
                                          z: UnsafePointer<Float>, lengths: UnsafePointer<Int32>,
                                          chunkStates: UnsafePointer<Float>, chunkLength: Int,
                                          dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
                                          ddelta: UnsafeMutablePointer<Float>, dA: UnsafeMutablePointer<Float>,
                                          dB: UnsafeMutablePointer<Float>, dC: UnsafeMutablePointer<Float>,
                                          dD: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>) {
        time("timeInvariantScanBackward") {
            base.timeInvariantScanBackward(dims, u: u, delta: delta, A: A, B: B, C: C, D: D, z: z, lengths: lengths,
                                           chunkStates: chunkStates, chunkLength: chunkLength, dy: dy, du: du,
                                           ddelta: ddelta, dA: dA, dB: dB, dC: dC, dD: dD, dz: dz)
        }
    }
    /// `base.resampleConvolutionBackward`, timed.
    public func resampleConvolutionBackward(dResampled: UnsafePointer<Float>, channels: Int, timeScale: TimeScale,
                                            into dWeight: UnsafeMutablePointer<Float>) {
        time("resampleConvolutionBackward") {
            base.resampleConvolutionBackward(dResampled: dResampled, channels: channels, timeScale: timeScale,
                                             into: dWeight)
        }
    }
    /// `base.negativeExpBackward`, timed.
    public func negativeExpBackward(output: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                    into dInput: UnsafeMutablePointer<Float>, count: Int) {
        time("negativeExpBackward") { base.negativeExpBackward(output: output, dOutput: dOutput, into: dInput, count: count) }
    }
    /// `base.softplusBackward`, timed.
    public func softplusBackward(input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                 into dInput: UnsafeMutablePointer<Float>, count: Int) {
        time("softplusBackward") { base.softplusBackward(input: input, dOutput: dOutput, into: dInput, count: count) }
    }
    /// `base.scatterColumns`, timed.
    public func scatterColumns(_ source: UnsafePointer<Float>, count: Int, rows: Int,
                               into destination: UnsafeMutablePointer<Float>, stride: Int, start: Int) {
        time("scatterColumns") {
            base.scatterColumns(source, count: count, rows: rows, into: destination, stride: stride, start: start)
        }
    }
    /// `base.poolBackward`, timed.
    public func poolBackward(_ dPooled: UnsafePointer<Float>, input: UnsafePointer<Float>, sequences: Int, length: Int, dim: Int,
                             lengths: UnsafePointer<Int32>, pooling: ClassifierPooling,
                             into dInput: UnsafeMutablePointer<Float>) {
        time("poolBackward") {
            base.poolBackward(dPooled, input: input, sequences: sequences, length: length, dim: dim, lengths: lengths,
                              pooling: pooling, into: dInput)
        }
    }
    /// `base.crossEntropy`, timed.
    public func crossEntropy(logits: UnsafeMutablePointer<Float>, rows: Int, classes: Int, stride: Int,
                             targets: UnsafePointer<Int32>, scale: Float, gradient: Bool) -> CrossEntropy.Result {
        time("crossEntropy") {
            base.crossEntropy(logits: logits, rows: rows, classes: classes, stride: stride, targets: targets,
                              scale: scale, gradient: gradient)
        }
    }
}
