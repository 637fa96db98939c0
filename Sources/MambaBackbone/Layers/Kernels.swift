// Small pieces shared by the CPU kernels of the layers: 16-lane loads and stores, the row mapping that lets a kernel
// read a chunk of positions of every sequence in a (b, l, ·) buffer, and the split of a row range into parallel tasks.
import MambaTensor

/// A pointer that may cross into `Parallel.forEach` bodies (the kernels write disjoint parts).
@usableFromInline
struct SendablePointer<Pointee>: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<Pointee>
    @usableFromInline init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    @usableFromInline init(_ pointer: UnsafePointer<Pointee>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

@inline(__always)
func load16(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
}

/// y[j] += x[j] for j in 0..<count, 16 lanes at a time (each element one addition, so the result does not depend on
/// the vector width).
@inline(__always)
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    var j = 0
    while j + 16 <= count { store16(load16(y + j) + load16(x + j), y + j); j += 16 }
    while j < count { y[j] += x[j]; j += 1 }
}

/// Maps the rows of a chunk, numbered r = i · rowsPerSequence + t' (sequence i, chunk position t'), to rows of a
/// (sequences, sequenceStride, ·) buffer: row (i · sequenceStride + start + t'). A contiguous buffer is the map with
/// one sequence.
public struct RowMap: Sendable, Equatable {
    /// The number of sequences (b).
    public var sequences: Int
    /// Rows of each sequence in the chunk.
    public var rowsPerSequence: Int
    /// Rows between the starts of consecutive sequences in the mapped buffer (its l).
    public var sequenceStride: Int
    /// The chunk's first position in each sequence.
    public var start: Int

    /// A general map.
    public init(sequences: Int, rowsPerSequence: Int, sequenceStride: Int, start: Int) {
        self.sequences = sequences
        self.rowsPerSequence = rowsPerSequence
        self.sequenceStride = sequenceStride
        self.start = start
    }

    /// `rows` contiguous rows.
    public static func contiguous(_ rows: Int) -> RowMap {
        RowMap(sequences: 1, rowsPerSequence: rows, sequenceStride: rows, start: 0)
    }

    /// The number of rows in the chunk.
    public var rows: Int { sequences * rowsPerSequence }

    /// The buffer row of chunk row `r`.
    @inline(__always)
    public func callAsFunction(_ r: Int) -> Int {
        let sequence = r / rowsPerSequence
        return sequence * sequenceStride + start + (r - sequence * rowsPerSequence)
    }
}

/// Runs `body(range)` over `count` items split into contiguous ranges, about four per worker, each at least
/// `minimum` items (so small problems stay on one thread).
func parallelRanges(_ count: Int, minimum: Int = 64, _ body: @Sendable (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let tasks = max(1, min(Parallel.threadCount * 4, count / max(1, minimum)))
    if tasks == 1 { body(0..<count); return }
    Parallel.forEach(tasks) { task in
        body(task * count / tasks ..< (task + 1) * count / tasks)
    }
}
