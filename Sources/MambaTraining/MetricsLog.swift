// Training metrics as JSON Lines: one object per line, keys in a fixed order, numbers in Swift's shortest round-trip
// form, NaN and infinities as strings ("nan", "inf", "-inf") since JSON has no such numbers.
//
// Events:
//   {"event":"train","step":…,"epoch":…,"loss":…,"accuracy":…,"learning_rate":…,"gradient_norm":…,
//    "clip_scale":…,"tokens":…,"tokens_per_second":…,"elapsed_seconds":…}
//   {"event":"validation","step":…,"loss":…,"accuracy":…,"count":…,"seconds":…}
//   {"event":"checkpoint","step":…,"path":…}
//   {"event":"stop","step":…,"reason":"completed"|"interrupted"|"stop_after"|"non_finite_loss"|"non_finite_gradient"}
// `accuracy` is absent where it does not apply.
import Foundation
import MambaBackbone

/// One JSON value of a metrics line.
public enum MetricValue: Sendable, Equatable {
    /// An integer.
    case integer(Int)
    /// A number (non-finite values are written as strings).
    case number(Double)
    /// A string.
    case string(String)

    /// The JSON text.
    var json: String {
        switch self {
        case .integer(let value): return String(value)
        case .number(let value):
            if value.isNaN { return "\"nan\"" }
            if value.isInfinite { return value > 0 ? "\"inf\"" : "\"-inf\"" }
            return "\(value)"
        case .string(let value): return MetricValue.quoted(value)
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// An append-only JSON Lines file of metrics.
public final class MetricsLog {
    /// The file.
    public let url: URL
    private let handle: FileHandle

    /// Opens `url` for appending (creating it). With `truncatingAfterStep`, first rewrites the file (atomically)
    /// without the lines whose "step" is greater, and those at that very step whose "event" is in `redoneEvents`: a
    /// resumed run then does not repeat the steps (and the step's validation, say) that it redoes.
    public init(url: URL, truncatingAfterStep step: Int? = nil, redoneEvents: Set<String> = []) throws {
        self.url = url
        let manager = FileManager.default
        try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if let step, manager.fileExists(atPath: url.path) {
            let text = try String(contentsOf: url, encoding: .utf8)
            var kept = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                let fields = Self.fields(of: line)
                if let lineStep = fields?["step"] as? Int,
                   lineStep > step || (lineStep == step && (fields?["event"] as? String).map(redoneEvents.contains) == true) {
                    continue
                }
                kept += line + "\n"
            }
            try AtomicFile.write(Data(kept.utf8), to: url)
        }
        if !manager.fileExists(atPath: url.path) {
            guard manager.createFile(atPath: url.path, contents: nil) else {
                throw TrainingError.invalidOption("\(url.path): cannot create the metrics file")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends one line: `fields` in the given order.
    public func write(_ fields: KeyValuePairs<String, MetricValue?>) throws {
        try handle.write(contentsOf: Data(Self.line(fields).utf8))
    }

    /// The JSON line (with its newline) for `fields`, nil values omitted.
    public static func line(_ fields: KeyValuePairs<String, MetricValue?>) -> String {
        var parts: [String] = []
        for (key, value) in fields {
            guard let value else { continue }
            parts.append(MetricValue.quoted(key) + ":" + value.json)
        }
        return "{" + parts.joined(separator: ",") + "}\n"
    }

    /// The "step" of a line written by this class, if it has one.
    static func step(of line: Substring) -> Int? { fields(of: line)?["step"] as? Int }

    /// A line's JSON object, if it is one.
    private static func fields(of line: Substring) -> [String: Any]? {
        guard let data = line.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
