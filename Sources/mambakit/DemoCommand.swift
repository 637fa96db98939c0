// `mambakit demo`: the README's first command. On the shipped datasets it trains a small DNA classifier, a small
// any-rate audio classifier and a small next-sample (mu-law) speech model, evaluates them on the shipped test
// splits, prints a table (task, result, baseline), and writes a report folder: results.json, README.md, the three
// models, generated audio and the pictures (SVG). Each stage is a library call (DNAClassifierRecipe,
// AudioClassifierRecipe, NextSampleModel); this file only orders them and prints.
import ArgumentParser
import Foundation
import MambaKit

/// `mambakit demo [--datasets DIR] [--report DIR] [--quick]`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train and evaluate small DNA and audio models on the shipped data; write a report with pictures.",
        discussion: """
        Stages (each with a progress bar on a terminal, plain lines otherwise): 1. a DNA classifier on one shipped \
        task (default coding), scored on its test split beside the 6-mer baseline; 2. a spoken-digit classifier \
        trained at 16 kHz, scored on the test voices at 8, 16, 22.05, 44.1 and 48 kHz with and without rate \
        scaling; 3. a next-sample model on the shipped 8 kHz speech, scored in bits per sample on the test \
        recordings, then 2 s of generated audio. Takes about 5 minutes on 2 cores (--quick: under a minute, \
        for smoke tests; its numbers mean nothing). Writes into --report: README.md (the table and the pictures), \
        results.json, models/, generated.wav and the SVG pictures. Exit status 0 on success, 1 on any error \
        (missing datasets, unwritable report folder).
        """
    )

    @Option(help: "The datasets folder (the repository's datasets/).") var datasets = "datasets"
    @Option(help: "Report folder to write (created; files in it are replaced).") var report = "mambakit-demo"
    @Option(name: .customLong("dna-task"),
            help: "Shipped DNA task: species4, coding, promoter, human_worm or 16s_phylum.") var dnaTask = "coding"
    @Flag(help: "Tiny settings (a smoke test, under a minute; the numbers mean nothing).") var quick = false
    @Option(help: "Seed of every model and data order (any integer 0 to 2^64-1; same seed, same thread count: same results).") var seed: UInt64 = 1
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print only the final table.") var quiet = false

    func run() throws {
        try runReportingErrors {
            if let threads { Parallel.threadCount = max(1, threads) }
            InterruptFlag.installSignalHandlers()
            let demo = try Demo(datasets: URL(fileURLWithPath: datasets), report: URL(fileURLWithPath: report),
                                dnaTask: dnaTask, quick: quick, seed: seed, quiet: quiet)
            try demo.run()
        }
    }
}

/// One row of the demo's table.
struct DemoRow: Codable {
    var task: String
    var metric: String
    var value: Double
    var baseline: String
}

/// The demo's stages and what they measured.
final class Demo {
    let datasets: URL
    let report: URL
    let dnaTask: String
    let quick: Bool
    let seed: UInt64
    let quiet: Bool
    var rows: [DemoRow] = []
    var results: [String: JSONValue] = [:]
    let started = DispatchTime.now().uptimeNanoseconds

    init(datasets: URL, report: URL, dnaTask: String, quick: Bool, seed: UInt64, quiet: Bool) throws {
        self.datasets = datasets
        self.report = report
        self.dnaTask = dnaTask
        self.quick = quick
        self.seed = seed
        self.quiet = quiet
        guard FileManager.default.fileExists(atPath: datasets.appendingPathComponent("audio/digits/train").path) else {
            throw CommandFailure("\(datasets.path): expected the repository's datasets folder (audio/digits/train, dna/...), found none; run from the repository root or pass --datasets")
        }
        try FileManager.default.createDirectory(at: report.appendingPathComponent("models"),
                                                withIntermediateDirectories: true)
    }

    func say(_ text: String) {
        if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }

    func progress(steps: Int) -> ProgressReporter? {
        quiet ? nil : ProgressReporter(totalSteps: steps, plainInterval: max(1, steps / 10))
    }

    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    func run() throws {
        try dna()
        try digits()
        try speech()
        try writeReport()
        printTable()
    }

    // MARK: DNA classification

