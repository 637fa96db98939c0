// Seeded, resumable shuffling into batches: epoch after epoch, each a fresh permutation of the index set drawn from
// one running generator. The position (epoch, how far into it, and the generator's state at the epoch's start) is
// Codable: saved with a training checkpoint and restored, the run continues with exactly the batches it would have
// had without the interruption.

/// Hands out batches of dataset indices, shuffled per epoch from a seed, and can resume from a saved `Position`.
///
/// ```swift
/// var batcher = try Batcher(count: dataset.count, batchSize: 32, seed: 7)
/// let batch = batcher.next()                  // batch.indices: 32 indices, batch.epoch, batch.index
/// let saved = try JSONEncoder().encode(batcher.position)
/// ...
/// var resumed = try Batcher(count: dataset.count, batchSize: 32, seed: 7)
/// try resumed.restore(JSONDecoder().decode(Batcher.Position.self, from: saved))   // continues where it left off
/// ```
///
/// Epoch e's order is the index set shuffled (Fisher-Yates, see `ShuffleGenerator`) by the generator as epoch e−1
/// left it; epoch 0 starts from xoshiro256** seeded with `seed` through SplitMix64. Batches are consecutive runs of
/// that order; the last batch of an epoch is shorter unless `dropLast` leaves it out. `next()` never ends: it moves
/// on to the next epoch (watch `Batch.epoch`).
public struct Batcher: Sendable {
    /// One batch: which dataset indices, and where it falls in the run.
    public struct Batch: Sendable, Equatable {
        /// The epoch, from 0.
        public var epoch: Int
        /// The batch's number within its epoch, from 0.
        public var index: Int
        /// The dataset indices, in batch order.
        public var indices: [Int]
    }

    /// What a position must match to be restored: the settings the order depends on.
    public struct Fingerprint: Sendable, Equatable, Codable {
        /// The number of indices.
        public var count: Int
        /// FNV-1a (64-bit) of the indices in the order given, so a different subset of the same size is caught.
        public var indicesChecksum: UInt64
        /// Indices per batch.
        public var batchSize: Int
        /// The seed.
        public var seed: UInt64
        /// Whether epochs are shuffled.
        public var shuffle: Bool
        /// Whether a short last batch is left out.
        public var dropLast: Bool
    }

    /// Where a run stands: enough to continue it exactly.
    public struct Position: Sendable, Equatable, Codable {
        /// The current epoch, from 0.
        public var epoch: Int
        /// How many indices of the epoch's order have been handed out.
        public var offset: Int
        /// The generator's four state words at the start of `epoch`, before its shuffle.
        public var generatorState: [UInt64]
        /// The batcher this position belongs to.
        public var fingerprint: Fingerprint
    }

    /// The index set, in the order given (the order before shuffling, and the order of every epoch without it).
    public let indices: [Int]
    /// Indices per batch (the last batch of an epoch may have fewer unless `dropLast`).
    public let batchSize: Int
    /// The seed of epoch 0's generator.
    public let seed: UInt64
    /// Whether each epoch is shuffled.
    public let shuffle: Bool
    /// Whether an epoch's short last batch is left out.
    public let dropLast: Bool

    private var generator: ShuffleGenerator
    private var epochStartState: [UInt64]
    private var order: [Int]
    private var epoch = 0
    private var offset = 0

    /// A batcher over `indices`.
    ///
    /// - Throws: `BatchingError.invalidArgument` for a `batchSize` below 1, an empty index set, or (with `dropLast`)
    ///   fewer indices than one batch, which would give epochs without batches.
    public init(indices: [Int], batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false)
        throws(BatchingError)
    {
        guard batchSize >= 1 else { throw .invalidArgument("a batch size must be at least 1, got \(batchSize)") }
        guard !indices.isEmpty else { throw .invalidArgument("a batcher needs at least one index, got none") }
        if dropLast && indices.count < batchSize {
            throw .invalidArgument("with dropLast, \(indices.count) indices give no batch of \(batchSize)")
        }
        self.indices = indices
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        self.dropLast = dropLast
        generator = ShuffleGenerator(seed: seed)
        epochStartState = generator.state
        order = indices
        if shuffle { generator.shuffle(&order) }
    }

