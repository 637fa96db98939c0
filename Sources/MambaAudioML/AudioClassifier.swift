// An audio clip classifier that works at any sample rate: RateAwareFrontEnd (waveform -> frames at a fixed frame
// rate, d_model wide) -> Mamba backbone over the frames (`input_kind: continuous`) -> mean pooling over the valid
// frames (count-invariant) -> linear head.
//
// Parameters live in ONE flat buffer: the front end's (filters {C, K}, projection {D, C}, bias {D}), padded to a
// multiple of 16 floats, then the backbone's ParameterLayout. A model folder holds config.json (the backbone's HF
// config with `input_kind: "continuous"`, `sample_rate` and `audio_front_end` settings), model.safetensors (the
// backbone) and audio_front_end.safetensors.
import Foundation
import MambaBackbone
import MambaTensor
import MambaTraining
import Synchronization

/// A batch of clips with their rates and (for training) labels.
public struct AudioClipBatch: TokenCounting, Sendable {
    /// Mono samples of each clip.
    public var clips: [[Float]]
    /// Each clip's sample rate (Hz).
    public var rates: [Int]
    /// Each clip's class index (empty for prediction).
    public var labels: [Int32]
    /// Each clip's feature mask (training-time augmentation); empty: no masks.
    public var masks: [FeatureMask?]

    /// A batch.
    public init(clips: [[Float]], rates: [Int], labels: [Int32] = [], masks: [FeatureMask?] = []) {
        self.clips = clips
        self.rates = rates
        self.labels = labels
        self.masks = masks
    }

    /// Samples read (for throughput).
    public var tokenCount: Int { clips.reduce(0) { $0 + $1.count } }
}

/// The config.json keys of continuous-input audio models.
public enum AudioModelKeys {
    /// `input_kind`: "continuous" for a front end feeding the backbone.
    public static let inputKind = "input_kind"
    /// `audio_front_end`: FrontEndSettings.
    public static let frontEnd = "audio_front_end"
    /// The front end's parameter file.
    public static let frontEndFile = "audio_front_end.safetensors"
}

/// The rate-invariant clip classifier (see the file header).
public final class AudioClassifier: Trainable {
    /// The front end.
    public let frontEnd: RateAwareFrontEnd
    /// The backbone (a view into `parameters`).
    public let backbone: MambaModel
    /// All parameters: front end, padding, backbone.
    public let parameters: Tensor
    /// Where the backbone's parameters start in `parameters`.
    public let backboneOffset: Int
    /// Whether forward passes scale the front end to the input's rate (on by default; off = the naive model).
    public var rateScaling = true
    /// Whether training updates the front end's filters (false: they stay at their initial mel-spaced values, and
    /// only the linear encoder, backbone and head learn).
    public var trainFilters = true

    /// Class names, in index order.
    public var labels: [String] { backbone.configuration.labels }
    /// The rate the model was trained at.
    public var trainedRate: Int { frontEnd.settings.trainedRate }

    static func offset(for settings: FrontEndSettings) -> Int { (settings.parameterCount + 15) / 16 * 16 }

    /// A model over given parameters (front end + backbone as laid out by this class).
    public init(settings: FrontEndSettings, configuration: MambaConfiguration, parameters: Tensor) throws {
        frontEnd = try RateAwareFrontEnd(settings: settings)
        guard configuration.headType == .sequenceClassification, !configuration.labels.isEmpty else {
            throw AudioModelError.settings("expected a sequence_classification backbone with labels")
        }
        guard configuration.hiddenSize == settings.outputs else {
            throw AudioModelError.settings("front end outputs \(settings.outputs) != hidden_size \(configuration.hiddenSize)")
        }
        var configuration = configuration
        configuration.sampleRate = settings.trainedRate
        configuration.extraKeys[AudioModelKeys.inputKind] = .string("continuous")
        configuration.extraKeys[AudioModelKeys.frontEnd] = try Self.json(settings)
        let offset = Self.offset(for: settings)
        let count = ParameterLayout(configuration).totalCount
        guard parameters.count == offset + count else {
            throw AudioModelError.model("expected \(offset + count) parameters, found \(parameters.count)")
        }
        self.parameters = parameters
        self.backboneOffset = offset
        self.backbone = try MambaModel(configuration: configuration, parameters: parameters.view(offset: offset, shape: [count]))
    }