    /// The 6-mer logistic-regression baseline of `task`, read from the baseline table of datasets/README.md (written
    /// by datasets/scripts/baselines.py); nil when the table has no such row.
    func sixMerBaseline(_ task: String) -> Double? {
        guard let text = try? String(contentsOf: datasets.appendingPathComponent("README.md"), encoding: .utf8) else {
            return nil
        }
        for line in text.split(separator: "\n") where line.hasPrefix("| \(task) |") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 4, let value = Double(cells[3]) { return value }
        }
        return nil
    }

    func dna() throws {
        let folder = datasets.appendingPathComponent("dna/\(dnaTask)")
        let trainPath = folder.appendingPathComponent("train.fa.gz").path
        guard FileManager.default.fileExists(atPath: trainPath) else {
            throw CommandFailure("\(trainPath): expected a shipped DNA task (species4, coding, promoter, human_worm, 16s_phylum), found no such file")
        }
        var options = DNAClassifierTrainingOptions()
        options.seed = seed
        options.epochs = quick ? 0.02 : 1.5
        if quick { options.dModel = 16; options.layers = 1 }
        let output = report.appendingPathComponent("models/dna-\(dnaTask)")
        let train = try DNADataSource(path: trainPath).load()
        let steps = max(1, Int((Double(train.count) * (1 - options.validationFraction) * options.epochs
                               / Double(options.batchSize)).rounded(.up)))
        say("== 1/3 DNA classifier on \(dnaTask): \(train.count) training records (\(Int(options.validationFraction * 100))% held out for validation), about \(steps) steps")
        let (model, trained) = try trainDNAClassifier(fasta: trainPath, options: options, output: output,
                                                      progress: progress(steps: steps))
        let testData = try DNADataSource(path: folder.appendingPathComponent("test.fa.gz").path, split: "test")
            .load(labelSet: model.labels)
        let test = try model.evaluate(testData)
        let baseline = sixMerBaseline(dnaTask)
        say(String(format: "   test accuracy %.3f, MCC %.3f (%d records); model kept from step %d of %d", test.accuracy,
                   test.mcc, test.count, trained.selectedStep, trained.steps))
        rows.append(DemoRow(task: "DNA \(dnaTask) (\(test.count) test records)", metric: "accuracy", value: test.accuracy,
                            baseline: baseline.map { String(format: "6-mer logistic regression %.3f", $0) }
                                ?? "see datasets/README.md"))
        try picture("dna-loss.svg") {
            try LineChart.lossCurves(TrainingMetrics(contentsOf: output.appendingPathComponent("metrics.jsonl")),
                                     title: "DNA \(dnaTask): loss during training",
                                     subtitle: "validation = 10% of the training records, held out")
        }
        try picture("dna-confusion.svg") {
            try ConfusionMatrixChart(title: "DNA \(dnaTask): test confusion matrix", classes: test.labels,
                                     counts: test.confusion)
        }
        if let record = testData.records.first {
            let ids = try model.encode(record.sequence, id: record.id)
            let trace = try model.model.deltaTrace(ids: ids)
            let bases = String(decoding: record.sequence, as: UTF8.self)
            try picture("dna-delta.svg") {
                try DeltaTraceChart(title: "Δ chosen along the first 120 bases of test record \(record.id)",
                                    subtitle: "S6 step size per base (\(record.label ?? "?")): large Δ takes the base in, small Δ keeps the state",
                                    trace: trace, input: .bases(bases), positions: 0..<min(120, ids.count),
                                    channelHeatmap: true)
            }
        }
        results["dna"] = .object([
            "task": .string(dnaTask), "model": .string(output.path), "steps": .integer(Int64(trained.steps)),
            "selected_step": .integer(Int64(trained.selectedStep)), "test_accuracy": .number(test.accuracy),
            "test_mcc": .number(test.mcc), "test_count": .integer(Int64(test.count)),
            "baseline_6mer": baseline.map { .number($0) } ?? .null,
            "confusion": .object(["labels": .array(test.labels.map { .string($0) }),
                                  "counts": .array(test.confusion.map { .array($0.map { .integer(Int64($0)) }) })]),
        ])
    }

    // MARK: Audio classification at any rate

    func digits() throws {
        let folder = datasets.appendingPathComponent("audio/digits")
        var recipe = AudioClassifierRecipe()
        recipe.seed = seed
        recipe.steps = 300  // as Examples/SpokenDigits-AnyRate (docs/audio.md: 0.95 at every rate, seeds 1-3)
        if quick { recipe.steps = 4; recipe.dModel = 16; recipe.channels = 16 }
        let train = try LoadedClips(ClipDataset(path: folder.appendingPathComponent("train").path))
        let test16k = try LoadedClips(ClipDataset(path: folder.appendingPathComponent("test").path,
                                                  labels: train.labels))
        say("== 2/3 spoken digits: training at \(train.rates.first ?? 0) Hz on \(train.count) clips, \(recipe.steps) steps")
        let output = report.appendingPathComponent("models/digits")
        // The 16 kHz test clips are scored during training for the learning curve only: nothing is selected on them.
        let model = try recipe.train(train, validation: test16k.batches(size: 16),
                                     validationInterval: max(1, recipe.steps / 10), output: output,
                                     progress: progress(steps: recipe.steps))
        try picture("digits-loss.svg") {
            try LineChart.lossCurves(TrainingMetrics(contentsOf: output.appendingPathComponent("metrics.jsonl")),
                                     title: "Spoken digits: loss during training at 16 kHz",
                                     subtitle: "validation = the 16 kHz test voices (not used for any choice)")
        }
        try digitDeltaPicture(model, clips: test16k)
        var accuracies: [(rate: Int, scaled: Double, naive: Double)] = []
        var byRate: [JSONValue] = []
        for name in ["test-8000", "test", "test-22050", "test-44100", "test-48000"] {
            let path = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: path.path) else {
                throw CommandFailure("\(path.path): expected the digit test clips at this rate, found no folder; run datasets/scripts/make_rates.sh (needs sox and flac) to build the 22.05 and 44.1 kHz sets")
            }
            let clips = try LoadedClips(ClipDataset(path: path.path))
            let rate = clips.rates.first ?? 0
            model.rateScaling = true
            let scaled = try model.report(clips)
            model.rateScaling = false
            let naive = try model.report(clips)
            model.rateScaling = true
            say(String(format: "   %6.2f kHz: accuracy %.3f with rate scaling, %.3f without (%d clips)",
                       Double(rate) / 1000, scaled.accuracy, naive.accuracy, clips.count))
            accuracies.append((rate, scaled.accuracy, naive.accuracy))
            if rate == model.trainedRate {
                try picture("digits-confusion.svg") {
                    try ConfusionMatrixChart(title: "Spoken digits at 16 kHz: test confusion matrix",
                                             classes: scaled.labels, counts: scaled.confusion)
                }
            }
            byRate.append(.object(["rate": .integer(Int64(rate)), "clips": .integer(Int64(clips.count)),
                                   "accuracy": .number(scaled.accuracy),
                                   "accuracy_without_rate_scaling": .number(naive.accuracy),
                                   "confusion": confusionJSON(scaled)]))
            let rateText = rate % 1000 == 0 ? "\(rate / 1000)" : String(format: "%.2f", Double(rate) / 1000)
            rows.append(DemoRow(task: "digits at \(rateText) kHz (trained at 16)", metric: "accuracy",
                                value: scaled.accuracy,
                                baseline: String(format: "same model without rate scaling %.3f", naive.accuracy)))
        }
        try picture("digits-accuracy-by-rate.svg") {
            let x = accuracies.indices.map(Double.init)
            let names = accuracies.map { $0.rate % 1000 == 0 ? "\($0.rate / 1000)" : String(format: "%.2f", Double($0.rate) / 1000) }
            return try LineChart(
                title: "Spoken digits: one model trained at 16 kHz, tested at every rate",
                subtitle: "no resampling; with rate scaling the front end's filters and frames follow the sample period",
                xAxis: .init(title: "sample rate of the test audio (kHz)", scale: .categorical(names)),
                yAxis: .init(title: "test accuracy (%)", range: 0...100),
                series: [.init(name: "with rate scaling", x: x, y: accuracies.map { 100 * $0.scaled }),
                         .init(name: "without rate scaling", x: x, y: accuracies.map { 100 * $0.naive }, style: .dashed)],
                referenceLines: [.init(y: 10, label: "chance (10 %)")])
        }
        results["digits"] = .object(["model": .string(output.path), "steps": .integer(Int64(recipe.steps)),
                                     "by_rate": .array(byRate)])
    }

    // MARK: Next-sample speech model

    func speech() throws {
        let folder = datasets.appendingPathComponent("audio/speech")
        let tokenizer = try MuLawTokenizer(levels: 256)
        let train = try CodedRecordings(ClipDataset(path: folder.appendingPathComponent("train").path),
                                        tokenizer: tokenizer)
        let test = try CodedRecordings(ClipDataset(path: folder.appendingPathComponent("test").path),
                                       tokenizer: tokenizer)
        let steps = quick ? 3 : 200
        let length = quick ? 256 : 2048
        let configuration = NextSampleModel.configuration(rate: train.rate, dModel: quick ? 16 : 64, layers: 2,
                                                          dState: 16)
        let model = try NextSampleModel(model: MambaModel(configuration: configuration, seed: seed))
        say("== 3/3 speech next-sample (mu-law 256): \(train.codes.count) recordings at \(train.rate) Hz, \(steps) steps of 8 x \(length) samples")
        let source = try CodeWindowSource(recordings: train, length: length, batchSize: 8, seed: seed)
        let options = TrainerOptions(
            steps: steps, optimizer: AdamWConfiguration(weightDecay: 0.01),
            schedule: LearningRateSchedule(peak: 3e-3, warmupSteps: max(1, steps / 20), totalSteps: steps,
                                           decay: .cosine),
            maxGradientNorm: 1.0)
        let trainer = try Trainer(model: model, data: source, options: options)
        let output = report.appendingPathComponent("models/speech")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        trainer.metrics = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"))
        trainer.progress = progress(steps: steps)
        let outcome = try trainer.run()
        guard outcome.reason == .completed else { throw CommandFailure("interrupted at step \(outcome.step)") }
        try model.saveModel(to: output)
        try picture("speech-loss.svg") {
            try LineChart.lossCurves(TrainingMetrics(contentsOf: output.appendingPathComponent("metrics.jsonl")),
                                     title: "Speech next-sample model: loss during training",
                                     subtitle: "cross-entropy of the next mu-law code (nats); 8 kHz telephony speech")
        }
        var scored = test
        if quick {
            scored.codes = [Array(test.codes[0].prefix(2048))]
            scored.paths = [test.paths[0]]
        }
        let (bits, count) = try model.bits(scored)
        let bitsPerSample = bits / Double(count)
        // Order-0 baseline: the entropy of the test codes' own histogram (an i.i.d. coder that knew it in advance).
        var histogram = [Int](repeating: 0, count: 256)
        for codes in scored.codes { for code in codes.dropFirst() { histogram[Int(code)] += 1 } }
        let total = Double(histogram.reduce(0, +))
        let entropy = histogram.reduce(0.0) { $0 - ($1 > 0 ? Double($1) / total * log2(Double($1) / total) : 0) }
        say(String(format: "   test: %.3f bits per sample (order-0 entropy of the codes: %.3f)", bitsPerSample, entropy))
        rows.append(DemoRow(task: "speech next-sample (8 kHz, mu-law)", metric: "bits/sample", value: bitsPerSample,
                            baseline: String(format: "order-0 entropy %.3f", entropy)))
        let seconds = quick ? 0.1 : 2.0
        let start = DispatchTime.now().uptimeNanoseconds
        let generated = try model.generate(prompt: Array(test.codes[0].prefix(train.rate / 4)),
                                           count: Int(seconds * Double(train.rate)), temperature: 1, seed: seed)
        let generationSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let samples = try tokenizer.decode(generated)
        let wav = report.appendingPathComponent("generated.wav")
        let writer = try AudioFileWriter(path: wav.path, sampleRate: train.rate, channels: 1, format: .pcm16)
        try writer.write(samples)
        try writer.finish()
        try picture("generated-waveform.svg") {
            try WaveformChart(title: "Generated audio (after a 0.25 s prompt from a test recording)",
                              subtitle: "the next-sample model, sampled at temperature 1", samples: samples,
                              sampleRate: Double(train.rate))
        }
        try picture("generated-spectrogram.svg") {
            try SpectrogramChart(title: "Generated audio: spectrogram",
                                 subtitle: "the 2 s the next-sample model generated after its prompt",
                                 spectrogram: Spectrogram(samples: samples, sampleRate: Double(train.rate)))
        }
        say(String(format: "   generated %.1f s after a 0.25 s prompt: real-time factor %.3f", seconds,
                   generationSeconds / seconds))
        results["speech"] = .object(["model": .string(output.path), "steps": .integer(Int64(steps)),
                                     "bits_per_sample": .number(bitsPerSample), "count": .integer(Int64(count)),
                                     "order0_entropy_bits": .number(entropy),
                                     "generated": .string(wav.path),
                                     "generation_real_time_factor": .number(generationSeconds / seconds)])
    }

    // MARK: Report

    /// Pictures written so far (file names in the report folder, with a caption).
    var pictures: [(file: String, caption: String)] = []

    /// Writes one picture; a chart that cannot be drawn (e.g. no finite loss in a --quick run) is reported and
    /// skipped rather than failing the demo.
    func picture(_ name: String, _ make: () throws -> some SVGChart) throws {
        do {
            let chart = try make()
            try chart.write(to: report.appendingPathComponent(name))
            pictures.append((name, name))
        } catch let error as ReportError {
            say("   (picture \(name) skipped: \(error))")
        }
    }

    /// Δ chosen by the digit classifier's first layer along one test clip, under its waveform.
    func digitDeltaPicture(_ model: AudioClassifier, clips: LoadedClips) throws {
        guard let index = clips.paths.indices.first else { return }
        let clip = clips.samples[index], rate = clips.rates[index]
        let settings = model.frontEnd.settings
        let frames = settings.frameCount(samples: clip.count, rate: rate)
        guard frames >= 2 else { return }
        let embeddings = Tensor(zeros: [frames, settings.outputs])
        try withExtendedLifetime(model.parameters) {
            _ = try model.frontEnd.forward(UnsafePointer(model.parameters.pointer), samples: clip, rate: rate,
                                           rateScaling: true, output: embeddings.pointer)
        }
        let trace = try model.backbone.deltaTrace(embeddings: embeddings)
        let times = (0..<frames).map { k in
            let r = settings.frameRange(k, samples: clip.count, rate: rate)
            return Double(r.lowerBound + r.upperBound) / 2 / Double(rate)
        }
        let word = clips.labels[Int(clips.labelIndices[index])]
        try picture("digits-delta.svg") {
            try DeltaTraceChart(title: "Δ chosen along a spoken '\(word)' (16 kHz test clip)",
                                subtitle: "S6 step size per 10 ms frame: large Δ takes the input in, small Δ keeps the state",
                                trace: trace, input: .waveform(samples: clip, sampleRate: Double(rate), positionTimes: times),
                                channelHeatmap: true)
        }
    }

    func confusionJSON(_ report: ClassificationMetrics) -> JSONValue {
        .object(["labels": .array(report.labels.map { .string($0) }),
                 "counts": .array(report.confusion.map { .array($0.map { .integer(Int64($0)) }) })])
    }

    func writeReport() throws {
        results["table"] = .array(rows.map {
            .object(["task": .string($0.task), "metric": .string($0.metric), "value": .number($0.value),
                     "baseline": .string($0.baseline)])
        })
        results["seconds"] = .number(elapsed)
        results["quick"] = .bool(quick)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(try encoder.encode(JSONValue.object(results)),
                             to: report.appendingPathComponent("results.json"))
        var markdown = "# MambaKit demo report\n\n"
        markdown += quick ? "Run with --quick: tiny settings, the numbers mean nothing.\n\n" : ""
        markdown += "| task | metric | value | baseline |\n|---|---|---:|---|\n"
        for row in rows {
            markdown += "| \(row.task) | \(row.metric) | \(String(format: "%.3f", row.value)) | \(row.baseline) |\n"
        }
        markdown += "\n"
        for picture in pictures { markdown += "![\(picture.caption)](\(picture.file))\n\n" }
        markdown += String(format: "Total time: %.0f s. Details: results.json; models in models/.\n", elapsed)
        try AtomicFile.write(Data(markdown.utf8), to: report.appendingPathComponent("README.md"))
    }

    func printTable() {
        let width = max(30, rows.map(\.task.count).max() ?? 0)
        print("task".padding(toLength: width, withPad: " ", startingAt: 0) + "  metric       value  baseline")
        for row in rows {
            print(row.task.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                  + row.metric.padding(toLength: 11, withPad: " ", startingAt: 0)
                  + String(format: "%7.3f", row.value) + "  " + row.baseline)
        }
        print(String(format: "report: %@ (%.0f s)", report.path, elapsed))
    }
}