    /// A batcher over the indices `0..<count`.
    ///
    /// - Throws: as `init(indices:...)`.
    public init(count: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false)
        throws(BatchingError)
    {
        try self.init(indices: Array(0..<max(count, 0)), batchSize: batchSize, seed: seed, shuffle: shuffle,
                      dropLast: dropLast)
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int {
        dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize
    }

    /// The number of indices an epoch hands out (all of them, or the whole batches only with `dropLast`).
    private var epochLength: Int { dropLast ? indices.count / batchSize * batchSize : indices.count }

    /// The next batch, starting the next epoch when the current one is used up.
    public mutating func next() -> Batch {
        if offset >= epochLength {
            epoch += 1
            offset = 0
            epochStartState = generator.state
            order = indices
            if shuffle { generator.shuffle(&order) }
        }
        let end = min(offset + batchSize, epochLength)
        let batch = Batch(epoch: epoch, index: offset / batchSize, indices: Array(order[offset..<end]))
        offset = end
        return batch
    }

    /// The settings a saved position must match.
    public var fingerprint: Fingerprint {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for index in indices {
            var v = UInt64(bitPattern: Int64(index))
            for _ in 0..<8 {
                hash = (hash ^ (v & 0xFF)) &* 0x0000_0100_0000_01B3
                v >>= 8
            }
        }
        return Fingerprint(count: indices.count, indicesChecksum: hash, batchSize: batchSize, seed: seed,
                           shuffle: shuffle, dropLast: dropLast)
    }

    /// Where the run stands now; `restore` continues from it.
    public var position: Position {
        Position(epoch: epoch, offset: offset, generatorState: epochStartState, fingerprint: fingerprint)
    }

    /// Continues from `position`, as saved by a batcher with the same indices and settings: the following batches
    /// are those that batcher would have given next.
    ///
    /// - Throws: `BatchingError.positionMismatch` naming the first setting that differs; `.invalidPosition` for a
    ///   negative epoch, an offset outside the epoch, or a generator state that is not four words, not all zero.
    public mutating func restore(_ position: Position) throws(BatchingError) {
        let mine = fingerprint
        let theirs = position.fingerprint
        let fields: [(String, String, String)] = [
            ("the index count", "\(mine.count)", "\(theirs.count)"),
            ("the index checksum", "\(mine.indicesChecksum)", "\(theirs.indicesChecksum)"),
            ("the batch size", "\(mine.batchSize)", "\(theirs.batchSize)"),
            ("the seed", "\(mine.seed)", "\(theirs.seed)"),
            ("shuffle", "\(mine.shuffle)", "\(theirs.shuffle)"),
            ("dropLast", "\(mine.dropLast)", "\(theirs.dropLast)"),
        ]
        if let differing = fields.first(where: { $0.1 != $0.2 }) {
            throw .positionMismatch(field: differing.0, expected: differing.1, found: differing.2)
        }
        guard position.epoch >= 0 else { throw .invalidPosition("epoch \(position.epoch) is negative") }
        guard position.offset >= 0 && position.offset <= epochLength else {
            throw .invalidPosition("offset \(position.offset) is outside the epoch's 0...\(epochLength)")
        }
        guard var restored = ShuffleGenerator(state: position.generatorState) else {
            throw .invalidPosition("the generator state must be four words, not all zero; got "
                + "\(position.generatorState)")
        }
        var restoredOrder = indices
        if shuffle { restored.shuffle(&restoredOrder) }
        generator = restored
        epochStartState = position.generatorState
        order = restoredOrder
        epoch = position.epoch
        offset = position.offset
    }
}