    /// A freshly initialised model.
    public convenience init(settings: FrontEndSettings, configuration: MambaConfiguration, seed: UInt64) throws {
        var configuration = configuration
        configuration.sampleRate = settings.trainedRate
        let initial = try MambaModel(configuration: configuration, seed: seed)
        let offset = Self.offset(for: settings)
        let parameters = Tensor(zeros: [offset + initial.parameters.count])
        var generator = Xoshiro256StarStar(seed: seed ^ 0x5EED_F00D)
        try RateAwareFrontEnd(settings: settings).initialize(parameters.pointer, generator: &generator)
        withExtendedLifetime(initial.parameters) {
            (parameters.pointer + offset).update(from: initial.parameters.pointer, count: initial.parameters.count)
        }
        try self.init(settings: settings, configuration: configuration, parameters: parameters)
    }

    static func json(_ settings: FrontEndSettings) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(settings))
    }

    /// Loads a model folder written by `saveModel(to:)`.
    public static func load(from directory: URL) throws -> AudioClassifier {
        let configuration = try MambaConfiguration.load(from: directory.appendingPathComponent("config.json"))
        guard case .string("continuous")? = configuration.extraKeys[AudioModelKeys.inputKind],
              let settingsJSON = configuration.extraKeys[AudioModelKeys.frontEnd] else {
            throw AudioModelError.model("\(directory.path)/config.json: expected input_kind \"continuous\" and audio_front_end settings (an audio classifier)")
        }
        let settings: FrontEndSettings
        do {
            settings = try JSONDecoder().decode(FrontEndSettings.self, from: JSONEncoder().encode(settingsJSON))
        } catch {
            throw AudioModelError.model("\(directory.path)/config.json: audio_front_end: \(error)")
        }
        let offset = offset(for: settings)
        let parameters = Tensor(zeros: [offset + ParameterLayout(configuration).totalCount])
        let model = try AudioClassifier(settings: settings, configuration: configuration, parameters: parameters)
        try model.loadModel(from: directory)
        return model
    }

    // MARK: - Trainable

    /// Front end spans, then the backbone's (its names).
    public var parameterSpans: [ParameterSpan] {
        let s = frontEnd.settings
        var spans = [ParameterSpan(name: "audio_front_end.filters", offset: s.filtersOffset, count: s.channels * s.taps),
                     ParameterSpan(name: "audio_front_end.projection.weight", offset: s.projectionOffset,
                                   count: s.outputs * s.channels),
                     ParameterSpan(name: "audio_front_end.projection.bias", offset: s.biasOffset, count: s.outputs)]
        for entry in backbone.layout.entries {
            spans.append(ParameterSpan(name: entry.name, offset: backboneOffset + entry.offset, count: entry.count))
        }
        return spans
    }

    /// Front end of every clip: frames {b, F_max, D}, lengths, activations.
    func frames(_ batch: AudioClipBatch) throws -> (Tensor, [Int], [FrontEndActivations]) {
        guard batch.clips.count == batch.rates.count, !batch.clips.isEmpty else {
            throw AudioModelError.input("expected one rate per clip and at least one clip, found \(batch.clips.count) clips and \(batch.rates.count) rates")
        }
        guard batch.masks.isEmpty || batch.masks.count == batch.clips.count else {
            throw AudioModelError.input("expected no feature masks or one per clip, found \(batch.masks.count) for \(batch.clips.count) clips")
        }
        let s = frontEnd.settings
        let lengths = zip(batch.clips, batch.rates).map { clip, rate in
            s.frameCount(samples: clip.count, rate: rateScaling ? rate : s.trainedRate)
        }
        let longest = lengths.max()!, d = s.outputs, b = batch.clips.count
        let output = Tensor(zeros: [b, longest, d])
        let results = Mutex<[FrontEndActivations?]>(Array(repeating: nil, count: b))
        let errors = Mutex<Error?>(nil)
        let front = frontEnd, scaling = rateScaling
        let p = UnsafePointer(parameters.pointer)
        nonisolated(unsafe) let out = output.pointer
        nonisolated(unsafe) let pp = p
        let clips = batch.clips, rates = batch.rates
        let masks = batch.masks.isEmpty ? Array(repeating: nil, count: b) : batch.masks
        withExtendedLifetime((parameters, output)) {
            Parallel.forEach(b) { i in
                do {
                    let a = try front.forward(pp, samples: clips[i], rate: rates[i], rateScaling: scaling,
                                              mask: masks[i], output: out + i * longest * d)
                    results.withLock { $0[i] = a }
                } catch {
                    errors.withLock { $0 = error }
                }
            }
        }
        if let error = errors.withLock({ $0 }) { throw error }
        return (output, lengths, results.withLock { $0.map { $0! } })
    }

    /// Forward and backward through front end and backbone (classification of `batch.labels`).
    public func lossAndGradients(_ batch: AudioClipBatch, gradients: Tensor, lossScale: Float) throws -> LossStatistics {
        guard gradients.count == parameters.count else {
            throw AudioModelError.input("expected \(parameters.count) gradient floats, found \(gradients.count)")
        }
        let (embeddings, lengths, activations) = try frames(batch)
        let dEmbeddings = Tensor(zeros: embeddings.shape)
        let backboneGradients = gradients.view(offset: backboneOffset, shape: [backbone.parameters.count])
        let result = try backbone.lossAndGradients(embeddings: embeddings, lengths: lengths,
                                                   inputGradients: dEmbeddings,
                                                   objective: .classification(labels: batch.labels),
                                                   gradients: backboneGradients, lossScale: lossScale)
        // Front end backward per clip into its own buffer, then summed in clip order (deterministic).
        let s = frontEnd.settings, b = batch.clips.count, longest = embeddings.shape[1], d = s.outputs
        let count = s.parameterCount
        let partial = Tensor(zeros: [b, count])
        let front = frontEnd, filterGradients = trainFilters
        nonisolated(unsafe) let dE = UnsafePointer(dEmbeddings.pointer)
        nonisolated(unsafe) let pp = UnsafePointer(parameters.pointer)
        nonisolated(unsafe) let parts = partial.pointer
        withExtendedLifetime((dEmbeddings, parameters, partial)) {
            Parallel.forEach(b) { i in
                front.backward(pp, activations: activations[i], dOutput: dE + i * longest * d,
                               gradients: parts + i * count, filterGradients: filterGradients)
            }
        }
        let first = trainFilters ? 0 : s.projectionOffset
        withExtendedLifetime((partial, gradients)) {
            for i in 0..<b {
                for j in first..<count { gradients.pointer[j] += partial.pointer[i * count + j] }
            }
        }
        return LossStatistics(loss: result.loss, count: result.count, correct: result.correct)
    }

    /// Class probabilities {b, classes} of the clips (softmax of the logits).
    public func probabilities(_ batch: AudioClipBatch) throws -> [[Double]] {
        let (embeddings, lengths, _) = try frames(batch)
        let output = try backbone.forward(embeddings: embeddings, lengths: lengths)
        let classes = labels.count
        let logits = output.logits.array
        return (0..<batch.clips.count).map { i in
            let row = logits[(i * classes)..<((i + 1) * classes)].map(Double.init)
            let top = row.max()!
            let exps = row.map { Foundation.exp($0 - top) }
            let total = exps.reduce(0, +)
            return exps.map { $0 / total }
        }
    }

    /// Mean cross-entropy and accuracy of a labelled batch, forward only.
    public func evaluate(_ batch: AudioClipBatch) throws -> LossStatistics {
        let probabilities = try probabilities(batch)
        var loss = 0.0, correct = 0
        for (row, label) in zip(probabilities, batch.labels) {
            loss -= Foundation.log(max(row[Int(label)], 1e-300))
            if row.indices.max(by: { row[$0] < row[$1] }) == Int(label) { correct += 1 }
        }
        return LossStatistics(loss: loss / Double(batch.labels.count), count: batch.labels.count, correct: correct)
    }

    /// Writes config.json, model.safetensors (backbone) and audio_front_end.safetensors, each atomically.
    public func saveModel(to directory: URL) throws {
        try backbone.save(to: directory)
        let s = frontEnd.settings
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        let p = UnsafePointer(parameters.pointer)
        try withExtendedLifetime(parameters) {
            writer.add("filters", shape: [s.channels, s.taps], .float32Pointer(p + s.filtersOffset, count: s.channels * s.taps))
            writer.add("projection.weight", shape: [s.outputs, s.channels],
                       .float32Pointer(p + s.projectionOffset, count: s.outputs * s.channels))
            writer.add("projection.bias", shape: [s.outputs], .float32Pointer(p + s.biasOffset, count: s.outputs))
            try writer.write(to: directory.appendingPathComponent(AudioModelKeys.frontEndFile))
        }
    }

    /// Reads the parameters of a folder written by `saveModel(to:)` for the same architecture.
    public func loadModel(from directory: URL) throws {
        let s = frontEnd.settings
        let front = try SafeTensorsFile(contentsOf: directory.appendingPathComponent(AudioModelKeys.frontEndFile))
        try withExtendedLifetime(parameters) {
            try front.readFiniteFloats("filters", into: parameters.pointer + s.filtersOffset, count: s.channels * s.taps)
            try front.readFiniteFloats("projection.weight", into: parameters.pointer + s.projectionOffset,
                                 count: s.outputs * s.channels)
            try front.readFiniteFloats("projection.bias", into: parameters.pointer + s.biasOffset, count: s.outputs)
        }
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        try withExtendedLifetime(parameters) {
            try MambaModel.readParameters(from: file, layout: backbone.layout, into: backbone.parameters.pointer)
        }
    }
}
