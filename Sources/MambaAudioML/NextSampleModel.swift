// Raw-waveform next-sample modelling (SampleRNN/WaveNet/SaShiMi style): recordings are mu-law coded to 256 levels
// (μ = 255), a causal Mamba LM with a 256-token vocabulary predicts each code from the ones before it, trained on
// random windows; evaluation is the negative log-likelihood in bits per sample over whole held-out recordings;
// generation samples one code at a time through the O(1) recurrent step.
// Any rate: the model records the rate it was trained at (config.json `sample_rate`, r0). Audio at rate r is scored
// or generated with the backbone at ρ = r0 / r (MambaBackbone/TimeScale.swift): every Δ scaled by ρ and the conv1d
// taps resampled from a kernel defined in time. ρ = 1 without rate scaling (the samples read as if at r0).
import Foundation
import MambaAudio
import MambaBackbone
import MambaTensor
import MambaTokenizers
import MambaTraining

// MambaTokenizers also declares a TokenBatch (a typealias); this file means the model's.
typealias TokenBatch = MambaBackbone.TokenBatch

/// A batch of code windows.
public struct CodeWindowBatch: TokenCounting, Sendable {
    /// The windows (right-padded when shorter).
    public var batch: MambaBackbone.TokenBatch
    /// Valid codes read.
    public var tokenCount: Int { batch.lengths.reduce(0, +) }

    /// A batch.
    public init(batch: MambaBackbone.TokenBatch) { self.batch = batch }
}

/// Mu-law codes of recordings held in memory.
public struct CodedRecordings: Sendable {
    /// The codes of each recording.
    public var codes: [[Int32]]
    /// The shared sample rate.
    public var rate: Int
    /// Paths.
    public var paths: [String]

    /// Codes already in memory (one array per recording, all at `rate` Hz).
    public init(codes: [[Int32]], rate: Int, paths: [String]) {
        self.codes = codes
        self.rate = rate
        self.paths = paths
    }

    /// Reads every file of `dataset` (mono, at its own rate: all must share one rate) and mu-law codes it.
    public init(_ dataset: ClipDataset, tokenizer: MuLawTokenizer) throws {
        codes = []
        paths = []
        var rates = Set<Int>()
        for index in 0..<dataset.count {
            let buffer = try dataset.load(index)
            rates.insert(buffer.sampleRate)
            codes.append(try tokenizer.encode(buffer.samples))
            paths.append(dataset[index].path)
        }
        guard rates.count == 1, let rate = rates.first else {
            throw AudioModelError.input("\(dataset.source): recordings must share one sample rate, found \(rates.sorted())")
        }
        self.rate = rate
    }

    /// Total samples.
    public var sampleCount: Int { codes.reduce(0) { $0 + $1.count } }
}

/// Random windows of `length` codes (each a uniformly drawn start in a recording drawn in proportion to its
/// length); endless, resumable.
public struct CodeWindowSource: TrainingDataSource {
    /// The generator state and the data's size.
    public struct Position: Codable, Equatable {
        /// Xoshiro state.
        public var generator: [UInt64]
        /// Total codes (a position for other data is refused).
        public var samples: Int
    }

    let recordings: CodedRecordings
    let length: Int
    let batchSize: Int
    var generator: Xoshiro256StarStar
    let cumulative: [Int]

    /// A source of `batchSize` windows of `length` codes.
    public init(recordings: CodedRecordings, length: Int, batchSize: Int, seed: UInt64) throws {
        guard length >= 2, batchSize >= 1, recordings.sampleCount >= 2 else {
            throw AudioModelError.settings("expected a window of >= 2 codes, a batch >= 1 and some audio, found \(length), \(batchSize), \(recordings.sampleCount) samples")
        }
        self.recordings = recordings
        self.length = length
        self.batchSize = batchSize
        generator = Xoshiro256StarStar(seed: seed)
        var total = 0
        cumulative = recordings.codes.map { total += $0.count; return total }
    }

