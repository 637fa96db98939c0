// Errors of windowing, batching and the shuffling batcher.

/// An error planning windows, building a batch, or resuming a batcher.
public enum BatchingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A parameter outside its accepted range (window length, hop, batch size, ...); the message says which.
    case invalidArgument(String)
    /// A batch was asked of no sequences.
    case emptyBatch
    /// Sequence `row` of a batch is longer than the fixed batch length.
    case sequenceTooLong(row: Int, length: Int, limit: Int)
    /// A saved batcher position does not belong to this batcher: `field` differs (`expected` is this batcher's
    /// value, `found` the position's).
    case positionMismatch(field: String, expected: String, found: String)
    /// A saved batcher position is inconsistent in itself (an offset past the epoch's end, a zero generator state).
    case invalidPosition(String)

    /// The error in words.
    public var description: String {
        switch self {
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        case .emptyBatch:
            return "a batch needs at least one sequence, got none"
        case .sequenceTooLong(let row, let length, let limit):
            return "sequence \(row) of the batch has \(length) elements, more than the batch length \(limit) "
                + "(cut it into windows first, or leave the length to the longest sequence)"
        case .positionMismatch(let field, let expected, let found):
            return "the saved position belongs to another batcher: \(field) is \(found) there, \(expected) here"
        case .invalidPosition(let reason):
            return "invalid saved batcher position: \(reason)"
        }
    }
}
