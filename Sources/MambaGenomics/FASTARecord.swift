// One FASTA record and the rules for its header line: `>ID DESCRIPTION`, split at the first whitespace, with an
// optional `label=VALUE` token in the description giving the record's class for supervised training.

/// One record of a FASTA file: the header's id and description, and the sequence bytes as read.
///
/// The sequence keeps the case of the file (lower case marks soft-masked repeats in genome assemblies) unless the
/// reader was asked to upper-case it. Whitespace and line breaks are not part of it.
public struct FASTARecord: Sendable, Equatable, Hashable {
    /// The header up to its first whitespace, without the `>`. Never empty in a record read from a file.
    public var id: String
    /// The rest of the header after the whitespace that ends the id (leading and trailing whitespace removed);
    /// empty when the header is just the id.
    public var description: String
    /// The sequence: one byte per residue (`NucleotideAlphabet`), no line breaks.
    public var sequence: [UInt8]
    /// The 1-based line number of the header in the (decompressed) file; 0 for a record not read from a file.
    public var headerLine: Int

    /// A record; `headerLine` is the header's line in the file it came from (0 when made in code).
    public init(id: String, description: String = "", sequence: [UInt8], headerLine: Int = 0) {
        self.id = id
        self.description = description
        self.sequence = sequence
        self.headerLine = headerLine
    }

    /// A record whose description carries `label=LABEL` (appended after `description` when that is not empty).
    public init(id: String, description: String = "", label: String, sequence: [UInt8], headerLine: Int = 0) {
        let token = "label=" + label
        self.init(id: id, description: description.isEmpty ? token : description + " " + token,
                  sequence: sequence, headerLine: headerLine)
    }

    /// The value of the first whitespace-separated `label=VALUE` token of the description with a non-empty value,
    /// or nil when there is none. (The reader rejects headers with an empty or a repeated `label=`, so for records
    /// read from a file this is the one label.)
    public var label: String? { FASTAHeader.firstLabel(description) }

    /// The sequence as text (for messages and tests; the bytes are ASCII).
    public var sequenceString: String { String(decoding: sequence, as: UTF8.self) }

    /// The number of residues.
    public var length: Int { sequence.count }
}

/// Header-line parsing shared by the reader, the writer and `FASTARecord.label`.
enum FASTAHeader {
    /// Header whitespace: space, tab, vertical tab, form feed, carriage return.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0B || b == 0x0C || b == 0x0D }

    /// The outcome of looking for `label=` in a description.
    enum LabelSearch: Equatable { case none, found(String) }

    /// Problems with `label=` tokens, as text for `FASTAError.invalidHeader`.
    struct LabelProblem: Error { let reason: String }

    /// The `label=VALUE` token of `description`: none, exactly one with a non-empty value, or a problem.
    static func parseLabel(_ description: String) throws(LabelProblem) -> LabelSearch {
        var result = LabelSearch.none
        for token in description.utf8.split(whereSeparator: isSpace) where token.starts(with: labelPrefix) {
            let value = token.dropFirst(labelPrefix.count)
            if value.isEmpty { throw LabelProblem(reason: "'label=' has an empty value") }
            if case .found(let first) = result {
                throw LabelProblem(reason: "more than one 'label=' token ('\(first)' and '\(String(decoding: value, as: UTF8.self))')")
            }
            result = .found(String(decoding: value, as: UTF8.self))
        }
        return result
    }

    /// The first non-empty `label=` value, ignoring repeats (for records made in code that break the reader's rule).
    static func firstLabel(_ description: String) -> String? {
        for token in description.utf8.split(whereSeparator: isSpace) where token.starts(with: labelPrefix) {
            let value = token.dropFirst(labelPrefix.count)
            if !value.isEmpty { return String(decoding: value, as: UTF8.self) }
        }
        return nil
    }

    private static let labelPrefix = Array("label=".utf8)

    /// Splits header bytes (after the `>`, without the line end) into id and description.
    /// The id is empty when the header starts with whitespace. `bytes` must already be valid UTF-8.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> (id: String, description: String) {
        var end = bytes.count
        while end > 0 && isSpace(bytes[end - 1]) { end -= 1 }
        var idEnd = 0
        while idEnd < end && !isSpace(bytes[idEnd]) { idEnd += 1 }
        var descriptionStart = idEnd
        while descriptionStart < end && isSpace(bytes[descriptionStart]) { descriptionStart += 1 }
        let id = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<idEnd]), as: UTF8.self)
        let description = String(decoding: UnsafeBufferPointer(rebasing: bytes[descriptionStart..<end]), as: UTF8.self)
        return (id, description)
    }
}
