// `mambakit train --task classify | eval | predict | embed` for DNA sequence classification (issue 7). The work lives
// in MambaGenomicsML (DNAClassifier, trainDNAClassifier, the streaming predictor); this file parses options and
// prints. TrainDispatch.swift routes FASTA data and DNA model folders here.
import ArgumentParser
import Foundation
import MambaKit

/// Options shared by the commands that read labelled DNA.
struct DNADataOptions: ParsableArguments {
    @Option(name: .customLong("labels"),
            help: "Label manifest for a FASTA file: TSV or CSV with `id` and `label` columns (default: label=CLASS in each header).")
    var manifest: String?
    @Option(help: "Genomic Benchmarks folder only: the reference FASTA(.gz) file, or a folder of references named as in metadata.yaml (default ~/.genomic_benchmarks/fasta).")
    var reference: String?
}

/// `mambakit train --task classify --data TRAIN.fa.gz --out DIR`.
struct DNATrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a DNA sequence classifier from FASTA(.gz) with labels, or a Genomic Benchmarks folder.",
        discussion: """
        --data is a FASTA or FASTA.gz file whose headers carry label=CLASS (or give --labels MANIFEST), or a Genomic \
        Benchmarks folder ({train,test}/<class>.csv.gz and --reference). A validation split (--validation-fraction, \
        stratified by class, seeded) is carved from the training records; the model is evaluated on it every \
        --eval-every steps and the best evaluation's parameters are kept. Records longer than --window are cut into \
        windows every --stride bases and their predictions averaged. Ctrl-C (or SIGTERM) stops training early and \
        keeps the best model so far. Writes DIR/config.json, DIR/model.safetensors \
        (a transformers-style folder) and DIR/metrics.jsonl. Defaults are the measured ones of docs/dna.md. \
        --ensemble K trains K models with seeds --seed, --seed + 1, ... on one validation split and writes them as \
        an ensemble (DIR/member-1, ...; eval, predict and embed average the members' probabilities); `mambakit \
        ensemble` joins models trained separately (give them one --split-seed).
        """
    )

    @Option(help: "Must be classify (next-base pre-training is --task lm).") var task = "classify"
    @Option(help: "Training data: FASTA(.gz) with labels, or a Genomic Benchmarks folder.") var data: String
    @OptionGroup var dataOptions: DNADataOptions
    @Option(name: [.customLong("out"), .customLong("output")], help: "Output model folder.") var out: String
    @Option(help: "Labelled FASTA used for validation instead of a split of --data.") var validation: String?
    @Option(name: .customLong("validation-fraction"),
            help: "Fraction of the training records held out for model selection (0 to 0.5; 0: keep the last step).")
    var validationFraction = 0.1
    @Option(name: .customLong("d-model"), help: "Backbone width (typically 64-256).") var dModel = 64
    @Option(help: "Mamba layers (typically 2-4).") var layers = 2
    @Option(name: .customLong("d-state"), help: "SSM state size per channel (typically 8-16).") var dState = 16
    @Option(help: "d_inner / d_model (typically 2).") var expand = 2
    @Option(name: .customLong("conv-kernel"), help: "Width of each mixer's causal convolution in bases (typically 4-16).")
    var convKernel = 4
    @Option(name: .customLong("kmer-embedding"),
            help: "Also embed the k-mer ending at each position (k-mer tokenization beside the bases; 0: off; typically 3-6; 4^k + 1 rows of d-model).")
    var kmerEmbedding = 0
    @Option(help: "Mixer of every layer: s6 (selective) or s4d.") var mixer = "s6"
    @Flag(inversion: .prefixedNo, help: "BiMamba: a weight-tied reverse-direction mixer in every layer (about 2x the compute).")
    var bidirectional = false
    @Flag(name: .customLong("rc-augment"), inversion: .prefixedNo,
          help: "Reverse-complement each training window with probability 1/2.")
    var rcAugment = true
    @Option(name: .customLong("crop-augment"),
            help: "Train on a random run of each window keeping between this fraction of its bases and all of them (1: off; typically 0.5-1).")
    var cropAugment = 1.0
    @Option(help: "Validate and keep an exponential moving average of the parameters with this decay per step (0: off; typically 0.99-0.999).")
    var ema = 0.0
    @Flag(name: .customLong("rc-average"), inversion: .prefixedNo,
          help: "At validation and prediction, average each window's probabilities with its reverse complement's (2x the prediction compute).")
    var rcAverage = true
    @Option(help: "Pooling of the final hidden states: mean (over valid positions), max (per channel, over valid positions) or last (the last valid position).")
    var pooling = "mean"
    @Option(help: "Window length in bases (records up to this length are read whole; typically 256-4096).") var window = 1024
    @Option(help: "Bases between window starts for longer records (default: window / 2).") var stride: Int?
    @Option(help: "Passes over the training windows (ignored with --steps).") var epochs = 4.0
    @Option(help: "Optimizer steps (default: from --epochs).") var steps: Int?
    @Option(help: "Windows per batch (typically 16-64).") var batch = 16
    @Option(name: [.customLong("lr"), .customLong("learning-rate")],
            help: "Peak learning rate (5% linear warm-up, then cosine to a tenth; typically 1e-3 to 5e-3).")
    var learningRate = 5e-3
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (typically 0 to 0.1).") var weightDecay = 0.1
    @Option(name: .customLong("eval-every"), help: "Steps between validations (default: half an epoch).") var evalEvery: Int?
    @Option(name: .customLong("init-from"),
            help: "Initialise the backbone from this model folder or `train --task lm` run folder (its d_model, layers, d_state, expand, mixer, conv kernel and k-mer embedding are used).")
    var initFrom: String?
    @Option(help: "Seed of the split, initial parameters, window order and augmentation (any integer 0 to 2^64-1).") var seed: UInt64 = 1
    @Option(name: .customLong("split-seed"),
            help: "Seed of the validation split only (any integer 0 to 2^64-1; default: --seed); models to be joined by `mambakit ensemble` should share it.")
    var splitSeed: UInt64?
    @Option(help: "Models to train and average, seeds --seed, --seed + 1, ... (typically 1-8; each costs a full training).")
    var ensemble = 1
    @Flag(help: "Continue the interrupted run in --out from its checkpoint (OUT/checkpoints) exactly; the other options must be the same.")
    var resume = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            guard task == "classify" else { throw CommandFailure("--task: expected classify for DNA classification (next-base pre-training: --task lm), found \(task)") }
            guard let mixerKind = MixerKind(rawValue: mixer) else { throw CommandFailure("--mixer: expected s6 or s4d, found \(mixer)") }
            guard let poolingKind = ClassifierPooling(rawValue: pooling) else {
                throw CommandFailure("--pooling: expected mean, last or max, found \(pooling)")
            }
            guard cropAugment > 0, cropAugment <= 1 else {
                throw CommandFailure("--crop-augment: expected a fraction above 0 and at most 1, found \(cropAugment)")
            }
            guard (0...8).contains(kmerEmbedding) else {
                throw CommandFailure("--kmer-embedding: expected a k-mer length from 1 to 8, or 0 for none, found \(kmerEmbedding)")
            }
            guard ema >= 0, ema < 1 else {
                throw CommandFailure("--ema: expected a decay from 0 up to (not including) 1, found \(ema)")
            }
            guard (0...0.5).contains(validationFraction) else {
                throw CommandFailure("--validation-fraction: expected 0 to 0.5, found \(validationFraction)")
            }
            guard ensemble >= 1 else { throw CommandFailure("--ensemble: expected 1 or more models, found \(ensemble)") }
            guard window >= 1, (stride ?? 1) >= 1, batch >= 1, epochs > 0, (steps ?? 1) >= 1, (evalEvery ?? 1) >= 1,
                  dModel >= 1, layers >= 1, dState >= 1, expand >= 1, convKernel >= 1 else {
                throw CommandFailure("--window, --stride, --batch, --steps, --eval-every, --d-model, --layers, --d-state and --expand must be >= 1, --epochs > 0")
            }
            let progress = ProgressReporter(totalSteps: steps ?? 0)
            let train = try DNADataSource(path: data, manifest: dataOptions.manifest, reference: dataOptions.reference,
                                          split: "train").load()
            let held = try validation.map { try DNADataSource(path: $0, manifest: nil, reference: dataOptions.reference,
                                                              split: "test").load(labelSet: train.labels) }
            var options = DNAClassifierTrainingOptions()
            options.dModel = dModel
            options.layers = layers
            options.dState = dState
            options.expand = expand
            options.convKernel = convKernel
            options.kmerEmbedding = kmerEmbedding
            options.mixer = mixerKind
            options.bidirectional = bidirectional
            options.pooling = poolingKind
            options.rcAugment = rcAugment
            options.cropFraction = cropAugment
            options.emaDecay = ema
            options.settings = DNAClassifierSettings(windowLength: window, windowStride: stride, rcAverage: rcAverage,
                                                     rcAugment: rcAugment)
            options.epochs = epochs
            options.steps = steps
            options.batchSize = batch
            options.learningRate = learningRate
            options.weightDecay = weightDecay
            options.validationFraction = held == nil ? validationFraction : 0
            options.evaluationInterval = evalEvery
            options.seed = seed
            options.splitSeed = splitSeed
            options.initFrom = initFrom.map { URL(fileURLWithPath: $0) }
            let outURL = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            if ensemble > 1 {
                guard !resume else {
                    throw CommandFailure("--resume: continues a single model's training; an interrupted --ensemble run keeps its finished members, train the missing seeds with --seed N --split-seed S and join them with `mambakit ensemble`")
                }
                return try trainEnsemble(train: train, validation: held, options: options, progress: progress, to: outURL)
            }
            // The run's state goes to OUT/checkpoints after each validation stretch and on Ctrl-C, and is removed once
            // the model is written; --resume continues from it.
            let checkpoints = outURL.appendingPathComponent("checkpoints")
            let latest = try CheckpointStore(directory: checkpoints, keep: 1).latest()
            if resume, latest == nil { throw TrainingError.nothingToResume(path: checkpoints.path) }
            if !resume, latest != nil {
                throw CommandFailure("\(out) holds an interrupted run (checkpoints/): pass --resume to continue it, or choose another --out")
            }
            let metricsURL = outURL.appendingPathComponent("metrics.jsonl")
            if !resume { try? FileManager.default.removeItem(at: metricsURL) }
            let metrics = try MetricsLog(url: metricsURL, truncatingAfterStep: latest?.step,
                                         redoneEvents: ["validation", "stop"])
            InterruptFlag.installSignalHandlers()
            let (model, report) = try trainDNAClassifier(train: train, validation: held, options: options,
                                                         progress: progress, metrics: metrics, checkpoints: checkpoints,
                                                         resume: resume, stopRequested: { InterruptFlag.isRaised })
            if report.interrupted {
                progress.message("stopped on request at step \(report.steps); keeping the best model so far (continue with --resume)")
            }
            try model.save(to: outURL)
            if !report.interrupted { try? FileManager.default.removeItem(at: checkpoints) }
            if let v = report.validation {
                print(String(format: "validation: accuracy %.4f, MCC %.4f, loss %.4f over %d records (step %d of %d kept)",
                             v.accuracy, v.mcc, v.loss, v.count, report.selectedStep, report.steps))
            }
            print(String(format: "trained %d steps in %.1f s; model written to %@", report.steps, report.seconds, outURL.path))
            if report.interrupted { throw ExitCode(130) }   // written, but not the finished run: 128 + SIGINT, as `train --task lm`
        }
    }

    /// --ensemble K: the members one after another (each logging to DIR/member-i/metrics.jsonl), then the ensemble.
    func trainEnsemble(train: SequenceDataset, validation: SequenceDataset?, options: DNAClassifierTrainingOptions,
                       progress: ProgressReporter, to outURL: URL) throws {
        InterruptFlag.installSignalHandlers()
        let (model, report) = try trainDNAClassifierEnsemble(
            train: train, validation: validation, options: options, count: ensemble, progress: progress,
            metrics: { index in
                let folder = outURL.appendingPathComponent(DNAClassifier.memberFolderName(index))
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                return try MetricsLog(url: folder.appendingPathComponent("metrics.jsonl"))
            },
            stopRequested: { InterruptFlag.isRaised })
        if report.interrupted {
            progress.message("stopped on request during member \(report.members.count); keeping \(report.members.count) member(s)")
        }
        try model.save(to: outURL)
        for (index, member) in report.members.enumerated() {
            if let v = member.validation {
                print(String(format: "member %d (seed %llu): validation accuracy %.4f, MCC %.4f, loss %.4f (step %d of %d kept)",
                             index + 1, options.seed &+ UInt64(index), v.accuracy, v.mcc, v.loss, member.selectedStep,
                             member.steps))
            }
        }
        if let v = report.validation {
            print(String(format: "ensemble of %d: validation accuracy %.4f, MCC %.4f, loss %.4f over %d records",
                         model.members.count, v.accuracy, v.mcc, v.loss, v.count))
        }
        let seconds = report.members.reduce(0) { $0 + $1.seconds }
        print(String(format: "trained %d members (%d steps) in %.1f s; ensemble written to %@", report.members.count,
                     report.members.reduce(0) { $0 + $1.steps }, seconds, outURL.path))
        if report.interrupted { throw ExitCode(130) }
    }
}

