import Foundation
import Testing
@testable import MambaReport
import _MambaTestSupport

// MARK: - Ticks

/// Whether `value` is k × (1, 2 or 5) × 10^e for the given step: a round tick.
private func isMultiple(_ value: Double, of step: Double) -> Bool {
    let k = value / step
    return abs(k - k.rounded()) < 1e-6
}

@Test func linearTicksAreRoundAndCoverTheData() throws {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<500 {
        let scale = pow(10, Double.random(in: -4...5, using: &generator))
        let a = Double.random(in: -1...1, using: &generator) * scale
        let b = a + Double.random(in: 0.001...3, using: &generator) * scale
        let axis = ResolvedAxis.linear(low: a, high: b, target: 6)
        #expect(axis.lower <= a && axis.upper >= b)
        #expect(axis.ticks.count >= 2 && axis.ticks.count <= 14, "\(a)...\(b): \(axis.ticks.count) ticks")
        let step = axis.ticks[1].value - axis.ticks[0].value
        let exponent = floor(log10(step) + 1e-9)
        let mantissa = step / pow(10, exponent)
        #expect([1.0, 2, 5, 10].contains { abs(mantissa - $0) < 1e-6 }, "step \(step)")
        for tick in axis.ticks {
            #expect(isMultiple(tick.value, of: step))
            // The label is the value written with no more digits than the step needs.
            let parsed = try #require(Double(tick.label))
            #expect(abs(parsed - tick.value) <= step * 1e-6, "label \(tick.label) for \(tick.value)")
            #expect(!tick.label.contains("e") || abs(tick.value) >= 1e7)
        }
    }
    let tenths = ResolvedAxis.linear(low: 0, high: 0.7, target: 7)
    #expect(tenths.ticks.map(\.label) == ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"])
    let steps = ResolvedAxis.linear(low: 3, high: 997, target: 5)
    #expect(steps.ticks.map(\.label) == ["0", "200", "400", "600", "800", "1000"])
}

@Test func fixedAndLogarithmicTicks() {
    let percent = ResolvedAxis.fixed(low: 0, high: 100, target: 5)
    #expect(percent.ticks.map(\.label) == ["0", "20", "40", "60", "80", "100"])
    #expect(percent.lower == 0 && percent.upper == 100)
    let duration = ResolvedAxis.fixed(low: 0, high: 1.48, target: 7)
    #expect(duration.ticks.map(\.label) == ["0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2", "1.4"])
    let log = ResolvedAxis.logarithmic(low: 0.003, high: 2.5)
    #expect(log.ticks.map(\.label) == ["0.001", "0.01", "0.1", "1", "10"])
    let short = ResolvedAxis.logarithmic(low: 0.3, high: 0.9)
    #expect(short.ticks.map(\.label) == ["0.1", "0.2", "0.5", "1"])
    let two = ResolvedAxis.logarithmic(low: 0.3, high: 4)
    #expect(two.ticks.map(\.label) == ["0.1", "1", "10"])
    #expect(log.fraction(0.1)! > 0.49 && log.fraction(0.1)! < 0.51)
    #expect(log.fraction(0) == nil && log.fraction(-1) == nil)
    let categories = ResolvedAxis.categorical(["8", "16", "22.05"])
    #expect(categories.fraction(0) == 1.0 / 6 && categories.fraction(2) == 5.0 / 6)
}

// MARK: - SVG text

@Test func textIsEscapedAndTheDocumentParses() throws {
    let hostile = "a < b & \"c\" > 'd' \u{01}\u{1F} ok"
    let chart = try LineChart(title: hostile, xAxis: .init(title: "x <unit>"), yAxis: .init(title: "y & z"),
                              series: [.init(name: "</text><script>", x: [0, 1], y: [1, 2])])
    let svg = chart.svg()
    #expect(!svg.contains("<script>"))
    let parsed = try parseValidSVG(svg)
    #expect(parsed.hasText("a < b & \"c\" > 'd' \u{FFFD}\u{FFFD} ok"))
    #expect(parsed.title == "a < b & \"c\" > 'd' \u{FFFD}\u{FFFD} ok")
    #expect(parsed.hasText("x <unit>") && parsed.hasText("y & z") && parsed.hasText("</text><script>"))
}

