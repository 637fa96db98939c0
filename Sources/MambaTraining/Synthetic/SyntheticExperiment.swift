// One synthetic-task experiment as the Mamba paper runs it (appendix E.1): a small Mamba LM (2 layers, d_model 64,
// vocabulary 16) with every layer's mixer S6 or S4D, trained with AdamW on fresh batches each step, then scored on
// fresh sequences at one or more lengths. `mambakit synthetic` is a thin layer over this.
import Foundation
import MambaBackbone
import MambaTensor

/// The synthetic tasks.
public enum SyntheticTaskKind: String, Sendable, CaseIterable, Codable {
    /// Selective copying (section 3.1, E.1.1).
    case selectiveCopying = "selective-copying"
    /// Induction heads (section 4.1.2, E.1.2).
    case inductionHeads = "induction-heads"
}

/// The settings of one synthetic experiment.
public struct SyntheticExperiment: Sendable, Equatable {
    /// Which task.
    public var task: SyntheticTaskKind
    /// The mixer of every layer.
    public var mixer: MixerKind
    /// Training sequence length.
    public var trainLength: Int
    /// Selective copying: data tokens to copy.
    public var memorized = 16
    /// Vocabulary (paper: 16).
    public var vocabularySize = 16
    /// Model width.
    public var dModel = 64
    /// Layers (paper: 2).
    public var layers = 2
    /// SSM state size.
    public var dState = 16
    /// d_inner / d_model.
    public var expand = 2
    /// Sequences per step.
    public var batchSize = 32
    /// Optimizer steps.
    public var steps = 1000
    /// Peak learning rate.
    public var learningRate = 3e-3
    /// Warm-up steps.
    public var warmupSteps = 50
    /// After the warm-up: constant (the paper's synthetic runs use a constant rate) or cosine to a tenth.
    public var decay = LearningRateSchedule.Decay.constant
    /// AdamW weight decay.
    public var weightDecay = 0.1
    /// Gradient clipping norm (nil: none).
    public var maxGradientNorm: Double? = 1.0
    /// Seed of the initial parameters and of the training data.
    public var seed: UInt64 = 1
    /// Lengths to score after training (default: the training length).
    public var evaluationLengths: [Int] = []
    /// Sequences scored per length.
    public var evaluationSequences = 256
    /// The range of the initial Δ (`time_step_min`, `time_step_max`; Hugging Face's defaults 0.001 and 0.1).
    public var timeStepRange: ClosedRange<Double> = 0.001...0.1

    /// Settings with the library's defaults (training length 256 unless given; `mambakit synthetic` sets each task's
    /// measured defaults over these).
    public init(task: SyntheticTaskKind, mixer: MixerKind, trainLength: Int? = nil) {
        self.task = task
        self.mixer = mixer
        self.trainLength = trainLength ?? 256
    }

    /// The model: a causal LM over the task's vocabulary, tied embeddings, every layer `mixer`.
    public func configuration() -> MambaConfiguration {
        var configuration = MambaConfiguration(vocabSize: vocabularySize, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers, expand: expand)
        configuration.layerMixers = Array(repeating: mixer, count: layers)
        configuration.padTokenID = nil
        configuration.bosTokenID = nil
        configuration.eosTokenID = nil
        configuration.timeStepMin = timeStepRange.lowerBound
        configuration.timeStepMax = timeStepRange.upperBound
        configuration.timeStepFloor = min(configuration.timeStepFloor, timeStepRange.lowerBound)
        return configuration
    }

    /// The training options (linear warm-up, then `decay`).
    public func options(validationInterval: Int = 0, checkpointInterval: Int = 0) -> TrainerOptions {
        TrainerOptions(steps: steps, optimizer: AdamWConfiguration(beta1: 0.9, beta2: 0.98, weightDecay: weightDecay),
                        schedule: LearningRateSchedule(peak: learningRate, warmupSteps: min(warmupSteps, steps),
                                                       totalSteps: steps, decay: decay),
                        maxGradientNorm: maxGradientNorm, validationInterval: validationInterval,
                        checkpointInterval: checkpointInterval)
    }
}

/// What a synthetic experiment measured.
public struct SyntheticResult: Sendable {
    /// The settings.
    public var experiment: SyntheticExperiment
    /// Parameters of the model.
    public var parameterCount: Int
    /// Steps trained.
    public var steps: Int
    /// Wall time of the training.
    public var trainingSeconds: Double
    /// The mean training loss and accuracy over the last (up to) 20 steps.
    public var finalTraining: LossStatistics
    /// Accuracy at each evaluation length.
    public var accuracies: [LengthAccuracy]
    /// The trained model.
    public var model: MambaModel
}

extension SyntheticExperiment {
    /// Trains a fresh model and scores it. `configure` may attach a progress reporter, metrics or checkpoints to the
    /// trainer (and resume it) before the loop starts.
    public func run(configure: ((Trainer<MambaModel, SyntheticData<SelectiveCopying>>) throws -> Void)? = nil,
                    configureInduction: ((Trainer<MambaModel, SyntheticData<InductionHeads>>) throws -> Void)? = nil)
        throws -> SyntheticResult {
        switch task {
        case .selectiveCopying:
            let task = try SelectiveCopying(length: trainLength, memorized: memorized, vocabularySize: vocabularySize)
            return try run(task, configure: configure)
        case .inductionHeads:
            let task = try InductionHeads(length: trainLength, vocabularySize: vocabularySize)
            return try run(task, configure: configureInduction)
        }
    }

    private func run<Task: SyntheticTask>(_ task: Task,
                                          configure: ((Trainer<MambaModel, SyntheticData<Task>>) throws -> Void)?)
        throws -> SyntheticResult {
        let model = try MambaModel(configuration: configuration(), seed: seed)
        let data = try SyntheticData(task: task, batchSize: batchSize, seed: seed &+ 1000)
        let validation = SyntheticData.fixedBatches(task, count: max(1, 64 / batchSize), batchSize: min(batchSize, 64),
                                                    seed: seed &+ 2000)
        let trainer = try Trainer(model: model, data: data, validation: validation,
                                  options: options(validationInterval: max(1, steps / 10)))
        try configure?(trainer)
        let start = DispatchTime.now().uptimeNanoseconds
        try trainer.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var recent = LossStatistics.empty
        for record in trainer.history.suffix(20) { recent.merge(record.statistics) }
        let lengths = evaluationLengths.isEmpty ? [trainLength] : evaluationLengths
        let accuracies = try task.accuracy(of: model, lengths: lengths, sequences: evaluationSequences,
                                           batchSize: batchSize, seed: seed &+ 3000)
        return SyntheticResult(experiment: self, parameterCount: model.layout.entries.reduce(0) { $0 + $1.count },
                               steps: trainer.step, trainingSeconds: seconds, finalTraining: recent,
                               accuracies: accuracies, model: model)
    }
}
