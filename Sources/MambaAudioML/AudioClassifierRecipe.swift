// The whole recipe for an audio clip classifier, as a value: the model and training settings, `train` (clips in,
// trained model out, with metrics and progress), and `report` (a trained model scored on labelled clips). The CLI
// (`mambakit train --task classify`, `mambakit eval`) and `mambakit demo` are thin layers over this.
import Foundation
import MambaBackbone
import MambaTensor
import MambaTraining

/// Settings of an audio classifier and of its training run.
public struct AudioClassifierRecipe: Sendable, Equatable {
    /// Optimizer steps.
    public var steps = 400
    /// Clips per batch.
    public var batchSize = 16
    /// Peak learning rate (linear warm-up over the first 5% of steps, then cosine to a tenth).
    public var learningRate = 3e-3
    /// AdamW decoupled weight decay.
    public var weightDecay = 0.1
    /// Backbone width (and the front end's outputs).
    public var dModel = 64
    /// Mamba layers.
    public var layers = 2
    /// SSM state size.
    public var dState = 16
    /// Mixer of every layer.
    public var mixer = MixerKind.s6
    /// Filters of the front end.
    public var channels = 64
    /// Filter length in milliseconds.
    public var filterMilliseconds = 16.0
    /// Frame length in milliseconds.
    public var windowMilliseconds = 25.0
    /// Frame hop in milliseconds.
    public var hopMilliseconds = 10.0
    /// Subtract each channel's mean log-energy over the clip.
    public var featureNormalization = true
    /// Speed perturbation: clips presented at rate·(1 ± u), u up to this (0: off).
    public var speedJitter = 0.25
    /// Also learn the front end's filters (they overfit the digits: docs/audio.md).
    public var trainFilters = false
    /// BiMamba layers (a second scan over the reversed frames of each clip).
    public var bidirectional = false
    /// SpecAugment frequency masking: a band of up to this many filter channels zeroed per clip (0: off).
    public var frequencyMask = 0
    /// SpecAugment time masking: a span of up to this fraction of each clip's frames zeroed (0: off).
    public var timeMask = 0.0
    /// Seed of the initial parameters and of the batch order.
    public var seed: UInt64 = 1

    /// The defaults (documented on each property).
    public init() {}

    /// The front end settings for clips at `rate`.
    public func frontEndSettings(rate: Int) -> FrontEndSettings {
        func samples(_ ms: Double) -> Int { max(1, Int((ms * Double(rate) / 1000).rounded())) }
        var settings = FrontEndSettings(trainedRate: rate, taps: samples(filterMilliseconds), channels: channels,
                                        window: samples(windowMilliseconds), hop: samples(hopMilliseconds),
                                        outputs: dModel)
        settings.normalizeFeatures = featureNormalization
        return settings
    }

    /// Trains a classifier on `clips` (which must share one sample rate: the model's trained rate). With `output`,
    /// metrics go to output/metrics.jsonl and the model is saved there at the end; `validation` batches are scored
    /// every `validationInterval` steps (0: at the end only).
    public func train(_ clips: LoadedClips, validation: [AudioClipBatch] = [], validationInterval: Int = 0,
                      output: URL? = nil, progress: ProgressReporter? = nil) throws -> AudioClassifier {
        let trainer = try self.trainer(clips, validation: validation, validationInterval: validationInterval)
        if let output {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            trainer.metrics = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        }
        trainer.progress = progress
        let outcome = try trainer.run()
        if outcome.reason == .interrupted {
            throw AudioModelError.input("training interrupted at step \(outcome.step)")
        }
        if let output { try trainer.model.saveModel(to: output) }
        return trainer.model
    }

    /// A fresh classifier for `clips` (which must share one sample rate: the model's trained rate) and the training
    /// loop over them, ready to run: `train` runs it; callers that print or save differently attach their own
    /// metrics and progress.
    public func trainer(_ clips: LoadedClips, validation: [AudioClipBatch] = [], validationInterval: Int = 0)
        throws -> Trainer<AudioClassifier, ClipBatchSource> {
        let rates = Set(clips.rates)
        guard rates.count == 1, let rate = rates.first else {
            throw AudioModelError.input("training clips must share one sample rate (the trained rate), found \(rates.sorted())")
        }
        var configuration = MambaConfiguration(vocabSize: 1, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers)
        configuration.headType = .sequenceClassification
        configuration.classifierPooling = .mean
        configuration.labels = clips.labels
        configuration.layerMixers = Array(repeating: mixer, count: layers)
        configuration.bidirectional = bidirectional
        configuration.tieWordEmbeddings = false
        let model = try AudioClassifier(settings: frontEndSettings(rate: rate), configuration: configuration,
                                        seed: seed)
        model.trainFilters = trainFilters
        let source = try ClipBatchSource(clips: clips, batchSize: batchSize, seed: seed, speedJitter: speedJitter,
                                         frequencyMask: frequencyMask, timeMask: timeMask, channels: channels)
        var exclusions = WeightDecayExclusions.standard
        if !trainFilters { exclusions.patterns.append("audio_front_end.filters") }
        let options = TrainerOptions(
            steps: steps,
            optimizer: AdamWConfiguration(weightDecay: weightDecay, exclusions: exclusions),
            schedule: LearningRateSchedule(peak: learningRate, warmupSteps: max(1, steps / 20), totalSteps: steps,
                                           decay: .cosine),
            maxGradientNorm: 1.0, validationInterval: validationInterval)
        return try Trainer(model: model, data: source, validation: validation, options: options)
    }
}

extension AudioClassifier {
    /// Scores the model on labelled `clips` (their labels matched to the model's classes by name).
    public func report(_ clips: LoadedClips, batchSize: Int = 16) throws -> ClassificationMetrics {
        var targets: [Int] = []
        for (i, index) in clips.labelIndices.enumerated() {
            let name = clips.labels[Int(index)]
            guard let target = labels.firstIndex(of: name) else {
                throw AudioModelError.input("\(clips.paths[i]): label '\(name)' is not one of the model's classes \(labels)")
            }
            targets.append(target)
        }
        var probabilities: [[Double]] = []
        for batch in clips.batches(size: batchSize) { probabilities += try self.probabilities(batch) }
        return try ClassificationMetrics(labels: labels, targets: targets, probabilities: probabilities)
    }
}
