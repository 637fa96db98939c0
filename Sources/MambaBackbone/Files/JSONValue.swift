// A JSON value that round-trips through Codable: used for config.json (to keep the keys MambaKit does not know) and
// for safetensors headers (whose shapes and offsets must be range-checked before any use).
import Foundation

/// Any JSON value. Numbers keep whether they were written as integers, so `64` stays `64` and not `64.0`.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as it was read.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A short description of the value's kind, for error messages ("a string \"abc\"", "an integer 3").
    public var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return "a boolean \(value)"
        case .integer(let value): return "an integer \(value)"
        case .number(let value): return "a number \(value)"
        case .string(let value): return "a string \"\(value.prefix(40))\""
        case .array(let value): return "an array of \(value.count) elements"
        case .object(let value): return "an object with \(value.count) keys"
        }
    }

    /// The value as an integer, when it is one (or a float with an integral value).
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 9.0e15: return Int64(value)
        default: return nil
        }
    }

    /// The value as a Double, when it is a number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// Pretty-printed JSON as Python's `json.dumps(indent=2, sort_keys=True)` writes it: keys sorted, two-space
    /// indents, `"key": value`, and floating-point numbers always with a fraction or exponent (`1.0`, `1e-05`), which
    /// transformers' strict config classes require for float fields (JSONEncoder would write `1`).
    public func prettyPrinted(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 2), close = String(repeating: " ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value):
            if !value.isFinite { return value.isNaN ? "NaN" : (value > 0 ? "Infinity" : "-Infinity") }
            if value == value.rounded(), abs(value) < 1e16 { return String(Int64(value)) + ".0" }
            return "\(value)"
        case .string(let value):
            let data = (try? JSONEncoder().encode(value)) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.prettyPrinted(indent: indent + 2) }.joined(separator: ",\n") + "\n\(close)]"
        case .object(let items):
            if items.isEmpty { return "{}" }
            let lines = items.keys.sorted().map { key in
                pad + JSONValue.string(key).prettyPrinted() + ": " + items[key]!.prettyPrinted(indent: indent + 2)
            }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(close)}"
        }
    }
}
