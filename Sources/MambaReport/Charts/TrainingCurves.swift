// Training curves from the metrics.jsonl that `Trainer` writes (MambaTraining/MetricsLog.swift):
//   {"event":"train","step":…,"loss":…,"accuracy":…,…}        one line per optimizer step
//   {"event":"validation","step":…,"loss":…,"accuracy":…,…}   one line per validation pass
// Other events (checkpoint, stop) are skipped. Numbers may be written as the strings "nan", "inf", "-inf".
// `loss` is the mean cross-entropy in nats; `accuracy` a fraction 0 ... 1, absent where it does not apply.
import Foundation
import MambaBackbone

/// The loss and accuracy of a training run, read from metrics.jsonl.
public struct TrainingMetrics: Sendable, Equatable {
    /// One logged step.
    public struct Point: Sendable, Equatable {
        /// The optimizer step.
        public var step: Int
        /// Mean cross-entropy (nats); may be NaN or infinite when training diverged.
        public var loss: Double
        /// Fraction correct, 0 ... 1, when logged.
        public var accuracy: Double?

        /// A point.
        public init(step: Int, loss: Double, accuracy: Double? = nil) {
            self.step = step
            self.loss = loss
            self.accuracy = accuracy
        }
    }

    /// "train" events, in file order.
    public var training: [Point]
    /// "validation" events, in file order.
    public var validation: [Point]

    /// Metrics from points.
    public init(training: [Point], validation: [Point]) {
        self.training = training
        self.validation = validation
    }

    /// Reads a metrics.jsonl file; throws with the file and line of the first line that is not a JSON object, or of
    /// a train / validation event without an integer "step" or a numeric "loss".
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ReportError("\(url.path): cannot read the metrics file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReportError("\(url.path): expected UTF-8 JSON Lines, found bytes that are not UTF-8")
        }
        try self.init(jsonLines: text, source: url.path)
    }

    /// Parses JSON Lines text; `source` names it in errors.
    public init(jsonLines text: String, source: String = "metrics.jsonl") throws {
        var training: [Point] = [], validation: [Point] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let place = "\(source):\(index + 1)"
            let object: [String: JSONValue]
            do {
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8))
                guard case .object(let fields) = value else {
                    throw ReportError("\(place): expected a JSON object, found \(value.summary)")
                }
                object = fields
            } catch let error as ReportError {
                throw error
            } catch {
                throw ReportError("\(place): expected a JSON object, found \"\(trimmed.prefix(40))\" (not valid JSON)")
            }
            guard case .string(let event)? = object["event"], event == "train" || event == "validation" else { continue }
            guard let step = Self.integer(object["step"]) else {
                throw ReportError("\(place): expected an integer \"step\" in a \(event) event, found \(object["step"]?.summary ?? "none")")
            }
            guard let loss = Self.number(object["loss"]) else {
                throw ReportError("\(place): expected a numeric \"loss\" in a \(event) event, found \(object["loss"]?.summary ?? "none")")
            }
            let accuracy = Self.number(object["accuracy"])
            if let given = object["accuracy"], accuracy == nil {
                throw ReportError("\(place): expected a numeric \"accuracy\", found \(given.summary)")
            }
            let point = Point(step: step, loss: loss, accuracy: accuracy)
            if event == "train" { training.append(point) } else { validation.append(point) }
        }
        self.init(training: training, validation: validation)
    }

    /// A number, or one of the strings MetricsLog writes for non-finite values.
    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let v)?: return Double(v)
        case .number(let v)?: return v
        case .string("nan")?: return .nan
        case .string("inf")?: return .infinity
        case .string("-inf")?: return -.infinity
        default: return nil
        }
    }

    static func integer(_ value: JSONValue?) -> Int? {
        guard case .integer(let v)? = value, let int = Int(exactly: v) else { return nil }
        return int
    }
}

extension LineChart {
    /// Training and validation loss against step. More than `maxPoints` training steps are averaged in groups of
    /// consecutive steps (the legend says how many), which also smooths the per-batch noise. Throws when there is no
    /// finite loss to draw.
    public static func lossCurves(_ metrics: TrainingMetrics, title: String = "Loss during training",
                                  subtitle: String? = nil, yTitle: String = "cross-entropy loss (nats)",
                                  maxPoints: Int = 300) throws -> LineChart {
        try curves(metrics, value: { $0.loss }, title: title, subtitle: subtitle, yTitle: yTitle, yRange: nil,
                   maxPoints: maxPoints)
    }

    /// Training and validation accuracy (%) against step, as `lossCurves`; throws when no point has an accuracy.
    public static func accuracyCurves(_ metrics: TrainingMetrics, title: String = "Accuracy during training",
                                      subtitle: String? = nil, maxPoints: Int = 300) throws -> LineChart {
        try curves(metrics, value: { $0.accuracy.map { 100 * $0 } }, title: title, subtitle: subtitle,
                   yTitle: "accuracy (%)", yRange: 0...100, maxPoints: maxPoints)
    }

    private static func curves(_ metrics: TrainingMetrics, value: (TrainingMetrics.Point) -> Double?, title: String,
                               subtitle: String?, yTitle: String, yRange: ClosedRange<Double>?,
                               maxPoints: Int) throws -> LineChart {
        var series: [Series] = []
        let training = metrics.training.compactMap { p in value(p).map { (Double(p.step), $0) } }
        if !training.isEmpty {
            let group = max(1, (training.count + max(1, maxPoints) - 1) / max(1, maxPoints))
            var xs: [Double] = [], ys: [Double] = []
            for start in stride(from: 0, to: training.count, by: group) {
                let slice = training[start..<min(training.count, start + group)]
                xs.append(slice.map(\.0).reduce(0, +) / Double(slice.count))
                // A non-finite loss in a group shows as a gap, not as a mean that hides it.
                ys.append(slice.map(\.1).reduce(0, +) / Double(slice.count))
            }
            series.append(try Series(name: group == 1 ? "training" : "training (mean of \(group) steps)", x: xs,
                                     y: ys, markers: false, color: seriesPalette[0], lineWidth: 1.8))
        }
        let validation = metrics.validation.compactMap { p in value(p).map { (Double(p.step), $0) } }
        if !validation.isEmpty {
            series.append(try Series(name: "validation", x: validation.map(\.0), y: validation.map(\.1),
                                     color: seriesPalette[1], lineWidth: 2.2))
        }
        guard !series.isEmpty else {
            throw ReportError("chart '\(title)': the metrics have no \(yRange == nil ? "loss" : "accuracy") to draw")
        }
        return try LineChart(title: title, subtitle: subtitle, xAxis: Axis(title: "training step (optimizer updates)"),
                             yAxis: Axis(title: yTitle, range: yRange), series: series)
    }
}