/// `mambakit ensemble --out DIR MODEL MODEL ...`.
struct DNAEnsembleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ensemble",
        abstract: "Join DNA classifiers of the same labels into one ensemble model folder (probabilities averaged).",
        discussion: """
        Each MODEL is a classifier folder (or an ensemble, whose members are added). They must share the labels, \
        window length, stride and RC averaging; the first one's settings are kept. Train them with one \
        --split-seed so they were validated on the same records. Writes DIR/member-1, DIR/member-2, ... and \
        DIR/config.json; `eval`, `predict` and `embed` read DIR like any classifier folder (embeddings: the members' \
        concatenated).
        """
    )

    @Option(name: [.customLong("out"), .customLong("output")], help: "Output ensemble folder.") var out: String
    @Argument(help: "Classifier folders to join (two or more).") var models: [String]

    func run() throws {
        try runReportingErrors {
            guard models.count >= 2 else { throw CommandFailure("expected two or more model folders, found \(models.count)") }
            let classifiers = try models.map { try DNAClassifier.load(from: resolveModelFolder(URL(fileURLWithPath: $0))) }
            let joined = try DNAClassifier.ensemble(of: classifiers)
            try joined.save(to: URL(fileURLWithPath: out))
            print("ensemble of \(joined.members.count) members written to \(out)")
        }
    }
}

