// Labelled clips held in memory (mono, each at its own rate, never resampled) and a resumable, shuffled stream of
// batches over them for the training loop.
import Foundation
import MambaAudio
import MambaTensor
import MambaTokenizers
import MambaTraining

/// Clips of a `ClipDataset`, decoded to mono Float samples at their own rates.
public struct LoadedClips: Sendable {
    /// Samples of each clip.
    public var samples: [[Float]]
    /// Rate of each clip (Hz).
    public var rates: [Int]
    /// Class index of each clip (into `labels`).
    public var labelIndices: [Int32]
    /// Class names.
    public var labels: [String]
    /// Each clip's path.
    public var paths: [String]

    /// Decodes every clip of `dataset`; with `normalizePeak`, each clip is scaled to a peak of 0.5 (per-clip
    /// normalisation, an option for recordings of different levels).
    public init(_ dataset: ClipDataset, normalizePeak: Bool = false) throws {
        samples = []
        rates = []
        labelIndices = []
        paths = []
        labels = dataset.labels
        for index in 0..<dataset.count {
            let buffer = try dataset.load(index)
            guard buffer.frames > 0 else {
                throw AudioModelError.input("\(dataset[index].path): expected at least one sample, found an empty clip")
            }
            var clip = buffer.samples
            if normalizePeak {
                let peak = clip.reduce(Float(0)) { max($0, abs($1)) }
                if peak > 0 { clip = clip.map { $0 * (0.5 / peak) } }
            }
            samples.append(clip)
            rates.append(buffer.sampleRate)
            labelIndices.append(Int32(dataset[index].labelIndex))
            paths.append(dataset[index].path)
        }
    }

    /// The number of clips.
    public var count: Int { samples.count }

    /// The clips at `indices` as a batch.
    public func batch(_ indices: some Collection<Int>) -> AudioClipBatch {
        AudioClipBatch(clips: indices.map { samples[$0] }, rates: indices.map { rates[$0] },
                       labels: indices.map { labelIndices[$0] })
    }

    /// Consecutive batches of `size` clips covering every clip once (the last may be smaller).
    public func batches(size: Int) -> [AudioClipBatch] {
        stride(from: 0, to: count, by: max(1, size)).map { batch($0..<min(count, $0 + max(1, size))) }
    }
}

/// Shuffled batches of clips, epoch after epoch (a fresh permutation each epoch); resumable.
public struct ClipBatchSource: TrainingDataSource {
    /// Where the stream stands.
    public struct Position: Codable, Equatable {
        /// Completed epochs.
        public var epoch: Int
        /// The next clip's index in this epoch's order.
        public var cursor: Int
        /// The generator's state at the start of this epoch (the order is redrawn from it on restore).
        public var epochGenerator: [UInt64]
        /// The clip count (a position for other data is refused).
        public var clips: Int
    }

    let clips: LoadedClips
    let batchSize: Int
    let seed: UInt64
    /// Speed perturbation: each clip is presented as if recorded at rate · (1 + u), u uniform in ±speedJitter, so
    /// the rate-aware front end hears it faster or slower (and higher or lower) by that factor (Ko et al. 2015's
    /// speed perturbation, without resampling). 0: off.
    public var speedJitter: Double = 0
    /// Frequency masking (SpecAugment): each clip gets a band of 0 ... frequencyMask filter channels (uniform width,
    /// uniform position) whose features are zeroed. 0: off.
    public var frequencyMask = 0
    /// Time masking (SpecAugment): each clip gets a span of 0 ... timeMask of its frames (a fraction, uniform width,
    /// uniform position) whose features are zeroed. 0: off.
    public var timeMask = 0.0
    /// Filter channels of the model (the range the frequency masks are drawn in).
    public var channels = 0
    var generator: Xoshiro256StarStar
    var epochGenerator: Xoshiro256StarStar
    var order: [Int] = []
    var epoch = 0
    var cursor = 0

