// `mambakit train`: train a Mamba model with AdamW, checkpoints, validation and metrics. Tasks: `lm` (next-base
// modelling on FASTA / FASTA.gz files with the DNA character tokenizer) and the synthetic tasks; classification front
// ends (DNA intervals, audio clips) slot in as further `--task` values with their own data sources.
import ArgumentParser
import Foundation
import MambaKit

// MambaTokenizers declares `TokenBatch` as an alias of SequenceBatch<Int32>, MambaBackbone a struct of that name:
// both are re-exported by MambaKit. This module's own declaration wins inside the module. (Remove once one is renamed:
// HELPERS-BACKBONE-API.md, 2026-11-29 note.)
typealias TokenBatch = MambaBackbone.TokenBatch

/// What `mambakit train` trains.
enum TrainTask: String, ExpressibleByArgument, CaseIterable, Codable {
    /// Causal LM on DNA (FASTA) with the character tokenizer.
    case lm
    /// Selective copying (synthetic).
    case selectiveCopying = "selective-copying"
    /// Induction heads (synthetic).
    case inductionHeads = "induction-heads"
}

/// The settings that decide the data and the model; saved as run.json and checked on --resume.
struct RunSettings: Codable, Equatable {
    var task: TrainTask
    var data: [String]
    var validationData: [String]
    var validationFraction: Double
    var length: Int
    var batch: Int
    var seed: UInt64
    var configuration: JSONValue
}

