// Training a DNA classifier, as one call: carve a validation split from the training records (stratified by class,
// seeded; the test split is never seen), train with AdamW (warm-up, cosine decay) on windows of the remaining records,
// evaluate on the validation records every `evaluationInterval` steps (windows and strands combined exactly as at
// prediction), and keep the parameters of the best evaluation (highest accuracy; lower loss breaks ties). The
// returned model holds those parameters.
import Foundation
import MambaBackbone
import MambaGenomics
import MambaTensor
import MambaTokenizers
import MambaTraining

/// Everything `trainDNAClassifier` needs besides the data. The defaults are the measured ones of docs/dna.md.
public struct DNAClassifierTrainingOptions: Sendable, Equatable {
    /// Backbone width.
    public var dModel = 64
    /// Mamba layers.
    public var layers = 2
    /// SSM state size per channel.
    public var dState = 16
    /// d_inner / d_model.
    public var expand = 2
    /// Width of each mixer's causal depthwise convolution (d_conv; Mamba's default 4).
    public var convKernel = 4
    /// Order k of a k-mer embedding added to the base embedding (`NGramEmbedding`: each position also looks up the
    /// k-mer ending there; 0: none).
    public var kmerEmbedding = 0
    /// The mixer of every layer.
    public var mixer: MixerKind = .s6
    /// BiMamba: a second (weight-tied) mixer over the reversed sequence in every layer.
    public var bidirectional = false
    /// How the final hidden states become one vector: the mean over valid positions, or the last valid position.
    public var pooling: ClassifierPooling = .mean
    /// Windows and reverse-complement averaging at prediction.
    public var settings = DNAClassifierSettings()
    /// Reverse-complement augmentation of the training windows (each reversed with probability 1/2).
    public var rcAugment = true
    /// Random-crop augmentation: train on a random run of each window keeping between this fraction of its bases and
    /// all of them (1: off).
    public var cropFraction = 1.0
    /// Decay per step of an exponential moving average of the parameters (`ParameterAverage`, bias-corrected; 0: off).
    /// With it, validation, model selection and the returned model use the average; the optimizer trains the raw
    /// parameters as without it (the same steps and losses).
    public var emaDecay = 0.0
    /// Passes over the training windows (ignored when `steps` is set).
    public var epochs = 4.0
    /// Optimizer steps; nil: from `epochs`.
    public var steps: Int?
    /// Windows per batch.
    public var batchSize = 16
    /// Peak learning rate (linear warm-up over `warmupFraction` of the steps, then cosine to a tenth).
    public var learningRate = 5e-3
    /// Fraction of the steps spent warming up.
    public var warmupFraction = 0.05
    /// AdamW decoupled weight decay (not on norms, biases, A_log, D).
    public var weightDecay = 0.1
    /// Fraction of the training records held out for validation and model selection (0: none; the last step's
    /// parameters are kept).
    public var validationFraction = 0.1
    /// Steps between validations; nil: twice per epoch.
    public var evaluationInterval: Int?
    /// Seed of the split, the initial parameters, the window order and the augmentation.
    public var seed: UInt64 = 1
    /// Seed of the validation split only (nil: `seed`): models trained with different seeds and one split seed are
    /// validated on the same records, so an ensemble of them can be validated too.
    public var splitSeed: UInt64?
    /// A model folder (or a `mambakit train` run folder) whose backbone initialises the classifier's; its shape
    /// (d_model, layers, d_state, expand, mixers, convolution width, k-mer embedding) replaces the options'.
    public var initFrom: URL?

    /// The defaults.
    public init() {}
}

/// One validation during training.
public struct DNAValidationRecord: Sendable, Equatable, Codable {
    /// After this many steps.
    public var step: Int
    /// Validation accuracy.
    public var accuracy: Double
    /// Validation mean cross-entropy.
    public var loss: Double
}

