// `mambakit train | eval | predict` for audio clip classification at any sample rate (issue 6). The data kind is
// chosen from the input: an audio manifest (TSV/CSV with `file` and `label` columns) or a folder of class
// subfolders is audio; a FASTA file is DNA (issue 7, not handled here: a clear error). The audio work itself lives
// in MambaAudioML; this file only parses options and prints.
import ArgumentParser
import Foundation
import MambaKit

/// What kind of data a `--data` path holds.
enum DataKind {
    case audio
    case fasta

    /// FASTA by extension (.fa, .fasta, .fna, optionally .gz), audio otherwise.
    static func of(_ path: String) -> DataKind {
        var name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name = String(name.dropLast(3)) }
        return [".fa", ".fasta", ".fna", ".fas"].contains(where: { name.hasSuffix($0) }) ? .fasta : .audio
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, printing any error as one line on standard error and exiting with status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// `mambakit train --data MANIFEST|FOLDER --out DIR`.
struct AudioTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model: audio clip classification from a manifest or class folders.",
        discussion: """
        --data is a manifest (TSV or CSV with a header; columns `file` and `label`, paths relative to the manifest; \
        other columns ignored) or a folder with one subfolder per class. Clips are used at their own sample rate, \
        never resampled; they must share one rate, which the model records as its trained rate. The model is a \
        rate-aware front end (a learned filter bank defined in time, energies over 25 ms frames every 10 ms, a \
        learned linear encoder to d_model), a Mamba backbone over the frames, mean pooling and a linear head. \
        Writes DIR/config.json, DIR/model.safetensors, DIR/audio_front_end.safetensors, DIR/metrics.jsonl.
        """
    )

    @Option(help: "Training clips: a manifest (.tsv/.csv) or a folder of class folders.") var data: String
    @Option(help: "Output model folder.") var out: String
    @Option(help: "Clips held out for validation (a manifest or folder), evaluated at the end.") var validation: String?
    @Option(help: "Optimizer steps.") var steps = 400
    @Option(help: "Clips per batch (typical 8-64).") var batch = 16
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate (warm-up, then cosine; typical 1e-4 to 1e-2).") var learningRate = 3e-3
    @Option(name: .customLong("d-model"), help: "Backbone width d_model (and front end outputs; typical 32-256).") var dModel = 64
    @Option(help: "Mamba layers.") var layers = 2
    @Option(name: .customLong("d-state"), help: "SSM state size n (typical 8-64).") var dState = 16
    @Option(help: "classify: front end filter channels (typically 32-128).") var channels = 64
    @Option(name: .customLong("filter-ms"), help: "classify: filter length in milliseconds (typically 8-32).") var filterMilliseconds = 16.0
    @Option(name: .customLong("window-ms"), help: "classify: frame (energy window) length in milliseconds (typically 20-50).") var windowMilliseconds = 25.0
    @Option(name: .customLong("hop-ms"), help: "classify: frame hop in milliseconds (typically 5-20).") var hopMilliseconds = 10.0
    @Option(name: .customLong("mixer"), help: "Backbone mixer: s6 or s4d.") var mixer = "s6"
    @Flag(name: .customLong("bidirectional"),
          help: "classify: BiMamba layers (a second scan over the reversed frames of each clip, outputs added).")
    var bidirectional = false
    @Flag(name: .customLong("normalize-peak"), help: "classify: scale every clip to a peak of 0.5 (full scale 1).") var normalizePeak = false
    @Flag(name: .customLong("no-feature-normalization"),
          help: "classify: do not subtract each channel's mean log-energy over the clip.") var noFeatureNormalization = false
    @Option(name: .customLong("speed-jitter"),
            help: "classify: speed perturbation, each clip presented at rate·(1±u) with u uniform up to this fraction (0: off; typically 0.1-0.3).")
    var speedJitter = 0.25
    @Option(name: .customLong("frequency-mask"),
            help: "classify: SpecAugment frequency masking, a band of up to this many filter channels zeroed per clip in training (0: off; typically 0-16 of 64).")
    var frequencyMask = 0
    @Option(name: .customLong("time-mask"),
            help: "classify: SpecAugment time masking, a span of up to this fraction of each clip's frames zeroed in training (0: off; typically 0-0.2).")
    var timeMask = 0.0
    @Flag(name: .customLong("train-filters"),
          help: "classify: also learn the front end's filters (default: they stay at their mel-spaced initial values; learning them overfit the digits: docs/audio.md).")
    var trainFilters = false
    @Option(name: .customLong("weight-decay"), help: "classify: AdamW weight decay (typically 0-0.1).") var weightDecay = 0.1
    @Option(help: "Random seed (any integer 0 to 2^64-1; same seed and thread count, same result).") var seed: UInt64 = 1
    @Option(help: "Worker threads; default: all cores.") var threads: Int?
    @Option(help: "classify (clips with labels) or next-sample (raw-waveform mu-law modelling of recordings).")
    var task = "classify"
    @Option(help: "next-sample: samples per training window.") var length = 2048

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            guard DataKind.of(data) == .audio else {
                throw CommandFailure("\(data): DNA (FASTA) training is not part of this build's audio commands")
            }
            switch task {
            case "classify": try trainClassifier()
            case "next-sample": try trainNextSample()
            default: throw CommandFailure("--task: expected classify or next-sample, found \(task)")
            }
        }
    }

    func trainNextSample() throws {
        guard let kind = MixerKind(rawValue: mixer) else {
            throw CommandFailure("--mixer: expected s6 or s4d, found \(mixer)")
        }
        let tokenizer = try MuLawTokenizer(levels: 256)
        let recordings = try CodedRecordings(ClipDataset(path: data), tokenizer: tokenizer)
        let configuration = NextSampleModel.configuration(rate: recordings.rate, dModel: dModel, layers: layers,
                                                          dState: dState, mixers: Array(repeating: kind, count: layers))
        let model = try NextSampleModel(model: MambaModel(configuration: configuration, seed: seed))
        let source = try CodeWindowSource(recordings: recordings, length: length, batchSize: batch, seed: seed)
        let options = TrainerOptions(
            steps: steps, optimizer: AdamWConfiguration(weightDecay: 0.01),
            schedule: LearningRateSchedule(peak: learningRate, warmupSteps: max(1, steps / 20), totalSteps: steps,
                                           decay: .cosine),
            maxGradientNorm: 1.0)
        let trainer = try Trainer(model: model, data: source, options: options)
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        trainer.metrics = try MetricsLog(url: outURL.appendingPathComponent("metrics.jsonl"))
        trainer.progress = ProgressReporter(totalSteps: steps)
        FileHandle.standardError.write(Data("next-sample training on \(recordings.codes.count) recordings (\(recordings.sampleCount) samples at \(recordings.rate) Hz), \(model.parameters.count) parameters\n".utf8))
        try trainer.run()
        try model.saveModel(to: outURL)
        if let validation {
            let held = try CodedRecordings(ClipDataset(path: validation), tokenizer: tokenizer)
            let (bits, count) = try model.bits(held, timeScale: model.timeScale(forRate: held.rate))
            print(String(format: "validation: %.4f bits per sample (%d samples)", bits / Double(count), count))
        }
        print("model written to \(outURL.path)")
    }

    func trainClassifier() throws {
        do {
            guard let kind = MixerKind(rawValue: mixer) else {
                throw CommandFailure("--mixer: expected s6 or s4d, found \(mixer)")
            }
            let dataset = try ClipDataset(path: data)
            let clips = try LoadedClips(dataset, normalizePeak: normalizePeak)
            let rates = Set(clips.rates)
            guard rates.count == 1, let rate = rates.first else {
                throw CommandFailure("\(data): training clips must share one sample rate (the trained rate), found \(rates.sorted())")
            }
            var recipe = AudioClassifierRecipe()
            recipe.steps = steps
            recipe.batchSize = batch
            recipe.learningRate = learningRate
            recipe.weightDecay = weightDecay
            recipe.dModel = dModel
            recipe.layers = layers
            recipe.dState = dState
            recipe.mixer = kind
            recipe.bidirectional = bidirectional
            recipe.channels = channels
            recipe.filterMilliseconds = filterMilliseconds
            recipe.windowMilliseconds = windowMilliseconds
            recipe.hopMilliseconds = hopMilliseconds
            recipe.featureNormalization = !noFeatureNormalization
            recipe.speedJitter = speedJitter
            recipe.frequencyMask = frequencyMask
            recipe.timeMask = timeMask
            recipe.trainFilters = trainFilters
            recipe.seed = seed
            let validationBatches = try validation.map { try LoadedClips(ClipDataset(path: $0, labels: clips.labels),
                                                                        normalizePeak: normalizePeak).batches(size: 16) } ?? []
            let trainer = try recipe.trainer(clips, validation: validationBatches)
            let model = trainer.model
            let outURL = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            trainer.metrics = try MetricsLog(url: outURL.appendingPathComponent("metrics.jsonl"))
            trainer.progress = ProgressReporter(totalSteps: steps)
            FileHandle.standardError.write(Data("training on \(clips.count) clips at \(rate) Hz, \(clips.labels.count) classes, \(model.parameters.count) parameters\n".utf8))
            try trainer.run()
            try model.saveModel(to: outURL)
            if let result = trainer.lastValidation, let accuracy = result.accuracy {
                print(String(format: "validation: loss %.4f accuracy %.4f (%d clips)", result.loss, accuracy, result.count))
            }
            print("model written to \(outURL.path)")
        }
    }
}

