// A batch of variable-length sequences as the model takes it: one flat row-major (b, l) buffer, each row a sequence
// followed by padding (never before it: the recurrent scan reads left to right, so leading padding would run
// through the state), and the real length of each row.

/// `b` sequences padded at their ends to a common length `l`, stored row-major: `values[row * length + position]`.
///
/// ```swift
/// let batch = try SequenceBatch(sequences: [[7, 8, 9], [10]], padding: DNATokenizer.pad)
/// // batch.values == [7, 8, 9, 10, 4, 4], batch.lengths == [3, 1], batch.length == 3
/// ```
///
/// Token ids are `SequenceBatch<Int32>`, audio samples `SequenceBatch<Float>` (`SampleBatch`); the model takes token ids
/// as `MambaBackbone.TokenBatch`.
public struct SequenceBatch<Element: Sendable & Equatable>: Sendable, Equatable {
    /// b × l values, row-major; positions at and after `lengths[row]` hold `padding`.
    public let values: [Element]
    /// The real length of each row (b of them), each at most `length`.
    public let lengths: [Int]
    /// l: the length every row is padded to.
    public let length: Int
    /// The padding value.
    public let padding: Element

    /// b: the number of rows.
    public var batchSize: Int { lengths.count }

    /// Pads `sequences` at their ends into one batch.
    ///
    /// - Parameters:
    ///   - sequences: the rows, each of length 0 ... l.
    ///   - padding: the value written after each row's end.
    ///   - length: the row length l; nil (default) takes the longest sequence.
    ///   - lengthMultiple: round l up to a multiple of this (e.g. 8, for kernels that process blocks); default 1.
    /// - Throws: `BatchingError.emptyBatch` for no sequences; `.sequenceTooLong` for a sequence longer than a given
    ///   `length`; `.invalidArgument` for a negative `length` or a `lengthMultiple` below 1.
    public init<S: Collection>(sequences: S, padding: Element, length: Int? = nil, lengthMultiple: Int = 1)
        throws(BatchingError) where S.Element: Collection, S.Element.Element == Element
    {
        guard !sequences.isEmpty else { throw .emptyBatch }
        guard lengthMultiple >= 1 else {
            throw .invalidArgument("a length multiple must be at least 1, got \(lengthMultiple)")
        }
        let lengths = sequences.map(\.count)
        var l: Int
        if let length {
            guard length >= 0 else { throw .invalidArgument("a batch length must be at least 0, got \(length)") }
            if let row = lengths.firstIndex(where: { $0 > length }) {
                throw .sequenceTooLong(row: row, length: lengths[row], limit: length)
            }
            l = length
        } else {
            l = lengths.max()!
        }
        l = (l + lengthMultiple - 1) / lengthMultiple * lengthMultiple
        var values: [Element] = []
        values.reserveCapacity(lengths.count * l)
        for sequence in sequences {
            values.append(contentsOf: sequence)
            values.append(contentsOf: repeatElement(padding, count: l - sequence.count))
        }
        self.values = values
        self.lengths = lengths
        self.length = l
        self.padding = padding
    }

    /// The real elements of row `row` (without padding).
    public func sequence(_ row: Int) -> ArraySlice<Element> {
        values[(row * length)..<(row * length + lengths[row])]
    }

    /// Row `row` in full, padding included.
    public func row(_ row: Int) -> ArraySlice<Element> {
        values[(row * length)..<((row + 1) * length)]
    }

    /// b × l flags, row-major: 1 for a real element, 0 for padding (multiply a per-position loss by it).
    public var mask: [Float] {
        var mask = [Float](repeating: 0, count: values.count)
        for (row, n) in lengths.enumerated() {
            for position in 0..<n { mask[row * length + position] = 1 }
        }
        return mask
    }
}

/// A batch of audio samples (one channel).
public typealias SampleBatch = SequenceBatch<Float>