/// What `trainDNAClassifier` did.
public struct DNATrainingReport: Sendable {
    /// Records trained on, and held out for validation.
    public var trainingRecords: Int, validationRecords: Int
    /// Training windows per epoch.
    public var trainingWindows: Int
    /// Optimizer steps taken.
    public var steps: Int
    /// The step whose parameters were kept (the best validation; `steps` without validation).
    public var selectedStep: Int
    /// Every validation, in order.
    public var validations: [DNAValidationRecord]
    /// The kept model's validation metrics (nil without validation).
    public var validation: ClassificationMetrics?
    /// Parameters.
    public var parameterCount: Int
    /// Wall time of the training (validation included).
    public var seconds: Double
    /// Training stopped early on request (the best model so far was kept).
    public var interrupted: Bool
}

/// Splits record indices into (training, validation): per class, a seeded shuffle of its records, the first
/// round(fraction · n) held out (at least one when the class has two or more records and fraction > 0).
public func stratifiedSplit(labels: [Int], classes: Int, fraction: Double, seed: UInt64) -> (training: [Int], validation: [Int]) {
    guard fraction > 0 else { return (Array(labels.indices), []) }
    var generator = Xoshiro256StarStar(seed: seed ^ 0x5B117)
    var training: [Int] = [], validation: [Int] = []
    for k in 0..<classes {
        var members = labels.indices.filter { labels[$0] == k }
        // Fisher-Yates with the project's generator (reproducible across platforms).
        if members.count > 1 {
            for i in stride(from: members.count - 1, to: 0, by: -1) {
                let j = Int(generator.next() % UInt64(i + 1))
                members.swapAt(i, j)
            }
        }
        var held = Int((fraction * Double(members.count)).rounded())
        if members.count >= 2 { held = min(max(held, 1), members.count - 1) } else { held = 0 }
        validation += members.prefix(held)
        training += members.dropFirst(held)
    }
    return (training.sorted(), validation.sorted())
}

/// The training records' indices and the validation set: `given`, or a stratified split of `train` drawn with
/// `options.splitSeed ?? options.seed` (none with a validation fraction of 0).
func validationSplit(of train: SequenceDataset, given: SequenceDataset?,
                     options: DNAClassifierTrainingOptions) throws -> (training: [Int], validation: SequenceDataset?) {
    if let given { return (Array(train.records.indices), given) }
    guard options.validationFraction > 0 else { return (Array(train.records.indices), nil) }
    let split = stratifiedSplit(labels: train.records.map { $0.labelIndex! }, classes: train.labels.count,
                                fraction: options.validationFraction, seed: options.splitSeed ?? options.seed)
    let held = try SequenceDataset(source: train.source + " (validation split)",
                                   records: split.validation.map { train.records[$0] }, labelSet: train.labels)
    return (split.training, held)
}

/// The model folder inside `url`: `url` itself when it holds config.json, else the newest checkpoint of a
/// `mambakit train` run folder (`checkpoints/latest`).
public func resolveModelFolder(_ url: URL) throws -> URL {
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) { return url }
    let store = CheckpointStore(directory: url.appendingPathComponent("checkpoints"), keep: 1)
    if let (_, folder) = try store.latest() { return folder }
    throw DNAModelError.model("\(url.path): expected a model folder (config.json + model.safetensors) or a training run folder (checkpoints/latest), found neither")
}