@Test func coordinatesAreShortNumbers() {
    #expect(n(12) == "12" && n(12.5) == "12.5" && n(-0.001) == "0" && n(1.23456) == "1.23" && n(.nan) == "0")
    #expect(compactNumber(22.05) == "22.05" && compactNumber(48) == "48" && compactNumber(44.1) == "44.1")
}

// MARK: - Line charts

@Test func lineChartShowsTitlesTicksAndLegend() throws {
    let steps = (0..<200).map(Double.init)
    let train = try LineChart.Series(name: "training", x: steps, y: steps.map { 2.3 * exp(-$0 / 60) + 0.1 })
    let validation = try LineChart.Series(name: "validation", x: [0, 50, 100, 150, 199],
                                          y: [2.3, 1.0, 0.6, 0.45, 0.4], style: .dashed)
    let chart = try LineChart(title: "Loss", subtitle: "species4", xAxis: .init(title: "training step"),
                              yAxis: .init(title: "cross-entropy loss (nats)"), series: [train, validation],
                              referenceLines: [.init(y: log(4), label: "chance: ln 4")])
    let parsed = try parseValidSVG(chart.svg())
    for text in ["Loss", "species4", "training step", "cross-entropy loss (nats)", "training", "validation",
                 "chance: ln 4", "0", "50", "100", "150", "200", "0.5", "1.0", "2.5"] {
        #expect(parsed.texts.contains(text), "missing \(text)")
    }
    // Markers on the short series only: 5 circles, plus one in the legend.
    #expect(parsed.elementNames.filter { $0 == "circle" }.count == 6)
}

@Test func accuracyAgainstSampleRateOnACategoricalAxis() throws {
    let rates = ["8", "16", "22.05", "44.1", "48"]
    let with = try LineChart.Series(name: "with rate scaling", x: [0, 1, 2, 3, 4], y: [91, 97, 96, 95, 95])
    let without = try LineChart.Series(name: "without rate scaling", x: [0, 1, 2, 3, 4], y: [20, 97, 45, .nan, 11],
                                       style: .dashed)
    let chart = try LineChart(title: "Spoken digits: accuracy against sample rate",
                              xAxis: .init(title: "sample rate (kHz)", scale: .categorical(rates)),
                              yAxis: .init(title: "accuracy (%)", range: 0...100), series: [with, without],
                              referenceLines: [.init(y: 10, label: "chance (10 %)")])
    let svg = chart.svg()
    let parsed = try parseValidSVG(svg)
    for text in rates + ["sample rate (kHz)", "accuracy (%)", "with rate scaling", "without rate scaling", "0", "20",
                         "100", "chance (10 %)"] {
        #expect(parsed.texts.contains(text), "missing \(text)")
    }
    // The NaN breaks the dashed line in two runs (2 points, then 1 point drawn as a dot).
    #expect(parsed.elementNames.filter { $0 == "polyline" }.count == 2)
    #expect(throws: ReportError.self) {
        try LineChart(title: "t", xAxis: .init(title: "x", scale: .categorical(rates)), yAxis: .init(title: "y"),
                      series: [.init(name: "s", x: [5], y: [1])])
    }
}

@Test func lineChartRefusesWhatItCannotDraw() {
    #expect(throws: ReportError.self) { try LineChart.Series(name: "s", x: [1, 2], y: [1]) }
    #expect(throws: ReportError.self) { try LineChart.Series(name: "s", x: [1], y: [1], color: "red") }
    #expect(throws: ReportError.self) {
        try LineChart(title: "t", xAxis: .init(title: "x"), yAxis: .init(title: "y"),
                      series: [.init(name: "s", x: [1, 2], y: [.nan, .infinity])])
    }
    #expect(throws: ReportError.self) {
        try LineChart(title: "t", xAxis: .init(title: "x"), yAxis: .init(title: "y", scale: .logarithmic),
                      series: [.init(name: "s", x: [1, 2], y: [0, -1])])
    }
    #expect(throws: ReportError.self) {
        try LineChart(title: "t", xAxis: .init(title: "x"), yAxis: .init(title: "y", range: 1...1),
                      series: [.init(name: "s", x: [1, 2], y: [1, 2])])
    }
}

