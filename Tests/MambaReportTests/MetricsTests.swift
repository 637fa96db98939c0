import Foundation
import MambaTraining
import Testing
@testable import MambaReport
import _MambaTestSupport

/// A metrics.jsonl written by MambaTraining's own MetricsLog, as a training run writes it.
private func writeRun(to url: URL, steps: Int, validationEvery: Int) throws {
    let log = try MetricsLog(url: url)
    for step in 1...steps {
        let loss = 1.4 * exp(-Double(step) / 80) + 0.2
        try log.write([
            "event": .string("train"), "step": .integer(step), "epoch": .number(Double(step) / 50),
            "loss": .number(step == 7 ? .nan : loss), "accuracy": .number(min(1, Double(step) / Double(steps))),
            "learning_rate": .number(1e-3), "gradient_norm": .number(0.5), "clip_scale": .number(1),
            "tokens": .integer(512), "tokens_per_second": .number(9000), "elapsed_seconds": .number(Double(step)),
        ])
        if step % validationEvery == 0 {
            try log.write(["event": .string("validation"), "step": .integer(step), "loss": .number(loss + 0.05),
                           "accuracy": .number(0.5), "count": .integer(200), "seconds": .number(0.1)])
            try log.write(["event": .string("checkpoint"), "step": .integer(step), "path": .string("checkpoints/latest")])
        }
    }
    try log.write(["event": .string("stop"), "step": .integer(steps), "reason": .string("completed")])
}

@Test func readsTheTrainersMetricsAndDrawsLossCurves() throws {
    let folder = try makeTemporaryDirectory("mambareport-metrics")
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("metrics.jsonl")
    try writeRun(to: url, steps: 1000, validationEvery: 100)
    let metrics = try TrainingMetrics(contentsOf: url)
    #expect(metrics.training.count == 1000 && metrics.validation.count == 10)
    #expect(metrics.training[0].step == 1 && metrics.training[999].step == 1000)
    #expect(metrics.training[6].loss.isNaN)
    #expect(metrics.validation[0] == TrainingMetrics.Point(step: 100, loss: 1.4 * exp(-100.0 / 80) + 0.2 + 0.05,
                                                            accuracy: 0.5))
    let chart = try LineChart.lossCurves(metrics, subtitle: "species4, 1000 steps")
    // 1000 steps over at most 300 points: groups of 4.
    #expect(chart.series[0].name == "training (mean of 4 steps)" && chart.series[0].x.count == 250)
    #expect(chart.series[0].y[1].isNaN)  // the group with the NaN step
    let parsed = try parseValidSVG(chart.svg())
    for text in ["Loss during training", "species4, 1000 steps", "training step (optimizer updates)",
                 "cross-entropy loss (nats)", "training (mean of 4 steps)", "validation", "0", "200", "1000"] {
        #expect(parsed.texts.contains(text), "missing \(text)")
    }
    let accuracy = try LineChart.accuracyCurves(metrics)
    let accuracyParsed = try parseValidSVG(accuracy.svg())
    #expect(accuracyParsed.hasText("accuracy (%)") && accuracyParsed.hasText("100") && accuracyParsed.hasText("60"))
}

@Test func malformedMetricsNameTheLine() throws {
    let good = #"{"event":"train","step":1,"loss":0.5}"#
    func message(_ text: String) -> String {
        do {
            _ = try TrainingMetrics(jsonLines: text, source: "run/metrics.jsonl")
            return "no error"
        } catch {
            return "\(error)"
        }
    }
    #expect(message(good + "\n{\"event\":\"train\",\"step\":2,\"loss\":") .hasPrefix("run/metrics.jsonl:2: expected a JSON object"))
    #expect(message(good + "\n\n[1, 2]").hasPrefix("run/metrics.jsonl:3: expected a JSON object, found an array"))
    #expect(message(#"{"event":"validation","loss":1}"#).hasPrefix("run/metrics.jsonl:1: expected an integer \"step\""))
    #expect(message(#"{"event":"train","step":1.5,"loss":1}"#).contains("integer \"step\""))
    #expect(message(#"{"event":"train","step":1,"loss":"high"}"#).contains("numeric \"loss\""))
    #expect(message(#"{"event":"train","step":1,"loss":true}"#).contains("found a boolean true"))
    #expect(message(#"{"event":"train","step":1,"loss":1,"accuracy":"x"}"#).contains("numeric \"accuracy\""))
    // Other events and unknown keys are skipped; "inf" strings read as infinity.
    let metrics = try TrainingMetrics(jsonLines: #"{"event":"other"}"# + "\n" + #"{"event":"train","step":3,"loss":"inf","x":[1]}"#)
    #expect(metrics.training == [TrainingMetrics.Point(step: 3, loss: .infinity)])
    #expect(throws: ReportError.self) { try LineChart.lossCurves(metrics) }
    #expect(throws: ReportError.self) { try LineChart.accuracyCurves(TrainingMetrics(jsonLines: good)) }
    #expect(throws: ReportError.self) { try TrainingMetrics(contentsOf: URL(fileURLWithPath: "/nonexistent/metrics.jsonl")) }
}

@Test func readsLargeFilesAcrossChunksAndNamesTheBadLine() throws {
    let folder = try makeTemporaryDirectory("mambareport-metrics-large")
    defer { try? FileManager.default.removeItem(at: folder) }
    // About 2.5 MB in long lines: lines cross the reader's 1 MiB chunks; CRLF endings; the last line has no newline.
    var text = ""
    let padding = String(repeating: "abcdefghij", count: 80)
    for step in 1...3_000 {
        text += #"{"event":"train","step":\#(step),"loss":\#(1.0 / Double(step)),"padding":"\#(padding)"}"# + "\r\n"
    }
    text += #"{"event":"validation","step":30000,"loss":0.5}"#
    let url = folder.appendingPathComponent("metrics.jsonl")
    try Data(text.utf8).write(to: url)
    let metrics = try TrainingMetrics(contentsOf: url)
    #expect(metrics.training.count == 3_000 && metrics.training.last == .init(step: 3_000, loss: 1.0 / 3_000))
    #expect(metrics.validation == [.init(step: 30_000, loss: 0.5)])
    var bad = Data(text.utf8)
    let line = 2_000
    let offset = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        .prefix(line - 1).reduce(0) { $0 + $1.count + 1 }
    bad[offset + 2] = 0xFF  // not UTF-8
    try bad.write(to: url)
    #expect(throws: ReportError("\(url.path):\(line): expected UTF-8 text, found bytes that are not UTF-8")) {
        try TrainingMetrics(contentsOf: url)
    }
}
