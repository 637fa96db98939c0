// Causal language-model data: token sequences (e.g. DNA records) cut into windows (MambaTokenizers' `Windows`), the
// windows handed out in batches by the resumable, seeded `Batcher` (a fresh shuffle each epoch), each batch a
// right-padded TokenBatch with the next-token objective. The position saved in checkpoints is the Batcher's.
//
// Memory: the tokens are kept as bytes (vocabularies up to 256 ids, the DNA tokenizer's 12), one byte per base, plus
// one `Window` per window.
import Foundation
import MambaBackbone
import MambaGenomics
import MambaTensor
import MambaTokenizers

/// Token sequences held as bytes (ids 0...255).
public struct TokenCorpus: Sendable {
    /// The sequences' tokens.
    public private(set) var sequences: [[UInt8]] = []
    /// A name per sequence (FASTA id), for messages.
    public private(set) var names: [String] = []

    /// An empty corpus.
    public init() {}

    /// Adds a sequence; throws when an id is outside 0...255.
    public mutating func append(_ tokens: [Int32], name: String) throws {
        if let bad = tokens.firstIndex(where: { $0 < 0 || $0 > 255 }) {
            throw TrainingError.data("sequence '\(name)', position \(bad): token id \(tokens[bad]) is outside 0...255")
        }
        sequences.append(tokens.map { UInt8(truncatingIfNeeded: $0) })
        names.append(name)
    }

    /// Total tokens.
    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

    /// Reads FASTA / FASTA.gz files (streaming, one record at a time) and encodes each record with `tokenizer`
    /// (HyenaDNA/Caduceus character ids). Errors name the file, line, record and position.
    public static func dna(paths: [String], tokenizer: DNATokenizer = DNATokenizer()) throws -> TokenCorpus {
        var corpus = TokenCorpus()
        for path in paths {
            let reader = try FASTAReader(path: path)
            while let record = try reader.next() {
                let tokens: [Int32]
                do {
                    tokens = try tokenizer.encode(record.sequence)
                } catch {
                    throw TrainingError.data("\(path), record '\(record.id)' (line \(record.headerLine)): \(error)")
                }
                try corpus.append(tokens, name: record.id)
            }
            if reader.recordsRead == 0 {
                throw TrainingError.data("\(path): no FASTA records (expected at least one '>' header line)")
            }
        }
        return corpus
    }
}

/// Next-token batches from windows of a `TokenCorpus`.
public struct TokenWindowData: TrainingDataSource {
    /// The Batcher's position (epoch, offset, generator state, and a fingerprint of the window set).
    public struct Position: Codable, Equatable, Sendable {
        /// Where the batcher stands.
        public var batcher: Batcher.Position
    }

    /// The tokens.
    public let corpus: TokenCorpus
    /// The windows trained on (each with at least two valid tokens: one prediction).
    public let windows: [Window]
    /// Windows per batch.
    public let batchSize: Int
    /// The id written at padded positions (ignored by the model).
    public let padding: Int32
    private var batcher: Batcher

    /// Batches of `batchSize` windows of `windows`, shuffled per epoch from `seed`. Epochs drop their short last
    /// batch when there are at least `batchSize` windows (every step then has the same shape).
    public init(corpus: TokenCorpus, windows: [Window], batchSize: Int, seed: UInt64, padding: Int32) throws {
        guard !windows.isEmpty else {
            throw TrainingError.data("no training windows: every sequence is shorter than two tokens")
        }
        for window in windows where window.sequence >= corpus.sequences.count
            || window.end > corpus.sequences[window.sequence].count {
            throw TrainingError.data("window \(window) lies outside the corpus")
        }
        self.corpus = corpus
        self.windows = windows
        self.batchSize = batchSize
        self.padding = padding
        do {
            batcher = try Batcher(count: windows.count, batchSize: batchSize, seed: seed, shuffle: true,
                                  dropLast: windows.count >= batchSize)
        } catch {
            throw TrainingError.invalidOption("\(error)")
        }
    }

    /// The windows (length `length`, consecutive, the last of each sequence padded) with at least two valid tokens,
    /// split into training and validation: a `validationFraction` of them, chosen by a shuffle seeded with `seed`, is
    /// held out (nil or 0: none).
    public static func windows(of corpus: TokenCorpus, length: Int, validationFraction: Double?,
                               seed: UInt64) throws -> (training: [Window], validation: [Window]) {
        let plan: Windows
        do {
            plan = try Windows(length: length, remainder: .pad)
        } catch {
            throw TrainingError.invalidOption("\(error)")
        }
        let all = plan.windows(lengths: corpus.sequences.map(\.count)).filter { $0.validLength >= 2 }
        guard let fraction = validationFraction, fraction > 0 else { return (all, []) }
        guard fraction < 1 else {
            throw TrainingError.invalidOption("validation fraction: expected a value in [0, 1), found \(fraction)")
        }
        var order = Array(all.indices)
        var generator = Xoshiro256StarStar(seed: seed)
        order.shuffle(using: &generator)
        let held = max(1, Int((Double(all.count) * fraction).rounded()))
        guard held < all.count else {
            throw TrainingError.data("only \(all.count) windows: too few to hold out \(held) for validation")
        }
        let validationSet = Set(order.prefix(held))
        return (all.indices.filter { !validationSet.contains($0) }.map { all[$0] },
                order.prefix(held).sorted().map { all[$0] })
    }

    /// The next batch.
    public mutating func next() throws -> TrainingBatch {
        try Self.batch(batcher.next().indices.map { windows[$0] }, corpus: corpus, padding: padding)
    }

    /// A right-padded next-token batch of `windows`.
    public static func batch(_ windows: [Window], corpus: TokenCorpus, padding: Int32) throws -> TrainingBatch {
        let length = windows.map(\.length).max() ?? 1
        var ids = [Int32](repeating: padding, count: windows.count * length)
        for (row, window) in windows.enumerated() {
            let tokens = corpus.sequences[window.sequence]
            for t in 0..<window.validLength { ids[row * length + t] = Int32(tokens[window.start + t]) }
        }
        let tokens = try MambaBackbone.TokenBatch(ids: ids, batch: windows.count, length: length,
                                                  lengths: windows.map(\.validLength))
        return TrainingBatch(tokens: tokens, objective: .nextToken)
    }

    /// Fixed validation batches over `windows` (in order), `batchSize` windows each.
    public static func fixedBatches(_ windows: [Window], corpus: TokenCorpus, batchSize: Int,
                                    padding: Int32) throws -> [TrainingBatch] {
        try stride(from: 0, to: windows.count, by: max(1, batchSize)).map { start in
            try batch(Array(windows[start..<min(windows.count, start + batchSize)]), corpus: corpus, padding: padding)
        }
    }

    /// The Batcher's position.
    public var position: Position { Position(batcher: batcher.position) }

    /// Continues from `position`; refuses one of another window set, batch size or seed.
    public mutating func restore(_ position: Position) throws {
        do {
            try batcher.restore(position.batcher)
        } catch {
            throw TrainingError.data("the saved data position does not fit this data: \(error)")
        }
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int? { batcher.batchesPerEpoch }
}