/// Trains a DNA classifier on `train` (labelled records; see the file header), optionally validating on a given
/// `validation` set instead of a split of `train`. Progress goes to `progress` (a bar on a terminal), one JSON line
/// per step and validation to `metrics`. `stopRequested` is polled between steps (e.g. `{ InterruptFlag.isRaised }`
/// after `InterruptFlag.installSignalHandlers()`): when it turns true, training validates once more and returns the
/// best model so far (`DNATrainingReport.interrupted`).
///
/// With `checkpoints` (a folder), the run's state is saved there after every stretch of steps between validations
/// and on a stop request (the newest only): parameters, AdamW moments, data position, the validations so far, the
/// best parameters and the parameter average (`DNAClassifierCheckpoint`). `resume: true` continues from it exactly:
/// the same steps, losses, validations and result as an uninterrupted run with the same options (which must match
/// the checkpoint's; otherwise `TrainingError.settingsChanged` names the differences).
///
/// ```swift
/// let train = try SequenceDataset(fasta: "datasets/dna/promoter/train.fa.gz")
/// let (model, report) = try trainDNAClassifier(train: train, options: DNAClassifierTrainingOptions(),
///                                              progress: ProgressReporter(totalSteps: 0))
/// try model.save(to: URL(fileURLWithPath: "promoter-model"))
/// ```
public func trainDNAClassifier(train: SequenceDataset, validation given: SequenceDataset? = nil,
                               options: DNAClassifierTrainingOptions, progress: ProgressReporter? = nil,
                               metrics: MetricsLog? = nil, checkpoints: URL? = nil, resume: Bool = false,
                               stopRequested: @escaping () -> Bool = { false }) throws -> (DNAClassifier, DNATrainingReport) {
    let started = DispatchTime.now().uptimeNanoseconds
    try options.settings.validate()
    guard train.labels.count >= 2 else {
        throw DNAModelError.input("\(train.source): expected labelled records of at least two classes, found \(train.labels.count) (\(train.labels.joined(separator: ", ")))")
    }
    guard options.batchSize >= 1, options.epochs > 0, (0..<1).contains(options.validationFraction),
          options.steps.map({ $0 >= 1 }) ?? true, options.evaluationInterval.map({ $0 >= 1 }) ?? true else {
        throw DNAModelError.settings("expected batch >= 1, epochs > 0, validation fraction in [0, 1), steps and evaluation interval >= 1")
    }
    let tokenizer = DNATokenizer()
    func encode(_ record: LabelledSequence) throws -> [Int32] {
        guard !record.sequence.isEmpty else {
            throw DNAModelError.input("\(record.file):\(record.line): record '\(record.id)' has no bases")
        }
        do { return try tokenizer.encode(record.sequence) } catch {
            throw DNAModelError.input("\(record.file):\(record.line): record '\(record.id)': \(error)")
        }
    }
    let allTokens = try train.records.map(encode)
    let allLabels = train.records.map { $0.labelIndex! }

    // The split (or the given validation set).
    let (trainingIndices, validationSet) = try validationSplit(of: train, given: given, options: options)

    // The model: fresh, or the shape and backbone of a pre-trained folder.
    var shape = (dModel: options.dModel, layers: options.layers, dState: options.dState, expand: options.expand,
                 mixer: options.mixer)
    var initFolder: URL?
    var convKernel = options.convKernel
    var kmerEmbedding = options.kmerEmbedding
    if let initFrom = options.initFrom {
        let folder = try resolveModelFolder(initFrom)
        let pre = try MambaConfiguration.load(from: folder.appendingPathComponent("config.json"))
        guard pre.tokenizer == DNAClassifier.tokenizerName || pre.tokenizer == nil,
              pre.vocabSize == DNATokenizer.vocabularySize else {
            throw DNAModelError.model("\(folder.path)/config.json: expected a DNA model (tokenizer dna-char, vocabulary \(DNATokenizer.vocabularySize)), found tokenizer \(pre.tokenizer ?? "none"), vocabulary \(pre.vocabSize)")
        }
        let mixers = Set((0..<pre.numHiddenLayers).map { pre.mixer(ofLayer: $0) })
        guard mixers.count == 1 else {
            throw DNAModelError.model("\(folder.path)/config.json: expected one mixer kind for every layer, found \(mixers)")
        }
        shape = (pre.hiddenSize, pre.numHiddenLayers, pre.stateSize, pre.expand, mixers.first!)
        convKernel = pre.convKernel
        kmerEmbedding = pre.ngramEmbedding?.order ?? 0
        if let ngram = pre.ngramEmbedding, ngram != DNAClassifier.kmerEmbeddingConfiguration(order: ngram.order) {
            throw DNAModelError.model("\(folder.path)/config.json: expected a k-mer embedding over A, C, G, T (ids 7-10), found alphabet \(ngram.alphabet)")
        }
        initFolder = folder
    }
    let classifier = try DNAClassifier(labels: train.labels, dModel: shape.dModel, layers: shape.layers,
                                       dState: shape.dState, expand: shape.expand,
                                       bidirectional: options.bidirectional, mixer: shape.mixer,
                                       pooling: options.pooling, convKernel: convKernel, kmerEmbedding: kmerEmbedding,
                                       settings: { var s = options.settings; s.rcAugment = options.rcAugment; return s }(),
                                       seed: options.seed)
    if let initFolder {
        let copied = try classifier.initializeBackbone(from: initFolder)
        progress?.message("backbone initialised from \(initFolder.path) (\(copied) tensors)")
    }

    let source = try DNAWindowSource(records: trainingIndices.map { allTokens[$0] },
                                     labels: trainingIndices.map { Int32(allLabels[$0]) },
                                     settings: classifier.settings, rcAugment: options.rcAugment,
                                     cropFraction: options.cropFraction, batchSize: options.batchSize, seed: options.seed)
    let perEpoch = source.batchesPerEpoch ?? 1
    let steps = options.steps ?? max(1, Int((options.epochs * Double(perEpoch)).rounded()))
    let interval = options.evaluationInterval ?? max(1, perEpoch / 2)
    let schedule = LearningRateSchedule(peak: options.learningRate,
                                        warmupSteps: max(1, Int(Double(steps) * options.warmupFraction)),
                                        totalSteps: steps, decay: .cosine)
    let trainer = try Trainer(model: classifier.model, data: source, options: TrainerOptions(
        steps: steps, optimizer: AdamWConfiguration(weightDecay: options.weightDecay), schedule: schedule,
        maxGradientNorm: 1.0))
    trainer.metrics = metrics
    trainer.progress = progress
    trainer.stopRequested = stopRequested
    // With an average, validation, selection and the result use it; `raw` holds the trained parameters meanwhile
    // (and while a resumed run evaluates its best parameters again).
    let parameters = classifier.model.parameters
    let average = try options.emaDecay > 0 ? ParameterAverage(decay: options.emaDecay, count: parameters.count) : nil
    if let average { trainer.afterStep = { _ in average.update(with: parameters) } }
    let raw = Tensor(zeros: [parameters.count])
    let parameterCount = classifier.model.layout.entries.reduce(0) { $0 + $1.count }

    var validations: [DNAValidationRecord] = []
    var best: (step: Int, accuracy: Double, loss: Double, metrics: ClassificationMetrics)?
    let bestParameters = Tensor(zeros: [classifier.model.parameters.count])

    /// The validation metrics with other parameters in place (`fill` writes them; nil: the trained ones), the trained
    /// parameters restored afterwards.
    func evaluate(_ validationSet: SequenceDataset, with fill: ((Tensor) -> Void)?) throws -> ClassificationMetrics {
        guard let fill else { return try classifier.evaluate(validationSet) }
        withExtendedLifetime((parameters, raw)) { raw.pointer.update(from: parameters.pointer, count: raw.count) }
        fill(parameters)
        defer { withExtendedLifetime((parameters, raw)) { parameters.pointer.update(from: raw.pointer, count: raw.count) } }
        return try classifier.evaluate(validationSet)
    }
    if let checkpoints {
        trainer.checkpoints = CheckpointStore(directory: checkpoints, keep: 1)
        trainer.checkpointExtras = { folder in
            try DNAClassifierCheckpoint(options: options, validations: validations, bestStep: best?.step,
                                        averageUpdates: average?.updates ?? 0)
                .write(to: folder, best: best == nil ? nil : bestParameters, averageSum: average?.sum)
        }
    }
    if resume {
        guard trainer.checkpoints != nil else { throw TrainingError.invalidOption("resume: expected a checkpoint folder, found none") }
        try trainer.resume()
        let folder = trainer.lastCheckpoint!
        let saved = try DNAClassifierCheckpoint.read(from: folder, options: options, parameterCount: parameters.count,
                                                     best: bestParameters, average: average)
        validations = saved.validations
        if let step = saved.bestStep, let validationSet {
            // The best model's metrics: evaluated again from its saved parameters (evaluation is deterministic).
            let result = try evaluate(validationSet) { target in
                withExtendedLifetime((target, bestParameters)) { target.pointer.update(from: bestParameters.pointer, count: target.count) }
            }
            best = (step, result.accuracy, result.loss, result)
        }
    }
    progress?.message("training on \(trainingIndices.count) records (\(source.windows.count) windows), validating on \(validationSet?.count ?? 0); \(train.labels.count) classes, \(parameterCount) parameters, \(steps) steps of \(options.batchSize) windows on \(Parallel.threadCount) threads" + (trainer.step > 0 ? "; resumed at step \(trainer.step)" : ""))

    /// Validates the current parameters (or their average), keeping the evaluated ones when they are the best so far.
    func validate(_ validationSet: SequenceDataset) throws {
        let result = try evaluate(validationSet, with: average.map { average in { average.write(into: $0) } })
        validations.append(DNAValidationRecord(step: trainer.step, accuracy: result.accuracy, loss: result.loss))
        try metrics?.write(["event": .string("validation"), "step": .integer(trainer.step),
                            "accuracy": .number(result.accuracy), "loss": .number(result.loss),
                            "mcc": .number(result.mcc), "count": .integer(result.count)])
        let improved = best.map { result.accuracy > $0.accuracy || (result.accuracy == $0.accuracy && result.loss < $0.loss) } ?? true
        if improved {
            best = (trainer.step, result.accuracy, result.loss, result)
            if let average {
                average.write(into: bestParameters)
            } else {
                withExtendedLifetime((bestParameters, parameters)) {
                    bestParameters.pointer.update(from: parameters.pointer, count: bestParameters.count)
                }
            }
        }
        progress?.message(String(format: "validation at step %d: accuracy %.4f, loss %.4f, MCC %.4f over %d records%@",
                                 trainer.step, result.accuracy, result.loss, result.mcc, result.count,
                                 improved ? " (best so far)" : ""))
    }

    // Validation points: every multiple of `interval` and the last step, wherever a run was stopped and resumed (plus
    // the step of a stop request, for the best model so far; a resumed run does not count that one). A checkpoint is
    // written when a stretch of steps ends, before its validation: a run resumed there validates that step first.
    if let validationSet, trainer.step > 0, trainer.step % interval == 0 || trainer.step == steps,
       validations.last?.step != trainer.step {
        try validate(validationSet)
    }
    var interrupted = false
    while trainer.step < steps && !interrupted {
        let outcome = try trainer.run(stopAfter: min(interval - trainer.step % interval, steps - trainer.step))
        interrupted = outcome.reason == .interrupted
        if let validationSet, validations.last?.step != trainer.step { try validate(validationSet) }
    }
    // The model validated best (with an average: those averaged parameters; without validation, the last average).
    if let best, best.step != trainer.step || average != nil {
        withExtendedLifetime((bestParameters, parameters)) {
            parameters.pointer.update(from: bestParameters.pointer, count: bestParameters.count)
        }
    } else if best == nil, let average {
        average.write(into: parameters)
    }
    classifier.model.releaseTrainingBuffers()
    let report = DNATrainingReport(trainingRecords: trainingIndices.count, validationRecords: validationSet?.count ?? 0,
                                   trainingWindows: source.windows.count, steps: trainer.step,
                                   selectedStep: best?.step ?? trainer.step, validations: validations,
                                   validation: best?.metrics, parameterCount: parameterCount,
                                   seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                                   interrupted: interrupted)
    return (classifier, report)
}

