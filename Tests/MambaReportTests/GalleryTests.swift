// Every chart on realistic input (shipped audio, a training log written by MetricsLog, a model's Δ), each parsed
// back. With MAMBAREPORT_GALLERY=<folder> the SVGs are kept there, to be looked at (e.g. `rsvg-convert -o x.png x.svg`).
import Foundation
import MambaAudio
import MambaBackbone
import MambaTensor
import MambaTraining
import Testing
@testable import MambaReport
import _MambaTestSupport

@Test func galleryOfEveryChart() throws {
    let keep = ProcessInfo.processInfo.environment["MAMBAREPORT_GALLERY"]
    let folder = try keep.map { path -> URL in
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    } ?? makeTemporaryDirectory("mambareport-gallery")
    defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
    var written: [String: String] = [:]
    func save(_ chart: some SVGChart, _ name: String) throws {
        try chart.write(to: folder.appendingPathComponent(name))
        written[name] = chart.svg()
    }

    // Loss and accuracy curves from a noisy 600-step run with validation every 50 steps.
    let metricsURL = folder.appendingPathComponent("metrics.jsonl")
    try? FileManager.default.removeItem(at: metricsURL)
    do {
        let log = try MetricsLog(url: metricsURL)
        var generator = Xoshiro256StarStar(seed: 42)
        for step in 1...600 {
            let noise = Double(generator.next() % 1000) / 1000 - 0.5
            let loss = 1.386 * exp(-Double(step) / 150) + 0.25 + 0.15 * noise
            try log.write(["event": .string("train"), "step": .integer(step), "loss": .number(loss),
                           "accuracy": .number(min(1, max(0, 1 - loss / 1.6 + 0.1 * noise)))])
            if step % 50 == 0 {
                try log.write(["event": .string("validation"), "step": .integer(step),
                               "loss": .number(1.386 * exp(-Double(step) / 170) + 0.33),
                               "accuracy": .number(1 - (1.386 * exp(-Double(step) / 170) + 0.33) / 1.7)])
            }
        }
    }
    let metrics = try TrainingMetrics(contentsOf: metricsURL)
    try save(LineChart.lossCurves(metrics, title: "DNA species classifier: loss", subtitle: "species4, 600 steps of 16 sequences"),
             "loss.svg")
    try save(LineChart.accuracyCurves(metrics, title: "DNA species classifier: accuracy"), "accuracy.svg")

    let rates = ["8", "16", "22.05", "44.1", "48"]
    try save(LineChart(title: "Spoken digits: accuracy against sample rate (trained at 16 kHz)",
                       xAxis: .init(title: "sample rate of the test audio (kHz)", scale: .categorical(rates)),
                       yAxis: .init(title: "accuracy (%)", range: 0...100),
                       series: [.init(name: "with rate scaling", x: [0, 1, 2, 3, 4], y: [88, 96, 95, 94.5, 94.5]),
                                .init(name: "without rate scaling", x: [0, 1, 2, 3, 4], y: [14, 96, 41, 12, 10],
                                      style: .dashed)],
                       referenceLines: [.init(y: 10, label: "chance (10 %)")]),
             "accuracy-vs-rate.svg")

    try save(ConfusionMatrixChart(title: "species4: confusion matrix (test set)",
                                  classes: ["E_coli", "H_pylori", "S_aureus", "V_cholerae"],
                                  counts: [[230, 5, 10, 5], [3, 240, 4, 3], [12, 2, 226, 10], [20, 1, 6, 223]]),
             "confusion-species.svg")
    let digits = (0..<10).map(String.init)
    let digitCounts = (0..<10).map { r in (0..<10).map { c in r == c ? 17 + r % 3 : ((r + c) % 7 == 0 ? 2 : 0) } }
    try save(ConfusionMatrixChart(title: "Spoken digits at 44.1 kHz: confusion matrix", classes: digits,
                                  counts: digitCounts), "confusion-digits.svg")

    // A shipped speech clip: waveform and spectrogram.
    let speechFolder = datasetsDirectory.appendingPathComponent("audio/speech/test")
    let clip = try #require(try FileManager.default.contentsOfDirectory(atPath: speechFolder.path).sorted().first)
    let audio = try AudioFileReader(path: speechFolder.appendingPathComponent(clip).path).read(channels: .mono)
    let samples = Array(audio.samples.prefix(audio.sampleRate * 3))
    let rate = Double(audio.sampleRate)
    try save(WaveformChart(title: "Speech: waveform", subtitle: clip, samples: samples, sampleRate: rate),
             "waveform.svg")
    try save(SpectrogramChart(title: "Speech: spectrogram", spectrogram: Spectrogram(samples: samples, sampleRate: rate)),
             "spectrogram.svg")

    // A spoken digit at 48 kHz, shown up to 8 kHz; a logarithmic x axis.
    let digitFolder = datasetsDirectory.appendingPathComponent("audio/digits/test-48000")
    let digit = try #require(try FileManager.default.contentsOfDirectory(atPath: digitFolder.path).sorted().first)
    let digitAudio = try AudioFileReader(path: digitFolder.appendingPathComponent(digit).path).read(channels: .mono)
    try save(SpectrogramChart(title: "A spoken digit at 48 kHz", subtitle: digit,
                              spectrogram: Spectrogram(samples: digitAudio.samples,
                                                       sampleRate: Double(digitAudio.sampleRate)),
                              maxFrequency: 8000), "spectrogram-48k.svg")
    let lengths = [256.0, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
    try save(LineChart(title: "Forward throughput against sequence length",
                       xAxis: .init(title: "sequence length (tokens)", scale: .logarithmic),
                       yAxis: .init(title: "throughput (thousand tokens/s)"),
                       series: [.init(name: "MambaKit", x: lengths, y: lengths.map { 36 - 2 * log2($0 / 256) }),
                                .init(name: "PyTorch (CPU path)", x: lengths, y: lengths.map { _ in 1.7 },
                                      style: .dotted)]),
             "throughput-log.svg")

    // Δ of a (random, untrained) model along DNA and along audio frames.
    var c = MambaConfiguration(vocabSize: 12, hiddenSize: 32, stateSize: 8, numHiddenLayers: 3)
    c.layerMixers = [.s6, .s6, .s4d]
    let model = try MambaModel(configuration: c, seed: 9)
    var generator = Xoshiro256StarStar(seed: 4)
    let bases = String((0..<120).map { _ in Array("ACGT")[Int(generator.next() % 4)] })
    let trace = try model.deltaTrace(ids: bases.map { ["A": 7, "C": 8, "G": 9, "T": 10][$0]! })
    try save(DeltaTraceChart(title: "Δ chosen along a DNA sequence (untrained model)", trace: trace,
                             input: .bases(bases), channelHeatmap: true), "delta-dna.svg")
    let duration = Double(samples.count) / rate
    let frames = Int(duration * 50)  // 20 ms hops
    let embeddings = Tensor(zeros: [frames, c.hiddenSize])
    for f in 0..<frames {
        let window = samples[(f * samples.count / frames)..<((f + 1) * samples.count / frames)]
        let energy = log(window.map { $0 * $0 }.reduce(0, +) / Float(window.count) + 1e-6)
        // Two directions mixed by the frame's log energy (RMSNorm would erase a mere scale).
        for j in 0..<c.hiddenSize {
            embeddings.pointer[f * c.hiddenSize + j] = (energy + 14) / 10 * sin(Float(j + 1)) + cos(Float(3 * j))
        }
    }
    let audioTrace = try model.deltaTrace(embeddings: embeddings)
    try save(DeltaTraceChart(title: "Δ chosen along a speech clip (untrained model)", trace: audioTrace,
                             input: .waveform(samples: samples, sampleRate: rate,
                                              positionTimes: (0..<frames).map { (Double($0) + 0.5) * duration / Double(frames) }),
                             layers: [0, 2]),
             "delta-audio.svg")

    #expect(written.count == 11)
    for (name, svg) in written {
        let parsed = try parseValidSVG(svg)
        #expect(!parsed.title.isEmpty, "\(name)")
        #expect(svg.utf8.count < 2_000_000, "\(name): \(svg.utf8.count) bytes")
    }
}