/// `mambakit train`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a Mamba model (AdamW, warm-up + cosine, clipping, accumulation) with checkpoints and metrics.",
        discussion: """
        Writes into --output: checkpoints/step-NNNNNNNN/ (config.json + model.safetensors, a model folder that \
        transformers loads for plain S6 models, plus optimizer.safetensors and trainer_state.json), \
        checkpoints/latest, metrics.jsonl (one JSON object per step, validation and checkpoint) and run.json. \
        --resume continues from checkpoints/latest exactly (the same losses as an uninterrupted run at the same \
        thread count). Ctrl-C saves a checkpoint and exits; a second Ctrl-C exits at once. A NaN or infinite loss \
        stops with an error naming the step and leaves the last checkpoint as it was.
        Tasks: lm (next-base prediction on --data FASTA/FASTA.gz files, HyenaDNA character ids A=7 C=8 G=9 T=10 N=11, \
        windows of --length bases), selective-copying and induction-heads (generated data, see `mambakit synthetic`).
        """
    )

    @Option(help: "What to train: lm (DNA next-base), selective-copying, induction-heads.") var task: TrainTask = .lm
    @Option(help: "Run folder (checkpoints, metrics.jsonl, run.json).") var output: String
    @Flag(help: "Continue the run in --output from its latest checkpoint.") var resume = false

    @Option(help: "lm: FASTA or FASTA.gz training file (repeatable).") var data: [String] = []
    @Option(name: .customLong("validation-data"), help: "lm: FASTA file(s) for validation (default: hold out --validation-fraction of the windows).")
    var validationData: [String] = []
    @Option(name: .customLong("validation-fraction"), help: "lm: fraction of windows held out when no --validation-data.")
    var validationFraction = 0.05
    @Option(help: "Tokens per training sequence (window length).") var length: Int?
    @Option(help: "Sequences per micro-batch (typical 4-64).") var batch = 8

    @Option(help: "Optimizer steps in the whole run.") var steps: Int?
    @Option(help: "lm: passes over the training windows (instead of --steps).") var epochs: Double?
    @Option(name: .customLong("stop-after"), help: "Stop (with a checkpoint) after this many steps of this invocation.")
    var stopAfter: Int?

    @Option(name: .customLong("d-model"), help: "Model width d_model.") var dModel: Int?
    @Option(help: "Layers.") var layers: Int?
    @Option(name: .customLong("d-state"), help: "SSM state size n (typical 8-64).") var dState: Int?
    @Option(help: "d_inner / d_model (typical 2).") var expand: Int?
    @Option(help: "Mixer of every layer: s6 or s4d.") var mixer: String?
    @Option(name: .customLong("kmer-embedding"),
            help: "lm: also embed the k-mer of bases ending at each position (1-8; default none), as `train --task classify --kmer-embedding`.")
    var kmerEmbedding: Int?

    @Option(name: .customLong("lr"), help: "Peak learning rate (typical 1e-4 to 1e-2).") var learningRate = 1e-3
    @Option(name: .customLong("min-lr"), help: "Final learning rate of the cosine (default: lr / 10).") var minimumLearningRate: Double?
    @Option(help: "Linear warm-up steps.") var warmup = 100
    @Option(help: "After warm-up: cosine or constant.") var schedule = "cosine"
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay (typical 0-0.1).") var weightDecay = 0.1
    @Option(name: .customLong("no-decay"), help: "Glob of parameter names without weight decay (repeatable; replaces the default *.A_log *.D *bias *norm.weight *norm_f.weight).")
    var noDecay: [String] = []
    @Option(help: "AdamW beta1.") var beta1 = 0.9
    @Option(help: "AdamW beta2.") var beta2 = 0.95
    @Option(help: "Clip gradients to this global L2 norm (0: no clipping).") var clip = 1.0
    @Option(help: "Micro-batches per optimizer step (gradient accumulation).") var accumulate = 1

    @Option(name: .customLong("validate-every"), help: "Validate every this many steps (0: only at the end).") var validateEvery = 100
    @Option(name: .customLong("validation-batches"), help: "At most this many validation batches (typical 4-64).") var validationBatches = 16
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every this many steps (0: only at the end).") var checkpointEvery = 500
    @Option(help: "Checkpoints kept (1 or more; older ones are deleted).") var keep = 2
    @Option(name: .customLong("log-every"), help: "Steps between progress lines when stderr is not a terminal.") var logEvery = 10
    @Option(help: "Seed of the initial parameters and the data order (any integer 0 to 2^64-1).") var seed: UInt64 = 1
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        guard batch >= 1, accumulate >= 1, keep >= 1, logEvery >= 1, validationBatches >= 1 else {
            throw ValidationError("--batch, --accumulate, --keep, --log-every and --validation-batches must be >= 1")
        }
        if let length, length < 3 { throw ValidationError("--length must be >= 3, found \(length)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be >= 1, found \(steps)") }
        if let epochs, !(epochs > 0) { throw ValidationError("--epochs must be > 0, found \(epochs)") }
        if steps != nil, epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if epochs != nil, task != .lm { throw ValidationError("--epochs applies to --task lm (synthetic data is endless)") }
        if task == .lm, data.isEmpty, !resume { throw ValidationError("--task lm needs --data FILE.fa[.gz]") }
        if task != .lm, !data.isEmpty { throw ValidationError("--data applies to --task lm only") }
        if let mixer, MixerKind(rawValue: mixer) == nil { throw ValidationError("--mixer must be s6 or s4d, found \(mixer)") }
        if let kmerEmbedding {
            guard task == .lm else { throw ValidationError("--kmer-embedding applies to --task lm (DNA) only") }
            guard (1...8).contains(kmerEmbedding) else {
                throw ValidationError("--kmer-embedding must be a k-mer length from 1 to 8, found \(kmerEmbedding)")
            }
        }
        guard LearningRateSchedule.Decay(rawValue: schedule) != nil else {
            throw ValidationError("--schedule must be cosine or constant, found \(schedule)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1, found \(threads)") }
        guard clip >= 0 else { throw ValidationError("--clip must be >= 0 (0: no clipping), found \(clip)") }
        guard (0..<1).contains(validationFraction) else {
            throw ValidationError("--validation-fraction must be in [0, 1), found \(validationFraction)")
        }
    }

    func run() throws {
        do {
            try train()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw commandFailure("train", error)
        }
    }

    // MARK: - Setup

    private var runFolder: URL { URL(fileURLWithPath: output) }

    /// The model configuration: from the latest checkpoint when resuming, else from the flags and the task.
    private func modelConfiguration(vocabulary: Int, padToken: Int?, tokenizer: String?) throws -> MambaConfiguration {
        var c = MambaConfiguration(vocabSize: vocabulary, hiddenSize: dModel ?? 128, stateSize: dState ?? 16,
                                   numHiddenLayers: layers ?? 4, expand: expand ?? 2)
        c.layerMixers = Array(repeating: MixerKind(rawValue: mixer ?? "s6")!, count: c.numHiddenLayers)
        c.padTokenID = padToken
        c.bosTokenID = nil
        c.eosTokenID = nil
        c.tokenizer = tokenizer
        if let kmerEmbedding { c.ngramEmbedding = DNAClassifier.kmerEmbeddingConfiguration(order: kmerEmbedding) }
        try c.validate()
        return c
    }

    private func trainingOptions(steps: Int) throws -> TrainerOptions {
        let optimizer = AdamWConfiguration(beta1: beta1, beta2: beta2, weightDecay: weightDecay,
                                           exclusions: noDecay.isEmpty ? .standard : WeightDecayExclusions(noDecay))
        let schedule = LearningRateSchedule(peak: learningRate, warmupSteps: min(warmup, steps), totalSteps: steps,
                                            minimum: minimumLearningRate,
                                            decay: LearningRateSchedule.Decay(rawValue: self.schedule)!)
        let options = TrainerOptions(steps: steps, accumulation: accumulate, optimizer: optimizer, schedule: schedule,
                                      maxGradientNorm: clip > 0 ? clip : nil, validationInterval: validateEvery,
                                      checkpointInterval: checkpointEvery, keepCheckpoints: keep)
        try options.validate()
        return options
    }

    private func train() throws {
        if let threads { Parallel.threadCount = threads }
        let runURL = runFolder.appendingPathComponent("run.json")
        let store = CheckpointStore(directory: runFolder.appendingPathComponent("checkpoints"), keep: keep)
        var savedSettings: RunSettings?
        if resume {
            guard try store.latest() != nil else { throw TrainingError.nothingToResume(path: store.directory.path) }
            do {
                savedSettings = try JSONDecoder().decode(RunSettings.self, from: Data(contentsOf: runURL))
            } catch {
                throw TrainingError.badCheckpoint(path: runURL.path, reason: "expected the run's settings: \(error)")
            }
        } else if try store.latest() != nil {
            throw TrainingError.invalidOption("\(output) already holds a run (checkpoints/latest): pass --resume to continue it, or choose another --output")
        }
        if let saved = savedSettings, saved.task != task {
            throw TrainingError.settingsChanged(path: runURL.path, differences: ["task \(saved.task.rawValue) vs \(task.rawValue)"])
        }
        switch task {
        case .lm:
            try trainLanguageModel(saved: savedSettings, runURL: runURL, store: store)
        case .selectiveCopying:
            let length = self.length ?? savedSettings?.length ?? 256
            try trainSynthetic(try SelectiveCopying(length: length), saved: savedSettings, runURL: runURL, store: store)
        case .inductionHeads:
            let length = self.length ?? savedSettings?.length ?? 256
            try trainSynthetic(try InductionHeads(length: length), saved: savedSettings, runURL: runURL, store: store)
        }
    }

    /// The configuration to build: the saved one when resuming (refusing explicit shape flags that differ).
    private func resolveConfiguration(_ fresh: () throws -> MambaConfiguration, saved: RunSettings?) throws -> MambaConfiguration {
        guard let saved else { return try fresh() }
        let configuration = try MambaConfiguration(json: saved.configuration, file: output + "/run.json")
        var differences: [String] = []
        if let dModel, dModel != configuration.hiddenSize { differences.append("--d-model \(configuration.hiddenSize) vs \(dModel)") }
        if let layers, layers != configuration.numHiddenLayers { differences.append("--layers \(configuration.numHiddenLayers) vs \(layers)") }
        if let dState, dState != configuration.stateSize { differences.append("--d-state \(configuration.stateSize) vs \(dState)") }
        if let expand, expand != configuration.expand { differences.append("--expand \(configuration.expand) vs \(expand)") }
        if let mixer, mixer != configuration.mixer(ofLayer: 0).rawValue { differences.append("--mixer \(configuration.mixer(ofLayer: 0).rawValue) vs \(mixer)") }
        if let kmerEmbedding, kmerEmbedding != configuration.ngramEmbedding?.order {
            differences.append("--kmer-embedding \(configuration.ngramEmbedding.map { String($0.order) } ?? "none") vs \(kmerEmbedding)")
        }
        if !differences.isEmpty { throw TrainingError.settingsChanged(path: output + "/run.json", differences: differences) }
        return configuration
    }

    private func checkSettings(_ settings: RunSettings, saved: RunSettings?, runURL: URL) throws {
        if let saved {
            var differences: [String] = []
            if saved.data != settings.data { differences.append("--data \(saved.data) vs \(settings.data)") }
            if saved.validationData != settings.validationData { differences.append("--validation-data \(saved.validationData) vs \(settings.validationData)") }
            if saved.validationFraction != settings.validationFraction { differences.append("--validation-fraction \(saved.validationFraction) vs \(settings.validationFraction)") }
            if saved.length != settings.length { differences.append("--length \(saved.length) vs \(settings.length)") }
            if saved.batch != settings.batch { differences.append("--batch \(saved.batch) vs \(settings.batch)") }
            if saved.seed != settings.seed { differences.append("--seed \(saved.seed) vs \(settings.seed)") }
            if !differences.isEmpty { throw TrainingError.settingsChanged(path: runURL.path, differences: differences) }
        } else {
            try FileManager.default.createDirectory(at: runFolder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(settings), to: runURL)
        }
    }

    private func trainLanguageModel(saved: RunSettings?, runURL: URL, store: CheckpointStore) throws {
        let data = self.data.isEmpty ? (saved?.data ?? []) : self.data
        let validationData = self.validationData.isEmpty && self.data.isEmpty ? (saved?.validationData ?? []) : self.validationData
        let length = self.length ?? saved?.length ?? 1024
        let progress = ProgressReporter(totalSteps: steps ?? 1, plainInterval: logEvery)
        // The configuration first: impossible sizes are refused before any data is read.
        let configuration = try resolveConfiguration({
            try modelConfiguration(vocabulary: DNATokenizer.vocabularySize, padToken: Int(DNATokenizer.pad),
                                   tokenizer: "dna-char")
        }, saved: saved)
        // Only on a terminal: when stderr is a log, a bad --data file must give one line, the error.
        if progress.isTerminal { progress.message("reading \(data.joined(separator: ", "))") }
        let corpus = try TokenCorpus.dna(paths: data)
        let fraction = validationData.isEmpty ? validationFraction : 0
        let split: (training: [Window], validation: [Window])
        do {
            split = try TokenWindowData.windows(of: corpus, length: length, validationFraction: fraction, seed: seed)
        } catch {
            throw TrainingError.data("\(data.joined(separator: ", ")): \(error)")
        }
        var validationCorpus = corpus
        var validationWindows = split.validation
        if !validationData.isEmpty {
            validationCorpus = try TokenCorpus.dna(paths: validationData)
            validationWindows = try TokenWindowData.windows(of: validationCorpus, length: length, validationFraction: nil,
                                                            seed: seed).training
        }
        let source = try TokenWindowData(corpus: corpus, windows: split.training, batchSize: batch, seed: seed,
                                         padding: DNATokenizer.pad)
        let validation = try TokenWindowData.fixedBatches(Array(validationWindows.prefix(validationBatches * batch)),
                                                          corpus: validationCorpus, batchSize: batch,
                                                          padding: DNATokenizer.pad)
        progress.message("\(corpus.sequences.count) sequences, \(corpus.tokenCount) bases: \(split.training.count) training windows of \(length), \(validationWindows.count) validation windows (\(validation.count) batches used)")
        let settings = RunSettings(task: .lm, data: data, validationData: validationData,
                                   validationFraction: fraction, length: length, batch: batch, seed: seed,
                                   configuration: .object(configuration.jsonObject()))
        let batchesPerEpoch = source.batchesPerEpoch ?? 1
        let steps = self.steps ?? Int((epochs ?? 1) * Double(batchesPerEpoch) / Double(accumulate)).clamped(atLeast: 1)
        try checkSettings(settings, saved: saved, runURL: runURL)
        try runTrainer(source: source, validation: validation, configuration: configuration, steps: steps,
                       store: store, progress: progress)
    }

    private func trainSynthetic<Task: SyntheticTask>(_ task: Task, saved: RunSettings?, runURL: URL,
                                                     store: CheckpointStore) throws {
        let source = try SyntheticData(task: task, batchSize: batch, seed: seed &+ 1000)
        let validation = SyntheticData.fixedBatches(task, count: validationBatches, batchSize: batch, seed: seed &+ 2000)
        let configuration = try resolveConfiguration({
            try modelConfiguration(vocabulary: task.vocabularySize, padToken: nil, tokenizer: nil)
        }, saved: saved)
        let settings = RunSettings(task: self.task, data: [], validationData: [], validationFraction: 0,
                                   length: task.length, batch: batch, seed: seed,
                                   configuration: .object(configuration.jsonObject()))
        try checkSettings(settings, saved: saved, runURL: runURL)
        let progress = ProgressReporter(totalSteps: steps ?? 1000, plainInterval: logEvery)
        try runTrainer(source: source, validation: validation, configuration: configuration, steps: steps ?? 1000,
                       store: store, progress: progress)
    }

    private func runTrainer<Source: TrainingDataSource>(source: Source, validation: [TrainingBatch],
                                                        configuration: MambaConfiguration, steps: Int,
                                                        store: CheckpointStore, progress: ProgressReporter) throws
    where Source.Batch == TrainingBatch {
        let model = try MambaModel(configuration: configuration, seed: seed)
        let trainer = try Trainer(model: model, data: source, validation: validation,
                                  options: try trainingOptions(steps: steps))
        trainer.checkpoints = store
        trainer.progress = progress
        if resume { try trainer.resume() }
        trainer.metrics = try MetricsLog(url: runFolder.appendingPathComponent("metrics.jsonl"),
                                         truncatingAfterStep: trainer.step)
        InterruptFlag.installSignalHandlers()
        progress.message("training \(model.layout.entries.reduce(0) { $0 + $1.count }) parameters "
                         + "(\(configuration.numHiddenLayers) layers, d_model \(configuration.hiddenSize), \(configuration.mixer(ofLayer: 0).rawValue)) "
                         + "for \(steps) steps from step \(trainer.step) on \(Parallel.threadCount) threads")
        let outcome = try trainer.run(stopAfter: stopAfter)
        let validationText = outcome.validation.map { v in
            String(format: "; validation loss %.4f", v.loss) + (v.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? "")
        } ?? ""
        print("\(outcome.reason.rawValue) at step \(outcome.step)\(validationText); model folder: \(outcome.checkpoint?.path ?? "none")")
        if outcome.reason == .interrupted { throw ExitCode(130) }
    }
}

extension Int {
    fileprivate func clamped(atLeast minimum: Int) -> Int { Swift.max(self, minimum) }
}
