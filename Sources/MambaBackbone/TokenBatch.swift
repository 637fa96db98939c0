// A batch of token sequences of possibly different lengths, right-padded to one length.
import Foundation

/// Token ids (b, l), row-major, with each sequence's valid length; positions at or past a sequence's length are
/// padding: their ids are ignored (not even range-checked) and they change neither state nor pooled outputs.
public struct TokenBatch: Sendable, Equatable {
    /// b.
    public let batch: Int
    /// l (the padded length).
    public let length: Int
    /// (b, l) ids.
    public let ids: [Int32]
    /// (b) valid lengths, each in 0...l.
    public let lengths: [Int]

    /// A batch; `lengths` nil means every sequence is full length. Throws `ModelInputError` on inconsistent sizes.
    public init(ids: [Int32], batch: Int, length: Int, lengths: [Int]? = nil) throws {
        guard batch >= 1, length >= 1 else {
            throw ModelInputError("expected a batch of at least one sequence of at least one token, found (\(batch), \(length))")
        }
        let (count, overflow) = batch.multipliedReportingOverflow(by: length)
        guard !overflow, ids.count == count else {
            throw ModelInputError("expected \(batch) × \(length) token ids, found \(ids.count)")
        }
        let lengths = lengths ?? Array(repeating: length, count: batch)
        guard lengths.count == batch else {
            throw ModelInputError("expected \(batch) lengths, found \(lengths.count)")
        }
        if let bad = lengths.firstIndex(where: { $0 < 0 || $0 > length }) {
            throw ModelInputError("sequence \(bad): expected a length in 0...\(length), found \(lengths[bad])")
        }
        self.batch = batch
        self.length = length
        self.ids = ids
        self.lengths = lengths
    }

    /// Right-pads ragged sequences with `padding` to the longest length.
    public init(sequences: [[Int32]], padding: Int32 = 0) throws {
        let length = sequences.map(\.count).max() ?? 0
        var ids: [Int32] = []
        ids.reserveCapacity(sequences.count * length)
        for sequence in sequences {
            ids += sequence
            ids += Array(repeating: padding, count: length - sequence.count)
        }
        try self.init(ids: ids, batch: sequences.count, length: length, lengths: sequences.map(\.count))
    }
}

/// Input the model cannot use: what was expected, what was found, and where (sequence, position).
public struct ModelInputError: Error, CustomStringConvertible, Equatable {
    /// The message.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