@Test func logarithmicAxisDropsNonPositivePoints() throws {
    let chart = try LineChart(title: "Δ", xAxis: .init(title: "position"),
                              yAxis: .init(title: "Δ", scale: .logarithmic),
                              series: [.init(name: "s", x: [0, 1, 2, 3], y: [0.01, 0, 0.5, 3])])
    let parsed = try parseValidSVG(chart.svg())
    #expect(parsed.hasText("0.01") && parsed.hasText("0.1") && parsed.hasText("1") && parsed.hasText("10"))
}

// MARK: - Heatmaps

@Test func confusionMatrixShowsClassesCountsAndAccuracy() throws {
    let classes = ["E_coli", "H_pylori", "S_aureus", "V_cholerae"]
    let counts = [[230, 5, 10, 5], [3, 240, 4, 3], [12, 2, 226, 10], [20, 1, 6, 223]]
    let chart = try ConfusionMatrixChart(title: "species4: confusion matrix", classes: classes, counts: counts)
    let parsed = try parseValidSVG(chart.svg())
    for name in classes { #expect(parsed.count(name) == 2, "\(name) on both axes") }
    for count in counts.joined() { #expect(parsed.hasText(String(count))) }
    #expect(parsed.hasText("true class") && parsed.hasText("predicted class"))
    #expect(parsed.hasText("share of the true class (%)") && parsed.hasText("100") && parsed.hasText("0"))
    #expect(parsed.hasText("accuracy 91.9 % (919 of 1000); colour: share of each true class"))
    #expect(throws: ReportError.self) { try ConfusionMatrixChart(title: "t", classes: ["a", "b"], counts: [[1, 2]]) }
    #expect(throws: ReportError.self) {
        try ConfusionMatrixChart(title: "t", classes: ["a"], counts: [[-1]])
    }
}

@Test func denseHeatmapIsOnePNGImage() throws {
    let values = (0..<60).map { r in (0..<80).map { c in Double(r * c) } }
    let chart = try Heatmap(title: "dense", values: values, rowLabels: (0..<60).map(String.init),
                            columnLabels: (0..<80).map(String.init), rowTitle: "channel",
                            columnTitle: "position (tokens)", colorBarTitle: "value (units)")
    let parsed = try parseValidSVG(chart.svg())
    #expect(parsed.images.count == 1)
    #expect(parsed.elementNames.filter { $0 == "rect" }.count < 100)
    #expect(parsed.hasText("value (units)") && parsed.hasText("channel") && parsed.hasText("position (tokens)"))
    #expect(throws: ReportError.self) {
        try Heatmap(title: "t", values: [[1, 2], [3]], rowLabels: ["a", "b"], columnLabels: ["x", "y"],
                    rowTitle: "r", columnTitle: "c", colorBarTitle: "v")
    }
}

// MARK: - Files

@Test func writeIsAtomicAndLeavesNoTemporaryFile() throws {
    let folder = try makeTemporaryDirectory("mambareport")
    defer { try? FileManager.default.removeItem(at: folder) }
    let chart = try LineChart(title: "t", xAxis: .init(title: "x (s)"), yAxis: .init(title: "y (m)"),
                              series: [.init(name: "s", x: [0, 1], y: [0, 1])])
    let url = folder.appendingPathComponent("chart.svg")
    try chart.write(to: url)
    try chart.write(to: url)
    #expect(try String(contentsOf: url, encoding: .utf8) == chart.svg())
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["chart.svg"])
    #expect(throws: (any Error).self) { try chart.write(to: folder.appendingPathComponent("missing/chart.svg")) }
}
