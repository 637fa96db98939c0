// Training curves from the metrics.jsonl that `Trainer` writes (MambaTraining/MetricsLog.swift):
//   {"event":"train","step":…,"loss":…,"accuracy":…,…}        one line per optimizer step
//   {"event":"validation","step":…,"loss":…,"accuracy":…,…}   one line per validation pass
// Other events (checkpoint, stop) are skipped. Numbers may be written as the strings "nan", "inf", "-inf".
// `loss` is the mean cross-entropy in nats; `accuracy` a fraction 0 ... 1, absent where it does not apply.
import Foundation

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

    /// Reads a metrics.jsonl file, streaming (1 MiB at a time: memory grows with the points kept, not the file);
    /// throws with the file and line of the first line that is not UTF-8 or not a JSON object, or of a train /
    /// validation event without an integer "step" or a numeric "loss".
    public init(contentsOf url: URL) throws {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw ReportError("\(url.path): cannot open the metrics file (\(error.localizedDescription))")
        }
        defer { try? handle.close() }
        var reader = Reader(source: url.path)
        var pending = Data()
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw ReportError("\(url.path): cannot read the metrics file (\(error.localizedDescription))")
            }
            if chunk.isEmpty { break }
            pending.append(chunk)
            // Consume every complete line, then drop them at once (removing line by line would move the buffer's
            // tail for each line).
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                try reader.consume(pending[start..<newline])
                start = newline + 1
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try reader.consume(pending) }
        self.init(training: reader.training, validation: reader.validation)
    }

    /// Parses JSON Lines text; `source` names it in errors.
    public init(jsonLines text: String, source: String = "metrics.jsonl") throws {
        var reader = Reader(source: source)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            try reader.consume(Data(line.utf8))
        }
        self.init(training: reader.training, validation: reader.validation)
    }

    /// Parses one line at a time, counting lines for error messages.
    private struct Reader {
        let source: String
        var lineNumber = 0
        var training: [Point] = []
        var validation: [Point] = []

        init(source: String) { self.source = source }

        mutating func consume(_ bytes: Data) throws {
            lineNumber += 1
            let place = "\(source):\(lineNumber)"
            guard let line = String(data: bytes, encoding: .utf8) else {
                throw ReportError("\(place): expected UTF-8 text, found bytes that are not UTF-8")
            }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return }
            // JSONSerialization: several times faster than JSONDecoder on Linux, and metrics files can be long.
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed])
            } catch {
                throw ReportError("\(place): expected a JSON object, found \"\(trimmed.prefix(40))\" (not valid JSON)")
            }
            guard let object = parsed as? [String: Any] else {
                throw ReportError("\(place): expected a JSON object, found \(TrainingMetrics.summary(parsed))")
            }
            guard let event = object["event"] as? String, event == "train" || event == "validation" else { return }
            guard let step = TrainingMetrics.integer(object["step"]) else {
                throw ReportError("\(place): expected an integer \"step\" in a \(event) event, found \(object["step"].map(TrainingMetrics.summary) ?? "none")")
            }
            guard let loss = TrainingMetrics.number(object["loss"]) else {
                throw ReportError("\(place): expected a numeric \"loss\" in a \(event) event, found \(object["loss"].map(TrainingMetrics.summary) ?? "none")")
            }
            let accuracy = TrainingMetrics.number(object["accuracy"])
            if let given = object["accuracy"], accuracy == nil {
                throw ReportError("\(place): expected a numeric \"accuracy\", found \(TrainingMetrics.summary(given))")
            }
            let point = Point(step: step, loss: loss, accuracy: accuracy)
            if event == "train" { training.append(point) } else { validation.append(point) }
        }
    }

    /// Whether a JSONSerialization number was written as true / false (an NSNumber of C type char).
    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    /// A number, or one of the strings MetricsLog writes for non-finite values; nil for anything else.
    static func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber where !isBoolean(number): return number.doubleValue
        case "nan" as String: return .nan
        case "inf" as String: return .infinity
        case "-inf" as String: return -.infinity
        default: return nil
        }
    }

    /// An integer written without a fraction or exponent.
    static func integer(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
        let type = String(cString: number.objCType)
        guard type != "d" && type != "f" else { return nil }
        return number.intValue
    }

    /// The kind and value of a parsed JSON value, for error messages.
    static func summary(_ value: Any) -> String {
        switch value {
        case let number as NSNumber where isBoolean(number): return "a boolean \(number.boolValue)"
        case let number as NSNumber: return "a number \(number)"
        case let text as String: return "a string \"\(text.prefix(40))\""
        case let array as [Any]: return "an array of \(array.count) elements"
        case let object as [String: Any]: return "an object with \(object.count) keys"
        default: return "null"
        }
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