    /// A stream of batches of `batchSize` clips, shuffled with `seed`; with feature masks drawn for a model of
    /// `channels` filter channels when `frequencyMask` or `timeMask` is positive.
    public init(clips: LoadedClips, batchSize: Int, seed: UInt64, speedJitter: Double = 0, frequencyMask: Int = 0,
                timeMask: Double = 0, channels: Int = 0) throws {
        guard batchSize >= 1, clips.count >= 1 else {
            throw AudioModelError.settings("expected a batch size >= 1 and at least one clip, found \(batchSize) and \(clips.count)")
        }
        guard speedJitter >= 0, speedJitter < 0.5 else {
            throw AudioModelError.settings("expected a speed jitter in [0, 0.5), found \(speedJitter)")
        }
        guard frequencyMask >= 0, frequencyMask == 0 || frequencyMask < channels else {
            throw AudioModelError.settings("expected a frequency mask of 0 ..< \(channels) channels (the filter channels), found \(frequencyMask)")
        }
        guard timeMask >= 0, timeMask < 1 else {
            throw AudioModelError.settings("expected a time mask fraction in [0, 1), found \(timeMask)")
        }
        self.clips = clips
        self.batchSize = batchSize
        self.seed = seed
        self.speedJitter = speedJitter
        self.frequencyMask = frequencyMask
        self.timeMask = timeMask
        self.channels = channels
        generator = Xoshiro256StarStar(seed: seed)
        epochGenerator = generator
        order = Self.permutation(clips.count, &generator)
    }

    static func permutation(_ count: Int, _ generator: inout Xoshiro256StarStar) -> [Int] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// The next batch (wrapping into a new epoch, never a short batch unless there are fewer clips than a batch).
    public mutating func next() throws -> AudioClipBatch {
        var indices: [Int] = []
        var factors: [Double] = []
        var masks: [FeatureMask?] = []
        while indices.count < min(batchSize, clips.count) {
            if cursor == order.count {
                epoch += 1
                cursor = 0
                epochGenerator = generator
                order = Self.permutation(clips.count, &generator)
            }
            indices.append(order[cursor])
            // The factor is a function of (seed, epoch, cursor): a restored stream draws the same ones.
            var draw = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(cursor) &* 0xBF58_476D_1CE4_E5B9))
            func uniform() -> Double { Double(draw.next() >> 11) / Double(1 << 53) }
            factors.append(1 + speedJitter * (2 * uniform() - 1))
            // Masks from the same (seed, epoch, cursor) draw, after the speed factor (which stays as without masks).
            let width = min(frequencyMask, Int(uniform() * Double(frequencyMask + 1)))
            let low = Int(uniform() * Double(channels - width + 1))
            let length = timeMask * uniform()
            masks.append(FeatureMask(channels: low..<(low + width), start: uniform() * (1 - length), length: length))
            cursor += 1
        }
        var batch = clips.batch(indices)
        if speedJitter > 0 {
            batch.rates = zip(batch.rates, factors).map { rate, factor in max(1, Int((Double(rate) * factor).rounded())) }
        }
        if frequencyMask > 0 || timeMask > 0 { batch.masks = masks }
        return batch
    }

    /// Where the stream stands.
    public var position: Position {
        Position(epoch: epoch, cursor: cursor, epochGenerator: epochGenerator.state, clips: clips.count)
    }

    /// Continues from `position`.
    public mutating func restore(_ position: Position) throws {
        guard position.clips == clips.count, let start = Xoshiro256StarStar(state: position.epochGenerator),
              position.cursor >= 0, position.cursor <= clips.count else {
            throw TrainingError.data("the checkpoint's data position does not belong to these \(clips.count) clips")
        }
        generator = start
        epochGenerator = start
        order = Self.permutation(clips.count, &generator)
        epoch = position.epoch
        cursor = position.cursor
    }

    /// Batches per pass over the clips.
    public var batchesPerEpoch: Int? { (clips.count + batchSize - 1) / batchSize }
}
