// The SVG 1.1 writer every chart draws on: a list of elements in painting order, coordinates in px (origin top left,
// y down), numbers with at most two decimals, all text escaped for XML.
import Foundation

/// Horizontal anchoring of a text.
enum TextAnchor: String {
    case start, middle, end
}

/// A dash pattern of a stroke.
enum Dash {
    case solid, dashed, dotted

    var attribute: String {
        switch self {
        case .solid: return ""
        case .dashed: return " stroke-dasharray=\"7,4\""
        case .dotted: return " stroke-dasharray=\"2,3\""
        }
    }
}

/// An SVG document under construction.
struct SVGCanvas {
    let width: Double
    let height: Double
    private(set) var elements: [String] = []
    private var definitions: [String] = []
    private var clipCount = 0

    /// The font stack: DejaVu Sans ships with most Linux systems (and librsvg); the others cover macOS and Windows.
    static let fontFamily = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    // MARK: Shapes

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil,
                       strokeWidth: Double = 1, opacity: Double? = nil) {
        var s = "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(0, width)))\" height=\"\(n(max(0, height)))\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(n(strokeWidth))\"" }
        if let opacity { s += " fill-opacity=\"\(n(opacity))\"" }
        elements.append(s + "/>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
                       dash: Dash = .solid) {
        elements.append("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"\(dash.attribute)/>")
    }

    /// An open polyline (no fill); nothing for fewer than two points.
    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double, dash: Dash = .solid,
                           opacity: Double? = nil, clip: String? = nil) {
        guard points.count >= 2 else { return }
        let coordinates = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        var s = "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\"\(dash.attribute)"
        if let opacity { s += " stroke-opacity=\"\(n(opacity))\"" }
        if let clip { s += " clip-path=\"url(#\(clip))\"" }
        elements.append(s + "/>")
    }

    /// A filled polygon.
    mutating func polygon(_ points: [(Double, Double)], fill: String, stroke: String? = nil, clip: String? = nil) {
        guard points.count >= 3 else { return }
        let coordinates = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        var s = "<polygon points=\"\(coordinates)\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"0.5\"" }
        if let clip { s += " clip-path=\"url(#\(clip))\"" }
        elements.append(s + "/>")
    }

    mutating func circle(cx: Double, cy: Double, r: Double, fill: String, stroke: String = "#ffffff",
                         clip: String? = nil) {
        var s = "<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(n(r))\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"1\""
        if let clip { s += " clip-path=\"url(#\(clip))\"" }
        elements.append(s + "/>")
    }

    /// A text; `y` is the baseline. `rotation` (degrees) turns it about (x, y).
    mutating func text(_ content: String, x: Double, y: Double, size: Double, anchor: TextAnchor = .start,
                       bold: Bool = false, fill: String = "#222222", rotation: Double? = nil) {
        var s = "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\""
        if bold { s += " font-weight=\"bold\"" }
        if let rotation { s += " transform=\"rotate(\(n(rotation)) \(n(x)) \(n(y)))\"" }
        elements.append(s + ">" + Self.escape(content) + "</text>")
    }

    /// A PNG image stretched over the rectangle (pixels not smoothed where the viewer honours image-rendering).
    mutating func image(png: Data, x: Double, y: Double, width: Double, height: Double, clip: String? = nil) {
        let clipAttribute = clip.map { " clip-path=\"url(#\($0))\"" } ?? ""
        elements.append("<image x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\" preserveAspectRatio=\"none\" image-rendering=\"optimizeSpeed\"\(clipAttribute) xlink:href=\"data:image/png;base64,\(png.base64EncodedString())\"/>")
    }

    /// Defines a rectangular clip path; returns its id for `clip:` arguments.
    mutating func clipRect(x: Double, y: Double, width: Double, height: Double) -> String {
        clipCount += 1
        let id = "clip\(clipCount)"
        definitions.append("<clipPath id=\"\(id)\"><rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(width))\" height=\"\(n(height))\"/></clipPath>")
        return id
    }

    // MARK: Document

    /// The document: XML declaration, `<svg>` root (SVG 1.1, xlink for images), `<title>` and `<desc>` for
    /// screen readers and file browsers, a white background, then the elements.
    func render(title: String, description: String? = nil) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"\(Self.fontFamily)\">\n"
        out += "<title>" + Self.escape(title) + "</title>\n"
        if let description { out += "<desc>" + Self.escape(description) + "</desc>\n" }
        if !definitions.isEmpty { out += "<defs>" + definitions.joined() + "</defs>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        for element in elements { out += element + "\n" }
        return out + "</svg>\n"
    }

    // MARK: Text helpers

    /// XML text and attribute escaping; characters XML 1.0 forbids (C0 controls other than tab, newline and
    /// carriage return, lone surrogates cannot occur in a Swift String) become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The approximate width in px of `text` at `size` px in DejaVu Sans (its average advance is about 0.6 em;
    /// layout only needs an upper estimate).
    static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6
    }
}

/// A coordinate with at most two decimals and no trailing zeros ("12", "12.5", "-0.25").
func n(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let rounded = (value * 100).rounded() / 100
    if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
    var s = String(format: "%.2f", rounded)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s == "-0" ? "0" : s
}
