// Shared pieces of the scan kernels (SelectiveScan, S4DScan).
//
// Dimensions (as mamba-minimal): b batch, l sequence length, d channels (d_inner), n state size.
// The fused kernels vectorise over d in blocks of `scanBlockWidth` channels (one SIMD16<Float>); a block is one
// task for Parallel.forEach, so the work splits over b × ceil(d / 16) tasks. The state of a block is held as n
// SIMD16 vectors (n-major, "A transposed to (n, d) blocks"), 64·n bytes, which stays in L1.
import MambaTensor

/// The sizes of a scan: b batch, l length, d channels (d_inner), n state size.
public struct ScanDimensions: Sendable, Hashable, CustomStringConvertible {
    /// b: sequences in the batch.
    public let batch: Int
    /// l: time steps per sequence.
    public let length: Int
    /// d: independent channels (d_inner in Mamba).
    public let channels: Int
    /// n: state size per channel (d_state).
    public let state: Int

    /// Sizes must be >= 0.
    public init(batch: Int, length: Int, channels: Int, state: Int) {
        precondition(batch >= 0 && length >= 0 && channels >= 0 && state >= 0,
                     "ScanDimensions: sizes must be >= 0, got b=\(batch) l=\(length) d=\(channels) n=\(state)")
        self.batch = batch
        self.length = length
        self.channels = channels
        self.state = state
    }

    /// The number of chunks of `chunkLength` steps covering the length: ceil(l / chunkLength).
    public func chunkCount(chunkLength: Int) -> Int {
        precondition(chunkLength >= 1, "ScanDimensions.chunkCount: chunkLength must be >= 1, got \(chunkLength)")
        return (length + chunkLength - 1) / chunkLength
    }

    /// "b=… l=… d=… n=…".
    public var description: String { "b=\(batch) l=\(length) d=\(channels) n=\(state)" }
}

/// Channels per SIMD block of the fused kernels.
let scanBlockWidth = 16

/// The valid length of sequence `index`: lengths[index] clamped to [0, l], or l without lengths.
@inline(__always)
func validLength(_ lengths: UnsafePointer<Int32>?, _ index: Int, _ length: Int) -> Int {
    guard let lengths else { return length }
    return min(max(Int(lengths[index]), 0), length)
}

/// Loads `width` (1...16) consecutive Floats into the low lanes; the other lanes are 0. Never reads past `width`.
@inline(__always)
func loadBlock(_ pointer: UnsafePointer<Float>, _ width: Int) -> SIMD16<Float> {
    if width == scanBlockWidth { return UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self) }
    var value = SIMD16<Float>()
    for lane in 0..<width { value[lane] = pointer[lane] }
    return value
}

/// Stores the low `width` (1...16) lanes of `value` to consecutive Floats.
@inline(__always)
func storeBlock(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>, _ width: Int) {
    if width == scanBlockWidth {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
        return
    }
    for lane in 0..<width { pointer[lane] = value[lane] }
}

/// Reads a (d, n)-layout matrix's rows d0..<d0+width into n-major SIMD blocks: block[k][j] = matrix[(d0 + j)·n + k];
/// lanes j >= width are 0.
@inline(__always)
func gatherTransposed(
    _ matrix: UnsafePointer<Float>, firstChannel d0: Int, width: Int, state n: Int,
    into block: UnsafeMutablePointer<SIMD16<Float>>
) {
    for k in 0..<n { block[k] = SIMD16<Float>() }
    for j in 0..<width {
        let row = matrix + (d0 + j) * n
        for k in 0..<n { block[k][j] = row[k] }
    }
}

/// The inverse of `gatherTransposed` for the low `width` lanes.
@inline(__always)
func scatterTransposed(
    _ block: UnsafePointer<SIMD16<Float>>, firstChannel d0: Int, width: Int, state n: Int,
    into matrix: UnsafeMutablePointer<Float>
) {
    for j in 0..<width {
        let row = matrix + (d0 + j) * n
        for k in 0..<n { row[k] = block[k][j] }
    }
}

/// Raw pointers carried into `Parallel.forEach` bodies (which must be @Sendable). The callers guarantee that the
/// buffers outlive the loop and that tasks write disjoint parts.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
