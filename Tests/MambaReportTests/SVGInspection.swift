// Reads an SVG document back with Foundation's XMLParser (a conforming XML parser): the root element and its
// attributes, every element's name, and the text of each <text> element, so tests check what a reader would see.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

struct ParsedSVG {
    var rootName = ""
    var rootAttributes: [String: String] = [:]
    var elementNames: [String] = []
    /// The content of each <text> element, in document order.
    var texts: [String] = []
    /// The <title> element's text.
    var title = ""
    /// Attributes of each <image> element.
    var images: [[String: String]] = []

    /// Whether some <text> is exactly `text`.
    func hasText(_ text: String) -> Bool { texts.contains(text) }
    /// How many <text> elements are exactly `text`.
    func count(_ text: String) -> Int { texts.filter { $0 == text }.count }
}

enum SVGParseError: Error, CustomStringConvertible {
    case invalid(String)
    var description: String {
        switch self { case .invalid(let message): return message }
    }
}

final class SVGReader: NSObject, XMLParserDelegate {
    private var result = ParsedSVG()
    private var stack: [String] = []
    private var current = ""

    static func parse(_ svg: String) throws -> ParsedSVG {
        let reader = SVGReader()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = reader
        guard parser.parse() else {
            throw SVGParseError.invalid("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)")
        }
        return reader.result
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        if stack.isEmpty {
            result.rootName = elementName
            result.rootAttributes = attributeDict
        }
        if elementName == "image" { result.images.append(attributeDict) }
        result.elementNames.append(elementName)
        stack.append(elementName)
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        if elementName == "text" { result.texts.append(current) }
        if elementName == "title" && stack.count == 2 { result.title = current }
        stack.removeLast()
        current = ""
    }
}

/// Parses `svg` and checks the SVG 1.1 root: namespace, version, positive width and height, a viewBox.
func parseValidSVG(_ svg: String) throws -> ParsedSVG {
    let parsed = try SVGReader.parse(svg)
    guard parsed.rootName == "svg" else { throw SVGParseError.invalid("root is <\(parsed.rootName)>") }
    let a = parsed.rootAttributes
    guard a["xmlns"] == "http://www.w3.org/2000/svg", a["version"] == "1.1",
          let w = a["width"].flatMap(Double.init), let h = a["height"].flatMap(Double.init), w > 0, h > 0,
          a["viewBox"] == "0 0 \(a["width"]!) \(a["height"]!)" else {
        throw SVGParseError.invalid("bad <svg> attributes: \(a)")
    }
    // Every element is one SVG 1.1 defines (of those the charts use).
    let known: Set<String> = ["svg", "title", "desc", "defs", "clipPath", "rect", "line", "polyline", "polygon",
                              "circle", "text", "image", "g"]
    if let unknown = parsed.elementNames.first(where: { !known.contains($0) }) {
        throw SVGParseError.invalid("unexpected element <\(unknown)>")
    }
    return parsed
}