/// Whether a model folder holds a DNA model (tokenizer dna-char): the dispatchers' test.
func isDNAModelFolder(_ path: String) -> Bool {
    guard let folder = try? resolveModelFolder(URL(fileURLWithPath: path)),
          let configuration = try? MambaConfiguration.load(from: folder.appendingPathComponent("config.json")) else {
        return false
    }
    return configuration.tokenizer == DNAClassifier.tokenizerName
}

/// `mambakit eval --model DIR --data TEST.fa.gz [--json]`.
struct DNAEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a DNA classifier (accuracy, per-class precision and recall, MCC) or a next-base model (bits per base).",
        discussion: """
        Classifiers: windows and reverse-complement averaging as the model folder's settings say. Next-base models \
        (`train --task lm`): cross-entropy in bits per base over non-overlapping windows of --length bases (the \
        first base of each window has no context and is not scored).
        """
    )

    @Option(help: "Model folder (or a `train --task lm` run folder).") var model: String
    @Option(help: "Labelled FASTA(.gz), or a Genomic Benchmarks folder (its test split).") var data: String
    @OptionGroup var dataOptions: DNADataOptions
    @Option(help: "Genomic Benchmarks split to evaluate.") var split = "test"
    @Flag(help: "Print one JSON object (accuracy, count, loss, mcc, labels, precision, recall, confusion).") var json = false
    @Option(help: "Next-base models: bases per window (typically 256-4096).") var length = 1024
    @Option(name: .customLong("rc-average"),
            help: "Override the model's reverse-complement averaging: true or false (default: as trained).")
    var rcAverage: Bool?
    @Flag(help: "Continue the interrupted run in --out from its checkpoint (OUT/checkpoints) exactly; the other options must be the same.")
    var resume = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            let folder = try resolveModelFolder(URL(fileURLWithPath: model))
            let configuration = try MambaConfiguration.load(from: folder.appendingPathComponent("config.json"))
            if configuration.headType == .causalLM {
                try evaluateLanguageModel(folder)
                return
            }
            var classifier = try DNAClassifier.load(from: folder)
            if let rcAverage {
                var settings = classifier.settings
                settings.rcAverage = rcAverage
                classifier = try classifier.with(settings: settings)
            }
            let dataset = try DNADataSource(path: data, manifest: dataOptions.manifest, reference: dataOptions.reference,
                                            split: split).load(labelSet: classifier.labels)
            let start = DispatchTime.now().uptimeNanoseconds
            let metrics = try classifier.evaluate(dataset)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let labels = classifier.labels
            if json {
                func optional(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
                var precision: [String: JSONValue] = [:], recall: [String: JSONValue] = [:]
                for (k, label) in labels.enumerated() {
                    precision[label] = optional(metrics.precision[k])
                    recall[label] = optional(metrics.recall[k])
                }
                let object: [String: JSONValue] = [
                    "accuracy": .number(metrics.accuracy), "count": .integer(Int64(metrics.count)),
                    "correct": .integer(Int64(metrics.correct)), "loss": .number(metrics.loss), "mcc": .number(metrics.mcc),
                    "labels": .array(labels.map { .string($0) }), "precision": .object(precision), "recall": .object(recall),
                    "confusion": .array(metrics.confusion.map { .array($0.map { .integer(Int64($0)) }) }),
                    "rc_average": .bool(classifier.settings.rcAverage), "seconds": .number(seconds),
                ]
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
            } else {
                print(String(format: "accuracy %.4f (%d / %d records), MCC %.4f, loss %.4f", metrics.accuracy,
                             metrics.correct, metrics.count, metrics.mcc, metrics.loss))
                print("class\tprecision\trecall\trecords")
                for (k, label) in labels.enumerated() {
                    func text(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
                    print("\(label)\t\(text(metrics.precision[k]))\t\(text(metrics.recall[k]))\t\(metrics.confusion[k].reduce(0, +))")
                }
                print("confusion matrix (rows: true, columns: predicted):")
                print("\t" + labels.joined(separator: "\t"))
                for (k, row) in metrics.confusion.enumerated() { print(labels[k] + "\t" + row.map(String.init).joined(separator: "\t")) }
            }
        }
    }

    /// Bits per base of a next-base model over the records of --data.
    func evaluateLanguageModel(_ folder: URL) throws {
        guard length >= 2 else { throw CommandFailure("--length: expected >= 2, found \(length)") }
        let lm = try MambaModel.load(from: folder)
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try dnaBitsPerBase(lm, fasta: data, windowLength: length)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if json {
            let object: [String: JSONValue] = [
                "bits_per_base": .number(result.bitsPerBase), "count": .integer(Int64(result.predictions)),
                "records": .integer(Int64(result.records)), "seconds": .number(seconds),
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
        } else {
            print(String(format: "%.4f bits per base over %d predicted bases of %d records (%.1f s)", result.bitsPerBase,
                         result.predictions, result.records, seconds))
        }
    }
}

