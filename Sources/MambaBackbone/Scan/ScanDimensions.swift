// Shared pieces of the scan kernels (SelectiveScan, S4DScan).
//
// Dimensions (as mamba-minimal): b batch, l sequence length, d channels (d_inner), n state size.
// The fused kernels vectorise over d in blocks of `scanBlockWidth` channels (one SIMD16<Float>). The state of a block
// is held as n SIMD16 vectors (n-major: "A transposed to (n, d) blocks"). A task of Parallel.forEach is one sequence
// and a contiguous group of blocks; it walks time in the outer loop and the group's blocks in the inner loop, so that
// u, delta, z, y are read and written row after row (contiguous memory). Walking one block through all of time
// instead reads 64 bytes from rows 2 KB apart, which the hardware prefetchers serve badly: measured 1.8x slower for
// the selective scan and 1.9x for S4D (b=1, l=4096, d=512, n=16, one thread, CPU time).
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

/// How a fused kernel splits (b, d) into tasks: each task is one sequence and `blocksPerGroup` consecutive channel
/// blocks (fewer in the last group). Groups are small enough for their working set (`bytesPerBlock` each: state,
/// transposed parameters) to stay in L2, and numerous enough to give every thread work when b is small.
struct ScanPartition {
    let blocks: Int, blocksPerGroup: Int, groupsPerSequence: Int

    init(_ dims: ScanDimensions, bytesPerBlock: Int, threads: Int) {
        blocks = (dims.channels + scanBlockWidth - 1) / scanBlockWidth
        let workingSetBudget = 256 * 1024
        let largestGroup = max(1, workingSetBudget / max(bytesPerBlock, 1))
        var groups = max((blocks + largestGroup - 1) / largestGroup,
                         min(blocks, (threads + max(dims.batch, 1) - 1) / max(dims.batch, 1)))
        groups = max(groups, 1)
        blocksPerGroup = max(1, (blocks + groups - 1) / groups)
        groupsPerSequence = blocks == 0 ? 0 : (blocks + blocksPerGroup - 1) / blocksPerGroup
    }

    /// The blocks of group `index` (0..<groupsPerSequence).
    func blockRange(_ index: Int) -> Range<Int> {
        (index * blocksPerGroup)..<min((index + 1) * blocksPerGroup, blocks)
    }
}

/// Heap scratch of `count` SIMD16 vectors (64-byte aligned), zeroed; the caller deallocates. (Not the stack: a
/// group's working set can exceed a worker thread's stack.)
@inline(__always)
func allocateVectors(_ count: Int) -> UnsafeMutablePointer<SIMD16<Float>> {
    let pointer = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: max(count, 1))
    pointer.initialize(repeating: SIMD16<Float>(), count: max(count, 1))
    return pointer
}

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

// MARK: - Backward pieces

extension ScanPartition {
    /// A partition fixed by the sizes alone: `blocksPerGroup` blocks per task (fewer when d is smaller). The backward
    /// kernels use it so that their results do not depend on `Parallel.threadCount`: a task's sums over time, and
    /// the order in which task partials are added, are then the same for every thread count.
    init(_ dims: ScanDimensions, blocksPerGroup wanted: Int) {
        blocks = (dims.channels + scanBlockWidth - 1) / scanBlockWidth
        blocksPerGroup = max(1, min(wanted, blocks))
        groupsPerSequence = blocks == 0 ? 0 : (blocks + blocksPerGroup - 1) / blocksPerGroup
    }
}

/// Channel blocks per task of the backward kernels: 8 blocks (128 channels). A selective-scan task reduces dB and dC
/// over its channels once per row (2 lane reductions of n vectors), which costs about 6% of the row's work at 8
/// blocks and 25% at 2; (b, l, groups, n) partials are then added across groups. With d = 512 that is 4 tasks per
/// sequence.
let backwardBlocksPerGroup = 8

/// The steps whose states the backward kernels hold at once (a segment of a chunk): the chunk length, capped so that a
/// block's state history (segment × n vectors of 64 bytes) stays within 64 KB (64 steps at n = 16). Chunks longer
/// than that are first walked forward once to find the states at their segment starts.
func backwardSegmentLength(chunkLength: Int, state n: Int) -> Int {
    let cap = max(8, 65_536 / max(64 * n, 1))
    return max(1, min(chunkLength, cap))
}

/// out[k] = the sum of the 16 lanes of vectors[k], for k < count. Reads `vectors` in groups of 16, so the caller
/// provides count rounded up to a multiple of 16 vectors, the extra ones zero. The lanes are added in a fixed tree
/// (pairs of neighbouring lanes first), the same on every call: the sums are deterministic.
@inline(__always)
func sumLanes(_ vectors: UnsafePointer<SIMD16<Float>>, count: Int, into out: UnsafeMutablePointer<Float>) {
    typealias V = SIMD16<Float>
    // Lanes 0-7: neighbouring pairs of x summed; lanes 8-15: those of y.
    @inline(__always) func pairs(_ x: V, _ y: V) -> V {
        V(lowHalf: x.evenHalf, highHalf: y.evenHalf) + V(lowHalf: x.oddHalf, highHalf: y.oddHalf)
    }
    var first = 0
    while first < count {
        let v = vectors + first
        // Four levels of `pairs` leave lane i holding the sum of v[i] (traced in ScanBackwardTests.sumLanesOrder).
        let p0 = pairs(v[0], v[1]), p1 = pairs(v[2], v[3]), p2 = pairs(v[4], v[5]), p3 = pairs(v[6], v[7])
        let p4 = pairs(v[8], v[9]), p5 = pairs(v[10], v[11]), p6 = pairs(v[12], v[13]), p7 = pairs(v[14], v[15])
        let q0 = pairs(p0, p1), q1 = pairs(p2, p3), q2 = pairs(p4, p5), q3 = pairs(p6, p7)
        let r0 = pairs(q0, q1), r1 = pairs(q2, q3)
        let sums = pairs(r0, r1)
        let lanes = min(scanBlockWidth, count - first)
        storeBlock(sums, out + first, lanes)
        first += scanBlockWidth
    }
}

