// Where the training loop's batches come from. A source is a resumable stream: its `position` (a Codable value that
// includes any random generator's state) is saved in each checkpoint, and `restore` makes the source produce exactly
// the batches it would have produced next at that point.
import Foundation

/// A resumable stream of training batches.
public protocol TrainingDataSource {
    /// The batch type the model consumes.
    associatedtype Batch
    /// Everything needed to continue the stream exactly (indices, epoch, generator state).
    associatedtype Position: Codable & Equatable

    /// The next batch.
    mutating func next() throws -> Batch

    /// Where the stream stands now.
    var position: Position { get }

    /// Continues from `position` (as `position` returned it, possibly in another process). Throws
    /// `TrainingError.data` when the position does not belong to this source (other data, other settings).
    mutating func restore(_ position: Position) throws

    /// Batches in one pass over the data; nil for an endless generator (the synthetic tasks).
    var batchesPerEpoch: Int? { get }
}
