// Training batches for the DNA classifier: every training record is cut into windows (DNAClassifierSettings: whole
// records up to the window length, else full windows every stride bases plus one ending at the record's end), each
// window labelled with its record's class; epochs shuffle the windows (Batcher), and with RC augmentation each
// window is optionally cut to a random run of its bases and reverse-complemented with probability 1/2, drawn from a second seeded generator whose state is part of
// the position, so a resumed run sees exactly the batches it would have seen.
import Foundation
import MambaBackbone
import MambaTensor
import MambaTokenizers
import MambaTraining

/// A resumable stream of labelled DNA windows.
public struct DNAWindowSource: TrainingDataSource {
    /// Where the stream stands.
    public struct Position: Codable, Equatable, Sendable {
        /// The window order's position.
        public var batcher: Batcher.Position
        /// The augmentation generator's state.
        public var augmentation: [UInt64]
    }

    /// Encoded records.
    public let records: [[Int32]]
    /// Each record's class index.
    public let labels: [Int32]
    /// The training windows, over all records.
    public let windows: [Window]
    /// Reverse-complement half of the windows, at random.
    public let rcAugment: Bool
    /// Random cropping: each window is cut to a random run of its bases, the run's length drawn uniformly between
    /// this fraction of the window and all of it (1: no cropping).
    public let cropFraction: Double
    private var batcher: Batcher
    private var generator: Xoshiro256StarStar

    /// A source over `records` (token ids) with `labels` (class indices).
    public init(records: [[Int32]], labels: [Int32], settings: DNAClassifierSettings, rcAugment: Bool,
                cropFraction: Double = 1, batchSize: Int, seed: UInt64) throws {
        guard cropFraction > 0, cropFraction <= 1 else {
            throw DNAModelError.input("crop fraction: expected a value in (0, 1], found \(cropFraction)")
        }
        guard records.count == labels.count, !records.isEmpty else {
            throw DNAModelError.input("expected one label per record and at least one record, found \(records.count) records and \(labels.count) labels")
        }
        if let empty = records.firstIndex(where: { $0.isEmpty }) {
            throw DNAModelError.input("training record \(empty): expected at least one base, found none")
        }
        self.records = records
        self.labels = labels
        self.windows = records.enumerated().flatMap { settings.windows(sequenceLength: $0.element.count, sequence: $0.offset) }
        self.rcAugment = rcAugment
        self.cropFraction = cropFraction
        self.batcher = try Batcher(count: windows.count, batchSize: batchSize, seed: seed, shuffle: true, dropLast: windows.count > batchSize)
        self.generator = Xoshiro256StarStar(seed: seed ^ 0xDA7A_5EED)
    }

    /// The next batch of windows (padded to its longest, with lengths).
    public mutating func next() throws -> TrainingBatch {
        let batch = batcher.next()
        var sequences: [[Int32]] = []
        var targets: [Int32] = []
        for index in batch.indices {
            let window = windows[index]
            var range = window.range
            if cropFraction < 1, range.count > 1 {
                let n = range.count
                let u = Double(generator.next() >> 11) * 0x1p-53
                let keep = min(n, max(1, Int((Double(n) * (cropFraction + (1 - cropFraction) * u)).rounded(.up))))
                let start = range.lowerBound + Int(generator.next() % UInt64(n - keep + 1))
                range = start..<(start + keep)
            }
            var ids = Array(records[window.sequence][range])
            if rcAugment, generator.next() & 1 == 1 { DNATokenizer.reverseComplementInPlace(&ids) }
            sequences.append(ids)
            targets.append(labels[window.sequence])
        }
        return TrainingBatch(tokens: try MambaBackbone.TokenBatch(sequences: sequences, padding: DNATokenizer.pad),
                             objective: .classification(labels: targets))
    }

    /// Where the stream stands.
    public var position: Position { Position(batcher: batcher.position, augmentation: generator.state) }

    /// Continues from a saved position of a source over the same windows and settings.
    public mutating func restore(_ position: Position) throws {
        do {
            try batcher.restore(position.batcher)
        } catch {
            throw TrainingError.data("DNA window order: \(error)")
        }
        guard let restored = Xoshiro256StarStar(state: position.augmentation) else {
            throw TrainingError.data("DNA augmentation generator: expected four state words, not all zero, found \(position.augmentation)")
        }
        generator = restored
    }

    /// Batches per pass over the windows.
    public var batchesPerEpoch: Int? { batcher.batchesPerEpoch }
}