    /// The next batch.
    public mutating func next() throws -> CodeWindowBatch {
        let total = cumulative.last!
        var sequences: [[Int32]] = []
        for _ in 0..<batchSize {
            let point = Int(generator.next() % UInt64(total))
            let index = cumulative.firstIndex(where: { $0 > point })!
            let codes = recordings.codes[index]
            let span = min(length, codes.count)
            let start = codes.count > span ? Int(generator.next() % UInt64(codes.count - span + 1)) : 0
            sequences.append(Array(codes[start..<(start + span)]))
        }
        return CodeWindowBatch(batch: try TokenBatch(sequences: sequences, padding: 0))
    }

    /// Where the stream stands.
    public var position: Position { Position(generator: generator.state, samples: cumulative.last!) }

    /// Continues from `position`.
    public mutating func restore(_ position: Position) throws {
        guard position.samples == cumulative.last!, let restored = Xoshiro256StarStar(state: position.generator) else {
            throw TrainingError.data("the checkpoint's data position does not belong to these recordings")
        }
        generator = restored
    }

    /// Endless.
    public var batchesPerEpoch: Int? { nil }
}

/// A causal Mamba LM over mu-law codes (the training loop's view of it).
public final class NextSampleModel: Trainable {
    /// The LM.
    public let model: MambaModel

    /// Wraps `model` (a causal LM with at least 256 tokens).
    public init(model: MambaModel) throws {
        guard model.configuration.headType == .causalLM, model.configuration.vocabSize >= 256 else {
            throw AudioModelError.model("expected a causal LM over 256 mu-law codes")
        }
        self.model = model
    }

    /// The configuration of a next-sample model at `rate` Hz.
    public static func configuration(rate: Int, dModel: Int, layers: Int, dState: Int,
                                     mixers: [MixerKind]? = nil) -> MambaConfiguration {
        var configuration = MambaConfiguration(vocabSize: 256, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers)
        configuration.sampleRate = rate
        configuration.tokenizer = "mulaw-256"
        configuration.layerMixers = mixers
        configuration.tieWordEmbeddings = false
        configuration.padTokenID = nil
        configuration.bosTokenID = nil
        configuration.eosTokenID = nil
        return configuration
    }

    /// The rate (Hz) the model was trained at (config.json `sample_rate`), nil for a model that does not record one.
    public var trainedRate: Int? { model.configuration.sampleRate }

    /// ρ = trained rate / `rate` with `rateScaling`, 1 without (or at the trained rate). Throws when the rate is not
    /// positive, or when scaling is asked of a model that records no trained rate.
    public func timeScale(forRate rate: Int, rateScaling: Bool = true) throws -> Double {
        guard rate > 0 else { throw AudioModelError.input("expected a positive sample rate, found \(rate)") }
        guard rateScaling else { return 1 }
        guard let trained = trainedRate else {
            throw AudioModelError.model("the model records no trained sample rate (config.json sample_rate), so audio at \(rate) Hz cannot be rate-scaled")
        }
        return Double(trained) / Double(rate)
    }

    /// All parameters.
    public var parameters: Tensor { model.parameters }
    /// The layout's entries.
    public var parameterSpans: [ParameterSpan] {
        model.layout.entries.map { ParameterSpan(name: $0.name, offset: $0.offset, count: $0.count) }
    }

    /// Next-code cross-entropy and its gradient.
    public func lossAndGradients(_ batch: CodeWindowBatch, gradients: Tensor, lossScale: Float) throws -> LossStatistics {
        let r = try model.lossAndGradients(batch.batch, objective: .nextToken, gradients: gradients, lossScale: lossScale)
        return LossStatistics(loss: r.loss, count: r.count, correct: r.correct)
    }

    /// Next-code cross-entropy, forward only.
    public func evaluate(_ batch: CodeWindowBatch) throws -> LossStatistics {
        let r = try model.loss(batch.batch, objective: .nextToken)
        return LossStatistics(loss: r.loss, count: r.count, correct: r.correct)
    }

