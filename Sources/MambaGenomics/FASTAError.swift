// Every way reading or writing FASTA can fail, each naming the file and the place.

/// An error reading or writing a FASTA file. Each case names the file and, where it is known, the 1-based line and
/// column of the decompressed text, or the byte offset in the file as stored (for gzip errors).
public enum FASTAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(file: String)
    /// The file exists but cannot be opened or read (permissions, a folder, an I/O error); `reason` is the system's.
    case unreadable(file: String, reason: String)
    /// The input is not FASTA text: a control byte (e.g. NUL, binary data) or a line that starts with neither
    /// `>`, `;` nor sequence. `found` describes what was there.
    case notFASTA(file: String, line: Int, column: Int, found: String)
    /// The file is compressed in a format this reader does not decode (bzip2, xz, zstd); detected from its magic bytes.
    case unsupportedCompression(file: String, format: String)
    /// A sequence line appears before the first `>` header.
    case sequenceBeforeHeader(file: String, line: Int)
    /// A header line has no identifier: `>` followed by nothing or by whitespace.
    case emptyID(file: String, line: Int)
    /// A sequence line holds a character that is not an accepted nucleotide code (see `NucleotideAlphabet`).
    case invalidCharacter(file: String, line: Int, column: Int, byte: UInt8)
    /// A header line is malformed: not UTF-8, longer than the reader's limit, or with an empty or repeated `label=`.
    case invalidHeader(file: String, line: Int, reason: String)
    /// The input ended inside a gzip member (a truncated download or copy); `byteOffset` is the file's size.
    case truncatedGzip(file: String, byteOffset: Int)
    /// zlib rejected the compressed data (`Z_DATA_ERROR`): a corrupt block, or a CRC or length mismatch in a member's
    /// trailer. `reason` is zlib's message; `byteOffset` is how far into the file the decoder had read.
    case corruptGzip(file: String, byteOffset: Int, reason: String)
    /// Bytes after the end of a gzip member that do not start another member (zero padding, appended text).
    case trailingData(file: String, byteOffset: Int)
    /// A record given to `FASTAWriter` cannot be written as FASTA (an id with whitespace, a newline in the
    /// description, a byte that is not an accepted nucleotide code at `index` of the sequence).
    case invalidRecord(file: String, id: String, reason: String)
    /// An option is out of range (e.g. a negative line width).
    case invalidOption(reason: String)
    /// Writing, flushing, compressing or renaming the output failed; `reason` is the system's or zlib's.
    case writeFailed(file: String, reason: String)

    /// The file the error is about (empty for `invalidOption`).
    public var file: String {
        switch self {
        case .fileNotFound(let file), .unreadable(let file, _), .notFASTA(let file, _, _, _),
             .unsupportedCompression(let file, _), .sequenceBeforeHeader(let file, _), .emptyID(let file, _),
             .invalidCharacter(let file, _, _, _), .invalidHeader(let file, _, _), .truncatedGzip(let file, _),
             .corruptGzip(let file, _, _), .trailingData(let file, _), .invalidRecord(let file, _, _),
             .writeFailed(let file, _):
            return file
        case .invalidOption:
            return ""
        }
    }

    /// The 1-based line of the decompressed text the error is on, where that is what is known.
    public var line: Int? {
        switch self {
        case .notFASTA(_, let line, _, _), .sequenceBeforeHeader(_, let line), .emptyID(_, let line),
             .invalidCharacter(_, let line, _, _), .invalidHeader(_, let line, _):
            return line
        default:
            return nil
        }
    }

    /// The error in words: `FILE[:LINE[:COLUMN]]: what was wrong`, saying what was expected where that helps.
    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read: \(reason)"
        case .notFASTA(let file, let line, let column, let found):
            return "\(file):\(line):\(column): not FASTA: expected '>' header, ';' comment or sequence; found \(found)"
        case .unsupportedCompression(let file, let format):
            return "\(file): \(format)-compressed; only plain, gzip and BGZF FASTA are read (decompress it first)"
        case .sequenceBeforeHeader(let file, let line):
            return "\(file):\(line): sequence data before the first '>' header"
        case .emptyID(let file, let line):
            return "\(file):\(line): header has an empty id (expected '>ID [description]')"
        case .invalidCharacter(let file, let line, let column, let byte):
            return "\(file):\(line):\(column): \(describeByte(byte)) is not a nucleotide code "
                + "(expected one of ACGTURYSWKMBDHVN or '-', either case)"
        case .invalidHeader(let file, let line, let reason):
            return "\(file):\(line): invalid header: \(reason)"
        case .truncatedGzip(let file, let offset):
            return "\(file): gzip stream truncated: input ended at byte \(offset) inside a member"
        case .corruptGzip(let file, let offset, let reason):
            return "\(file): corrupt gzip data near byte \(offset): \(reason)"
        case .trailingData(let file, let offset):
            return "\(file): data at byte \(offset) after the end of a gzip member is not another gzip member"
        case .invalidRecord(let file, let id, let reason):
            return "\(file): cannot write record '\(id)': \(reason)"
        case .invalidOption(let reason):
            return "invalid option: \(reason)"
        case .writeFailed(let file, let reason):
            return "\(file): write failed: \(reason)"
        }
    }
}

/// A byte as a reader would want to see it in a message: `'x'` when printable ASCII, `byte 0x00` otherwise.
func describeByte(_ byte: UInt8) -> String {
    if byte >= 0x21 && byte < 0x7F {
        return "'\(Character(Unicode.Scalar(byte)))'"
    }
    let hex = String(byte, radix: 16, uppercase: true)
    return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
}
