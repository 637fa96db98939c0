// Labels kept beside a FASTA file rather than in its headers: a TSV or CSV table with a header line naming an `id`
// column and a `label` column (other columns are ignored), one row per record.

/// An id → label table read from a TSV or CSV file.
///
/// The delimiter is found from the header line: a tab makes it TSV, otherwise CSV. CSV fields may be quoted
/// (RFC 4180: `"a,b"`, `""` for a quote inside). Column names match case-insensitively; fields are trimmed of
/// surrounding spaces. Lines may end in LF or CRLF; blank lines are skipped; a UTF-8 byte order mark is ignored.
/// The file may be gzip-compressed (detected from its first bytes), and `-` reads standard input.
///
/// Rejected, with the file and line named: a missing `id` or `label` column, a repeated column name, a row with
/// another number of fields than the header, an empty id or label, an id with whitespace (FASTA ids end at the
/// first whitespace, so it could never match), and an id given twice.
public struct LabelManifest: Sendable, Equatable {
    /// The path read.
    public let path: String
    /// Ids in file order.
    public let ids: [String]
    /// The label of each id.
    public let labels: [String: String]
    /// The line each id was on (for messages that point back into the manifest).
    public let lines: [String: Int]

    /// Reads the whole manifest (manifests are small: one short row per record).
    public init(path: String) throws(LabelManifestError) {
        self.path = path
        let bytes = try Self.readBytes(path)
        var ids: [String] = []
        var labels: [String: String] = [:]
        var lines: [String: Int] = [:]
        var columns: (id: Int, label: Int, count: Int)?
        var delimiter = UInt8(ascii: ",")

        var lineNumber = 0
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < bytes.count {
            lineNumber += 1
            var stop = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let next = stop + 1
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            defer { start = next }
            let line = bytes[start..<stop]
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw .invalidText(file: path, line: lineNumber, reason: "not valid UTF-8")
            }
            guard let layout = columns else {
                if line.contains(0x09) { delimiter = 0x09 }
                let names = try Self.fields(text, delimiter: delimiter, path: path, line: lineNumber)
                    .map { $0.lowercased() }
                for (k, name) in names.enumerated() where names[..<k].contains(name) {
                    throw .duplicateColumn(file: path, line: lineNumber, column: name)
                }
                guard let idColumn = names.firstIndex(of: "id") else {
                    throw .missingColumn(file: path, line: lineNumber, column: "id", found: names)
                }
                guard let labelColumn = names.firstIndex(of: "label") else {
                    throw .missingColumn(file: path, line: lineNumber, column: "label", found: names)
                }
                columns = (idColumn, labelColumn, names.count)
                continue
            }
            let fields = try Self.fields(text, delimiter: delimiter, path: path, line: lineNumber)
            guard fields.count == layout.count else {
                throw .wrongFieldCount(file: path, line: lineNumber, expected: layout.count, found: fields.count)
            }
            let id = fields[layout.id]
            let label = fields[layout.label]
            if id.isEmpty { throw .emptyField(file: path, line: lineNumber, column: "id") }
            if label.isEmpty { throw .emptyField(file: path, line: lineNumber, column: "label") }
            if id.utf8.contains(where: FASTAHeader.isSpace) {
                throw .invalidText(file: path, line: lineNumber,
                                   reason: "id '\(id)' contains whitespace, which a FASTA id cannot")
            }
            if let first = lines[id] {
                throw .duplicateID(file: path, line: lineNumber, id: id, firstLine: first)
            }
            ids.append(id)
            labels[id] = label
            lines[id] = lineNumber
        }
        if columns == nil { throw .noHeader(file: path) }
        self.ids = ids
        self.labels = labels
        self.lines = lines
    }

    /// The label of `id`, or nil when the manifest has no row for it.
    public subscript(id: String) -> String? { labels[id] }

    /// The number of rows.
    public var count: Int { ids.count }

    /// The distinct labels, sorted.
    public var distinctLabels: [String] { Set(labels.values).sorted() }

    private static func readBytes(_ path: String) throws(LabelManifestError) -> [UInt8] {
        do {
            let input = try DecodedInput(path: path, blockSize: 64 * 1024)
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = try chunk.withUnsafeMutableBufferPointer { b throws(FASTAError) in try input.nextBytes(into: b) }
                if n == 0 { return bytes }
                bytes.append(contentsOf: chunk[0..<n])
            }
        } catch {
            if case .fileNotFound = error { throw .fileNotFound(file: path) }
            throw .unreadable(file: path, reason: error.description)
        }
    }

    /// Splits one line into trimmed fields; CSV fields may be quoted.
    static func fields(_ line: String, delimiter: UInt8, path: String, line lineNumber: Int)
        throws(LabelManifestError) -> [String]
    {
        let bytes = Array(line.utf8)
        var fields: [String] = []
        var field: [UInt8] = []
        var i = 0
        var quoted = false
        func trimmed(_ f: [UInt8]) -> String {
            var lo = 0, hi = f.count
            while lo < hi && (f[lo] == 0x20 || f[lo] == 0x09) { lo += 1 }
            while hi > lo && (f[hi - 1] == 0x20 || f[hi - 1] == 0x09) { hi -= 1 }
            return String(decoding: f[lo..<hi], as: UTF8.self)
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == delimiter {
                fields.append(trimmed(field))
                field.removeAll(keepingCapacity: true)
            } else if b == 0x22 && delimiter != 0x09 && field.allSatisfy({ $0 == 0x20 }) {
                field.removeAll()
                quoted = true
            } else {
                field.append(b)
            }
            i += 1
        }
        if quoted {
            throw .invalidText(file: path, line: lineNumber, reason: "a quoted field is not closed on this line")
        }
        fields.append(trimmed(field))
        return fields
    }
}

/// An error reading a `LabelManifest`, naming the file and the line.
public enum LabelManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(file: String)
    /// The file cannot be read or decompressed; `reason` says why.
    case unreadable(file: String, reason: String)
    /// The file has no header line (it is empty or blank).
    case noHeader(file: String)
    /// The header line lacks a required column (`id` or `label`); `found` lists the columns it has.
    case missingColumn(file: String, line: Int, column: String, found: [String])
    /// The header line names a column twice.
    case duplicateColumn(file: String, line: Int, column: String)
    /// A row has a different number of fields than the header.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// A row's id or label is empty.
    case emptyField(file: String, line: Int, column: String)
    /// An id appears on two rows.
    case duplicateID(file: String, line: Int, id: String, firstLine: Int)
    /// A line is not valid text (not UTF-8, an unclosed quote, an id with whitespace).
    case invalidText(file: String, line: Int, reason: String)

    /// The error in words, starting with `file:line:`.
    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read label manifest: \(reason)"
        case .noHeader(let file):
            return "\(file): label manifest is empty (expected a header line with 'id' and 'label' columns)"
        case .missingColumn(let file, let line, let column, let found):
            return "\(file):\(line): no '\(column)' column in the header (found: \(found.joined(separator: ", ")))"
        case .duplicateColumn(let file, let line, let column):
            return "\(file):\(line): column '\(column)' appears twice in the header"
        case .wrongFieldCount(let file, let line, let expected, let found):
            return "\(file):\(line): expected \(expected) fields as in the header, found \(found)"
        case .emptyField(let file, let line, let column):
            return "\(file):\(line): empty \(column)"
        case .duplicateID(let file, let line, let id, let firstLine):
            return "\(file):\(line): id '\(id)' already given on line \(firstLine)"
        case .invalidText(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        }
    }
}