    /// config.json + model.safetensors.
    public func saveModel(to directory: URL) throws { try model.save(to: directory) }

    /// Reads the parameters of a folder written by `saveModel`.
    public func loadModel(from directory: URL) throws {
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        try withExtendedLifetime(model.parameters) {
            try MambaModel.readParameters(from: file, layout: model.layout, into: model.parameters.pointer)
        }
    }

    /// Bits per sample (base-2 NLL) of held-out recordings: each recording is scored in pieces of `segment` codes
    /// (whole when shorter), every code after a piece's first predicted from all codes before it in the piece.
    /// Returns (total bits, predicted samples). `timeScale`: ρ = trained rate / the recordings' rate (1: as trained).
    /// `horizon`: score the code `horizon` samples ahead instead of the next one (targets x[t + horizon] for the logits
    /// at t); with rate scaling, horizon = trained-rate period / input period (2 for an 8 kHz model on 16 kHz audio)
    /// asks for the model's own prediction time, the same span of time as one sample at the trained rate.
    public func bits(_ recordings: CodedRecordings, segment: Int = 131_072, timeScale: Double = 1,
                     horizon: Int = 1) throws -> (bits: Double, samples: Int) {
        guard horizon >= 1 else { throw AudioModelError.settings("expected a horizon of at least 1 sample, found \(horizon)") }
        var nats = 0.0, count = 0
        for codes in recordings.codes {
            for start in stride(from: 0, to: codes.count, by: segment) {
                let piece = Array(codes[start..<min(codes.count, start + segment)])
                guard piece.count > horizon else { continue }
                let objective: TrainingObjective = horizon == 1 ? .nextToken
                    : .tokenTargets(targets: piece.indices.map { $0 + horizon < piece.count ? piece[$0 + horizon] : -1 })
                let r = try model.loss(try TokenBatch(sequences: [piece], padding: 0), objective: objective,
                                       timeScale: timeScale)
                nats += r.loss * Double(r.count)
                count += r.count
            }
        }
        return (nats / log(2), count)
    }

    /// Generates `count` codes after `prompt` (at least one code) through the recurrent step, sampling from
    /// softmax(logits / temperature) (temperature 0: argmax). `timeScale`: ρ = trained rate / the output rate (the
    /// prompt is at the output rate).
    public func generate(prompt: [Int32], count: Int, temperature: Double, seed: UInt64,
                         timeScale: Double = 1) throws -> [Int32] {
        guard !prompt.isEmpty else { throw AudioModelError.input("expected a prompt of at least one code") }
        var generator = Xoshiro256StarStar(seed: seed)
        let (output, state) = try model.prefill(try TokenBatch(sequences: [prompt], padding: 0), timeScale: timeScale)
        let v = model.configuration.paddedVocabSize
        var logits = Array(output.logits.array[((prompt.count - 1) * v)..<(prompt.count * v)])
        var out: [Int32] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let code = Self.sample(logits, classes: 256, temperature: temperature, generator: &generator)
            out.append(code)
            logits = try model.step([code], state: state).logits.array
        }
        return out
    }

    static func sample(_ logits: [Float], classes: Int, temperature: Double,
                       generator: inout Xoshiro256StarStar) -> Int32 {
        if temperature <= 0 {
            return Int32(logits[0..<classes].indices.max(by: { logits[$0] < logits[$1] })!)
        }
        let top = Double(logits[0..<classes].max()!)
        var weights = [Double](repeating: 0, count: classes)
        var total = 0.0
        for i in 0..<classes {
            weights[i] = exp((Double(logits[i]) - top) / temperature)
            total += weights[i]
        }
        var target = generator.nextUniformDouble() * total
        for i in 0..<classes {
            target -= weights[i]
            if target <= 0 { return Int32(i) }
        }
        return Int32(classes - 1)
    }
}