/// What `trainDNAClassifierEnsemble` did.
public struct DNAEnsembleTrainingReport: Sendable {
    /// Each member's training, in order.
    public var members: [DNATrainingReport]
    /// The ensemble's metrics on the shared validation records (nil without validation).
    public var validation: ClassificationMetrics?
    /// Training stopped early on request: the members trained so far (the last one's best parameters so far) form the
    /// ensemble.
    public var interrupted: Bool
}

/// Trains `count` classifiers that differ only in their seed (member i, 0-based: `options.seed + i` for the initial
/// parameters, window order and augmentation) and share one validation split (drawn with `options.splitSeed ??
/// options.seed`), and returns them as an ensemble validated on that split. `metrics(i)` gives member i's log.
/// A stop request ends the current member (keeping its best parameters so far) and trains no further ones.
public func trainDNAClassifierEnsemble(train: SequenceDataset, validation given: SequenceDataset? = nil,
                                       options: DNAClassifierTrainingOptions, count: Int,
                                       progress: ProgressReporter? = nil, metrics: (Int) throws -> MetricsLog? = { _ in nil },
                                       stopRequested: @escaping () -> Bool = { false }) throws -> (DNAClassifier, DNAEnsembleTrainingReport) {
    guard count >= 1 else { throw DNAModelError.settings("expected an ensemble of at least one member, found \(count)") }
    var members: [DNAClassifier] = [], reports: [DNATrainingReport] = []
    for index in 0..<count {
        if index > 0 && stopRequested() {
            reports[index - 1].interrupted = true
            break
        }
        var memberOptions = options
        memberOptions.seed = options.seed &+ UInt64(index)
        memberOptions.splitSeed = options.splitSeed ?? options.seed
        progress?.message("member \(index + 1) of \(count): seed \(memberOptions.seed)")
        let (member, report) = try trainDNAClassifier(train: train, validation: given, options: memberOptions,
                                                      progress: progress, metrics: metrics(index),
                                                      stopRequested: stopRequested)
        members.append(member)
        reports.append(report)
        if report.interrupted { break }
    }
    let ensemble = try DNAClassifier.ensemble(of: members)
    let validationMetrics = try validationSplit(of: train, given: given, options: options).validation
        .map { try ensemble.evaluate($0) }
    return (ensemble, DNAEnsembleTrainingReport(members: reports, validation: validationMetrics,
                                                interrupted: reports.last?.interrupted ?? false))
}

