// Synthetic tasks as training data: a fresh batch from the generator at every step (as the paper's "randomly
// generating data every step"), resumable through the generator's state; fixed validation sets drawn from another
// seed; and accuracy at several lengths (length generalisation).
import Foundation
import MambaBackbone
import MambaTensor

/// An endless, resumable stream of batches of a synthetic task (objective: the task's per-position targets).
public struct SyntheticData<Task: SyntheticTask>: TrainingDataSource {
    /// The stream's state: the generator and how many batches it has drawn, plus the task's identity (checked on
    /// restore).
    public struct Position: Codable, Equatable, Sendable {
        /// The generator's state.
        public var generator: Xoshiro256StarStar
        /// Batches drawn so far.
        public var batches: Int
        /// The task's name and length (a position of another task is refused).
        public var task: String
        /// Sequence length.
        public var length: Int
        /// Sequences per batch.
        public var batchSize: Int
    }

    /// The task.
    public let task: Task
    /// Sequences per batch.
    public let batchSize: Int
    private var generator: Xoshiro256StarStar
    private var batches = 0

    /// A stream seeded with `seed`.
    public init(task: Task, batchSize: Int, seed: UInt64) throws {
        guard batchSize >= 1 else { throw TrainingError.invalidOption("batch size: expected >= 1, found \(batchSize)") }
        self.task = task
        self.batchSize = batchSize
        self.generator = Xoshiro256StarStar(seed: seed)
    }

    /// The next batch.
    public mutating func next() throws -> TrainingBatch {
        batches += 1
        let batch = SyntheticBatch(task, count: batchSize, generator: &generator)
        return TrainingBatch(tokens: batch.tokens, objective: .tokenTargets(targets: batch.targets))
    }

    /// Where the stream stands.
    public var position: Position {
        Position(generator: generator, batches: batches, task: task.name, length: task.length, batchSize: batchSize)
    }

    /// Continues from `position`; refuses one of another task, length or batch size.
    public mutating func restore(_ position: Position) throws {
        guard position.task == task.name, position.length == task.length, position.batchSize == batchSize else {
            throw TrainingError.data(
                "expected a data position of \(task.name) at length \(task.length), batch \(batchSize); found \(position.task) at length \(position.length), batch \(position.batchSize)")
        }
        generator = position.generator
        batches = position.batches
    }

    /// Endless.
    public var batchesPerEpoch: Int? { nil }

    /// `count` fixed batches of `task` from `seed` (validation and test sets).
    public static func fixedBatches(_ task: Task, count: Int, batchSize: Int, seed: UInt64) -> [TrainingBatch] {
        var generator = Xoshiro256StarStar(seed: seed)
        return (0..<count).map { _ in
            let batch = SyntheticBatch(task, count: batchSize, generator: &generator)
            return TrainingBatch(tokens: batch.tokens, objective: .tokenTargets(targets: batch.targets))
        }
    }
}

/// The accuracy of a model on a task at one length.
public struct LengthAccuracy: Sendable, Equatable {
    /// Sequence length.
    public var length: Int
    /// Mean loss over scored positions.
    public var loss: Double
    /// Correct / scored.
    public var accuracy: Double
    /// Scored positions.
    public var count: Int
}

extension SyntheticTask {
    /// The model's accuracy on `sequences` fresh examples (from `seed`) at each of `lengths`, in batches of at most
    /// `batchSize` sequences (fewer at long lengths, so a batch stays under about `tokensPerBatch` tokens).
    public func accuracy<Model: Trainable>(of model: Model, lengths: [Int], sequences: Int, batchSize: Int,
                                           tokensPerBatch: Int = 1 << 16, seed: UInt64) throws -> [LengthAccuracy]
    where Model.Batch == TrainingBatch {
        try lengths.map { length in
            let task = try withLength(length)
            var generator = Xoshiro256StarStar(seed: seed &+ UInt64(length))
            var total = LossStatistics.empty
            var remaining = sequences
            let perBatch = max(1, min(batchSize, tokensPerBatch / length))
            while remaining > 0 {
                let count = min(perBatch, remaining)
                let batch = SyntheticBatch(task, count: count, generator: &generator)
                total.merge(try model.evaluate(TrainingBatch(tokens: batch.tokens,
                                                             objective: .tokenTargets(targets: batch.targets))))
                remaining -= count
            }
            return LengthAccuracy(length: length, loss: total.loss, accuracy: total.accuracy ?? 0, count: total.count)
        }
    }
}