/// Loads clips and runs the model over them in batches, returning probabilities per clip.
func classify(_ model: AudioClassifier, _ clips: LoadedClips, batchSize: Int = 16) throws -> [[Double]] {
    var all: [[Double]] = []
    for batch in clips.batches(size: batchSize) { all += try model.probabilities(batch) }
    return all
}

/// `mambakit eval --model DIR --data MANIFEST [--json] [--no-rate-scaling]`.
struct AudioEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a classifier on labelled clips: accuracy, per-class accuracy, confusion matrix.",
        discussion: """
        Clips are taken at their own sample rate, never resampled; the model scales its front end to each clip's \
        rate unless --no-rate-scaling (then every clip is treated as if at the trained rate, for comparison). \
        For a next-sample (mu-law) model: bits per sample of the recordings (all at one rate r), with every Δ of \
        the backbone scaled by ρ = trained rate / r and its conv1d resampled in time (ρ = 1 with --no-rate-scaling).
        """
    )

    @Option(help: "Model folder written by `mambakit train`.") var model: String
    @Option(help: "Labelled clips: a manifest (.tsv/.csv) or a folder of class folders.") var data: String
    @Flag(help: "Print one JSON object (accuracy, count, loss, per_class, confusion, labels).") var json = false
    @Flag(name: .customLong("no-rate-scaling"),
          help: "Treat every clip as if at the trained rate (next-sample models: ρ = 1, Δ and conv1d unscaled).")
    var noRateScaling = false
    @Flag(name: .customLong("normalize-peak"), help: "Scale every clip to a peak of 0.5.") var normalizePeak = false
    @Option(help: "Worker threads; default: all cores.") var threads: Int?
    @Option(help: "next-sample models: score the code this many samples ahead (default 1, the next sample; 2 asks an 8 kHz model on 16 kHz audio for its own prediction time, 125 µs).")
    var horizon = 1
    @Option(name: .customLong("write-codes"),
            help: "next-sample models: also write each recording's mu-law codes as raw unsigned bytes into this folder (NAME.u8), e.g. for flac.")
    var writeCodes: String?

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            let folder = URL(fileURLWithPath: model)
            let configuration = try MambaConfiguration.load(from: folder.appendingPathComponent("config.json"))
            if configuration.tokenizer == "mulaw-256" {
                try evaluateNextSample(folder)
                return
            }
            let classifier = try AudioClassifier.load(from: folder)
            classifier.rateScaling = !noRateScaling
            let labels = classifier.labels
            let dataset = try ClipDataset(path: data)
            // Map the data's label names onto the model's classes.
            let clips = try LoadedClips(dataset, normalizePeak: normalizePeak)
            var targets: [Int] = []
            for (i, index) in clips.labelIndices.enumerated() {
                let name = clips.labels[Int(index)]
                guard let target = labels.firstIndex(of: name) else {
                    throw CommandFailure("\(clips.paths[i]): label '\(name)' is not one of the model's classes \(labels)")
                }
                targets.append(target)
            }
            let metrics = try ClassificationMetrics(labels: labels, targets: targets,
                                                    probabilities: try classify(classifier, clips))
            let (confusion, count, correct, accuracy) = (metrics.confusion, metrics.count, metrics.correct,
                                                         metrics.accuracy)
            let loss = metrics.lossSum
            let perClass = metrics.recall
            if json {
                var object: [String: JSONValue] = [
                    "accuracy": .number(accuracy), "count": .integer(Int64(count)),
                    "loss": .number(loss / Double(count)), "rate_scaling": .bool(!noRateScaling),
                    "labels": .array(labels.map { .string($0) }),
                    "confusion": .array(confusion.map { .array($0.map { .integer(Int64($0)) }) }),
                    "sample_rates": .array(Set(clips.rates).sorted().map { .integer(Int64($0)) }),
                ]
                var classes: [String: JSONValue] = [:]
                for (c, value) in perClass.enumerated() { classes[labels[c]] = value.map { .number($0) } ?? .null }
                object["per_class"] = .object(classes)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
            } else {
                print(String(format: "accuracy %.4f (%d / %d clips), loss %.4f, rates %@, rate scaling %@", accuracy,
                             correct, count, loss / Double(count),
                             Set(clips.rates).sorted().map(String.init).joined(separator: ","),
                             noRateScaling ? "off" : "on"))
                print("per-class accuracy:")
                for (c, value) in perClass.enumerated() {
                    print("  \(labels[c])\t" + (value.map { String(format: "%.4f", $0) } ?? "-"))
                }
                print("confusion matrix (rows: true, columns: predicted):")
                print("\t" + labels.joined(separator: "\t"))
                for (c, row) in confusion.enumerated() {
                    print(labels[c] + "\t" + row.map(String.init).joined(separator: "\t"))
                }
            }
        }
    }
}