/// Trains a classifier on a labelled FASTA(.gz) file (`label=` in the headers, or an id -> label `manifest`) or a
/// Genomic Benchmarks folder (with `reference`), and writes it to `output` when given: the one call a program needs.
///
/// ```swift
/// let progress = ProgressReporter(totalSteps: 0, write: { line in print(line, terminator: "") })
/// let (model, report) = try trainDNAClassifier(fasta: "datasets/dna/coding/train.fa.gz", progress: progress)
/// ```
public func trainDNAClassifier(fasta path: String, manifest: String? = nil, reference: String? = nil,
                               options: DNAClassifierTrainingOptions = DNAClassifierTrainingOptions(),
                               output: URL? = nil, progress: ProgressReporter? = nil) throws -> (DNAClassifier, DNATrainingReport) {
    let train = try DNADataSource(path: path, manifest: manifest, reference: reference, split: "train").load()
    var metrics: MetricsLog?
    if let output {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        metrics = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
    }
    let result = try trainDNAClassifier(train: train, options: options, progress: progress, metrics: metrics)
    if let output { try result.0.save(to: output) }
    return result
}

/// Evaluates a classifier (a model folder) on labelled FASTA(.gz) or a Genomic Benchmarks folder's `test` split.
public func evaluateDNAClassifier(model folder: URL, fasta path: String, manifest: String? = nil,
                                  reference: String? = nil) throws -> ClassificationMetrics {
    let model = try DNAClassifier.load(from: resolveModelFolder(folder))
    let data = try DNADataSource(path: path, manifest: manifest, reference: reference, split: "test")
        .load(labelSet: model.labels)
    return try model.evaluate(data)
}