/// `mambakit predict --model DIR INPUT.fa.gz [--out PREDS.tsv]`.
struct DNAPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify every record of a FASTA(.gz) file: TSV id, label, one probability per class.",
        discussion: """
        Streams the input (memory does not grow with the number of records). With --out the TSV is written to a \
        temporary file beside it and renamed when complete; without, it goes to standard output. Throughput (bases/s) \
        is printed on standard error.
        """
    )

    @Option(help: "DNA classifier folder written by `mambakit train --task classify`.") var model: String
    @Option(help: "Output TSV (default: standard output).") var out: String?
    @Option(help: "Records per prediction chunk (typical 256-4096; memory: about chunk x record length).") var chunk = 1024
    @Option(help: "Windows per forward pass (typically 32-512).") var batch = 64
    @Option(name: .customLong("rc-average"),
            help: "Override the model's reverse-complement averaging: true or false (default: as trained).")
    var rcAverage: Bool?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Argument(help: "Input FASTA or FASTA.gz file.") var input: String

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            guard chunk >= 1 else { throw CommandFailure("--chunk: expected >= 1, found \(chunk)") }
            var classifier = try DNAClassifier.load(from: resolveModelFolder(URL(fileURLWithPath: model)))
            if let rcAverage {
                var settings = classifier.settings
                settings.rcAverage = rcAverage
                classifier = try classifier.with(settings: settings)
            }
            guard batch >= 1 else { throw CommandFailure("--batch: expected >= 1, found \(batch)") }
            classifier.predictionBatch = batch
            let start = DispatchTime.now().uptimeNanoseconds
            let counts = try classifier.writePredictions(fasta: input, to: out, chunk: chunk)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            FileHandle.standardError.write(Data(String(format: "predicted %d records (%d bases) in %.2f s: %.0f bases/s, %.0f records/s\n",
                                                       counts.records, counts.bases, seconds, Double(counts.bases) / seconds,
                                                       Double(counts.records) / seconds).utf8))
        }
    }
}