extension AudioEvalCommand {
    /// Bits per sample of a next-sample model on held-out recordings.
    func evaluateNextSample(_ folder: URL) throws {
        let lm = try NextSampleModel(model: MambaModel.load(from: folder))
        let recordings = try CodedRecordings(ClipDataset(path: data), tokenizer: MuLawTokenizer(levels: 256))
        let timeScale = try lm.timeScale(forRate: recordings.rate, rateScaling: !noRateScaling)
        if let writeCodes {
            let directory = URL(fileURLWithPath: writeCodes)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (codes, path) in zip(recordings.codes, recordings.paths) {
                let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension + ".u8"
                let target = directory.appendingPathComponent(name)
                let temporary = directory.appendingPathComponent(".\(name).tmp")
                try Data(codes.map { UInt8($0) }).write(to: temporary)
                _ = try? FileManager.default.removeItem(at: target)
                try FileManager.default.moveItem(at: temporary, to: target)
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (bits, count) = try lm.bits(recordings, timeScale: timeScale, horizon: horizon)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if json {
            var object: [String: JSONValue] = [
                "bits_per_sample": .number(bits / Double(count)), "count": .integer(Int64(count)),
                "recordings": .integer(Int64(recordings.codes.count)), "sample_rate": .integer(Int64(recordings.rate)),
                "seconds": .number(seconds), "rate_scaling": .bool(!noRateScaling), "time_scale": .number(timeScale),
                "horizon": .integer(Int64(horizon)),
            ]
            if let trained = lm.trainedRate { object["trained_rate"] = .integer(Int64(trained)) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(JSONValue.object(object)), as: UTF8.self))
        } else {
            print(String(format: "%.4f bits per sample over %d predicted samples of %d recordings at %d Hz, time scale %.4f (rate scaling %@) (%.1f s)",
                         bits / Double(count), count, recordings.codes.count, recordings.rate, timeScale,
                         noRateScaling ? "off" : "on", seconds))
        }
    }
}

/// `mambakit generate --model DIR [--prompt FILE] --seconds S [--temperature T --seed N] --out FILE.wav`.
struct AudioGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate audio with a next-sample (mu-law) model through the O(1) recurrent step.",
        discussion: """
        Prints the real-time factor (generation time / audio duration) on standard error. --rate R generates at R Hz \
        from a model trained at another rate: every Δ is scaled by ρ = trained rate / R and conv1d resampled in time \
        (--no-rate-scaling: ρ = 1, the model's samples written as if at R Hz, for comparison).
        """
    )

    @Option(help: "Model folder written by `mambakit train --task next-sample`.") var model: String
    @Option(help: "Audio to continue, at the output rate; default: one silent sample.") var prompt: String?
    @Option(help: "Output sample rate in Hz (typically 8000-48000); default: the prompt's rate, else the model's trained rate.")
    var rate: Int?
    @Flag(name: .customLong("no-rate-scaling"), help: "Run the model unscaled (ρ = 1) whatever the output rate.")
    var noRateScaling = false
    @Option(help: "Seconds of audio to generate.") var seconds: Double
    @Option(help: "Sampling temperature (0: argmax).") var temperature = 1.0
    @Option(help: "Random seed (any integer 0 to 2^64-1; same seed and thread count, same result).") var seed: UInt64 = 1
    @Option(help: "Output WAV file (16-bit PCM).") var out: String
    @Option(help: "Worker threads; default: all cores.") var threads: Int?

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            let lm = try NextSampleModel(model: MambaModel.load(from: URL(fileURLWithPath: model)))
            guard let trained = lm.trainedRate else {
                throw CommandFailure("\(model)/config.json: expected sample_rate (a next-sample audio model)")
            }
            guard seconds > 0, seconds.isFinite else { throw CommandFailure("--seconds: expected > 0, found \(seconds)") }
            if let rate, !(1...1_000_000).contains(rate) {
                throw CommandFailure("--rate: expected a sample rate in Hz between 1 and 1000000, found \(rate)")
            }
            let tokenizer = try MuLawTokenizer(levels: 256)
            var codes: [Int32] = try tokenizer.encode([0])
            var outputRate = rate ?? trained
            if let prompt {
                let buffer = try AudioFileReader(path: prompt).read(channels: .mono)
                if let rate, buffer.sampleRate != rate {
                    throw CommandFailure("\(prompt): expected audio at --rate \(rate) Hz, found \(buffer.sampleRate) Hz (no resampling)")
                }
                outputRate = buffer.sampleRate
                if buffer.frames > 0 { codes = try tokenizer.encode(buffer.samples) }
            }
            let rate = outputRate
            let timeScale = try lm.timeScale(forRate: rate, rateScaling: !noRateScaling)
            let count = Int((seconds * Double(rate)).rounded())
            let start = DispatchTime.now().uptimeNanoseconds
            let generated = try lm.generate(prompt: codes, count: count, temperature: temperature, seed: seed,
                                            timeScale: timeScale)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let samples = try tokenizer.decode(generated)
            let writer = try AudioFileWriter(path: out, sampleRate: rate, channels: 1, format: .pcm16)
            try writer.write(samples)
            try writer.finish()
            FileHandle.standardError.write(Data(String(format: "generated %.2f s at %d Hz (model trained at %d Hz, time scale %.4f) in %.2f s: real-time factor %.3f (%.0f samples/s)\n",
                                                       Double(count) / Double(rate), rate, trained, timeScale, elapsed,
                                                       elapsed / (Double(count) / Double(rate)), Double(count) / elapsed).utf8))
            print(out)
        }
    }
}