/// `mambakit embed --model DIR INPUT.fa.gz --out E.safetensors`.
struct DNAEmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Write per-record embeddings of a FASTA(.gz) file (safetensors) with a DNA classifier's backbone.",
        discussion: """
        `embeddings` {records, d_model}: the pooled final hidden states (the model's pooling, mean by default), \
        averaged over windows (and reverse complements, as the model predicts); for an ensemble the members' \
        embeddings side by side {records, sum of d_model}; `probabilities` {records, classes}; metadata `ids` \
        (newline-separated, file order) and `labels`.
        """
    )

    @Option(help: "DNA classifier folder.") var model: String
    @Option(help: "Output .safetensors file.") var out: String
    @Option(help: "Records per chunk (typical 256-4096; memory grows with it).") var chunk = 1024
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Argument(help: "Input FASTA or FASTA.gz file.") var input: String

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            guard chunk >= 1 else { throw CommandFailure("--chunk: expected >= 1, found \(chunk)") }
            let classifier = try DNAClassifier.load(from: resolveModelFolder(URL(fileURLWithPath: model)))
            let counts = try classifier.writeEmbeddings(fasta: input, to: URL(fileURLWithPath: out), chunk: chunk)
            print("\(counts.records) embeddings of \(classifier.embeddingWidth) values written to \(out)")
        }
    }
}