/// `mambakit predict --model DIR FILE...`: TSV file, label, probability.
struct AudioPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify audio files; prints TSV: file, label, probability.",
        discussion: "Each file is taken at its own sample rate, never resampled."
    )

    @Option(help: "Model folder written by `mambakit train`.") var model: String
    @Flag(name: .customLong("no-rate-scaling"), help: "Treat every file as if at the trained rate.") var noRateScaling = false
    @Flag(name: .customLong("normalize-peak"), help: "Scale every clip to a peak of 0.5.") var normalizePeak = false
    @Option(help: "Worker threads; default: all cores.") var threads: Int?
    @Argument(help: "Audio files (any format libsndfile reads).") var files: [String]

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            let classifier = try AudioClassifier.load(from: URL(fileURLWithPath: model))
            classifier.rateScaling = !noRateScaling
            print("file\tlabel\tprobability")
            for file in files {
                var samples = try AudioFileReader(path: file).read(channels: .mono)
                if normalizePeak {
                    let peak = samples.samples.reduce(Float(0)) { max($0, abs($1)) }
                    if peak > 0 {
                        samples = try AudioBuffer(samples: samples.samples.map { $0 * (0.5 / peak) }, channels: 1,
                                                  sampleRate: samples.sampleRate)
                    }
                }
                guard samples.frames > 0 else { throw CommandFailure("\(file): expected at least one sample, found none") }
                let row = try classifier.probabilities(AudioClipBatch(clips: [samples.samples], rates: [samples.sampleRate]))[0]
                let best = row.indices.max(by: { row[$0] < row[$1] })!
                print("\(file)\t\(classifier.labels[best])\t" + String(format: "%.6f", row[best]))
            }
        }
    }
}
