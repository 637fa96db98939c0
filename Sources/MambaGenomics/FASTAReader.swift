// Streaming FASTA reader: decoded blocks in, one record out per `next()`.
//
// The parser is a loop over a block buffer with a small state (are we at a line start, which record is open).
// Sequence lines are never assembled: each block is scanned with memchr for the next '\n', the bytes before it are
// checked against `NucleotideAlphabet.classTable` and appended to the record in runs, so a line may straddle two
// blocks at no cost. Header and comment lines are copied out (they may straddle blocks too).
// Memory: one block, one header, and the open record's sequence.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads FASTA records one at a time from plain, gzip or BGZF files (detected from the first bytes), or from
/// standard input when the path is `-`.
///
/// ```swift
/// let reader = try FASTAReader(path: "genome.fa.gz")
/// while let record = try reader.next() {
///     print(record.id, record.sequence.count)
/// }
/// ```
///
/// The file format: a record is a `>` header line (`>ID DESCRIPTION`) followed by zero or more sequence lines.
/// Lines may end in LF or CRLF; the last line may lack its line end; blank lines and lines starting with `;`
/// (old-style comments) are skipped anywhere; spaces and tabs inside sequence lines are skipped. Sequence characters
/// must be nucleotide codes (`NucleotideAlphabet`: `ACGTURYSWKMBDHVN-`, either case). A record may have an empty
/// sequence. An empty file (or one of only blank and comment lines) holds zero records, which is not an error here:
/// callers that need data, like `mambakit inspect`, report it (see `FASTASummary.problems`).
///
/// Errors are thrown as `FASTAError`, naming the file and line (and column); after an error the reader is finished.
public final class FASTAReader {
    /// How to read.
    public struct Options: Sendable, Equatable {
        /// Upper-case the sequence (a-z to A-Z), dropping soft-masking. Default false: bases are kept as read.
        public var uppercase: Bool
        /// Bytes read from the file, and decoded, per block: 1 to 1 GiB. Default 256 KiB.
        public var blockSize: Int
        /// The longest header line accepted, in bytes; longer is an error (it guards memory when a binary file
        /// happens to start with `>`). Default 1 MiB.
        public var maxHeaderLength: Int

        /// Options; the defaults suit every file we know of.
        public init(uppercase: Bool = false, blockSize: Int = 256 * 1024, maxHeaderLength: Int = 1 << 20) {
            self.uppercase = uppercase
            self.blockSize = blockSize
            self.maxHeaderLength = maxHeaderLength
        }
    }

    /// The path given (`-` for standard input).
    public let path: String
    /// The options in use.
    public let options: Options
    /// How the file is stored, detected from its first bytes.
    public var format: FASTAInputFormat { input.format }
    /// How many records `next()` has returned so far.
    public private(set) var recordsRead = 0

    private let input: DecodedInput
    private let block: UnsafeMutableBufferPointer<UInt8>
    private var position = 0
    private var end = 0
    /// Offset in the decoded text of `block[0]`.
    private var blockOffset = 0
    /// The 1-based number of the line that `position` is on, and the decoded offset where that line starts.
    private var lineNumber = 1
    private var lineStart = 0
    /// False while inside a sequence line (after its first byte, before its '\n').
    private var atLineStart = true
    private var finished = false

    /// The open record, if a header has been read and its sequence is being collected.
    private var open: (id: String, description: String, headerLine: Int)?
    private var sequence: [UInt8] = []
    private var header: [UInt8] = []

    /// Opens `path` (`-` for standard input) and detects its format.
    public init(path: String, options: Options = Options()) throws(FASTAError) {
        guard (1...(1 << 30)).contains(options.blockSize) else {
            throw .invalidOption(reason: "blockSize must be 1 byte to 1 GiB, not \(options.blockSize)")
        }
        guard options.maxHeaderLength > 0 else { throw .invalidOption(reason: "maxHeaderLength must be positive") }
        self.path = path
        self.options = options
        input = try DecodedInput(path: path, blockSize: options.blockSize)
        block = .allocate(capacity: options.blockSize)
    }

    deinit { block.deallocate() }

    /// Reads every record of `path` into memory (for small files and tests; use `next()` to stream).
    public static func readAll(path: String, options: Options = Options()) throws(FASTAError) -> [FASTARecord] {
        let reader = try FASTAReader(path: path, options: options)
        var records: [FASTARecord] = []
        while let record = try reader.next() { records.append(record) }
        return records
    }

    /// The next record, or nil at the end of the input.
    public func next() throws(FASTAError) -> FASTARecord? {
        if finished { return nil }
        do {
            return try parseNext()
        } catch {
            finished = true
            throw error
        }
    }

    private func parseNext() throws(FASTAError) -> FASTARecord? {
        while true {
            if position == end {
                if try !refill() {
                    finished = true
                    return closeRecord()
                }
            }
            if !atLineStart {
                try scanSequence()
                continue
            }
            switch block[position] {
            case UInt8(ascii: ">"):
                // A header closes the open record; it is read on the next call so the record goes out first.
                if open != nil { return closeRecord() }
                try readHeader()
            case UInt8(ascii: ";"):
                try skipLine()
            case UInt8(ascii: "\n"):
                position += 1
                startLine()
            default:
                atLineStart = false
            }
        }
    }

    /// Reads the next decoded block; false at the end of the input.
    private func refill() throws(FASTAError) -> Bool {
        blockOffset += end
        position = 0
        end = try input.nextBytes(into: block)
        return end > 0
    }

    /// Called with `position` just after a '\n'.
    private func startLine() {
        lineNumber += 1
        lineStart = blockOffset + position
        atLineStart = true
    }

    /// Validates sequence lines from `position`, appending their residues to the open record, until the block ends
    /// or a line starts with `>` or `;` (left for `parseNext`). Blank lines are passed over here too, so a block of
    /// sequence costs one call, not one per line.
    private func scanSequence() throws(FASTAError) {
        let base = UnsafePointer(block.baseAddress!)
        let end = self.end
        // Parser state and the record's bases as locals: a class property touched in the loop would cost a
        // dynamic exclusivity check per access. They are stored back on every exit, errors included.
        var i = position
        var line = lineNumber
        var lineBegin = lineStart
        var midLine = true
        var bases: [UInt8] = []
        swap(&bases, &sequence)
        defer {
            swap(&bases, &sequence)
            position = i
            lineNumber = line
            lineStart = lineBegin
            atLineStart = !midLine
        }
        let hasRecord = open != nil
        let offset = blockOffset
        try NucleotideAlphabet.classTable.withUnsafeBufferPointer { table throws(FASTAError) in
            while true {
                let newline = memchr(base + i, 0x0A, end - i)
                let stop = newline.map { UnsafeRawPointer(base).distance(to: UnsafeRawPointer($0)) } ?? end
                while i < stop {
                    // The longest run of residues from i, appended in one copy. Eight bytes per test while the
                    // table's classes OR to 0 (all residues), then byte by byte to the first non-residue.
                    var j = i
                    while j + 8 <= stop {
                        let p = base + j
                        let classes = table[Int(p[0])] | table[Int(p[1])] | table[Int(p[2])] | table[Int(p[3])]
                            | table[Int(p[4])] | table[Int(p[5])] | table[Int(p[6])] | table[Int(p[7])]
                        if classes != 0 { break }
                        j += 8
                    }
                    while j < stop && table[Int(base[j])] == 0 { j += 1 }
                    if j > i {
                        guard hasRecord else { throw .sequenceBeforeHeader(file: path, line: line) }
                        bases.append(contentsOf: UnsafeBufferPointer(start: base + i, count: j - i))
                    }
                    if j < stop {
                        let byte = base[j]
                        let column = offset + j - lineBegin + 1
                        switch NucleotideAlphabet.ByteClass(rawValue: table[Int(byte)])! {
                        case .residue, .whitespace:
                            break
                        case .invalid where hasRecord:
                            throw .invalidCharacter(file: path, line: line, column: column, byte: byte)
                        case .invalid, .binary:
                            throw notFASTA(byte, line: line, column: column)
                        }
                        j += 1
                    }
                    i = j
                }
                guard newline != nil else { return }  // the line continues in the next block
                i = stop + 1
                line += 1
                lineBegin = offset + i
                midLine = false
                if i == end || base[i] == UInt8(ascii: ">") || base[i] == UInt8(ascii: ";") { return }
                midLine = true
            }
        }
    }

    private func notFASTA(_ byte: UInt8, line: Int, column: Int) -> FASTAError {
        var found = describeByte(byte)
        if NucleotideAlphabet.classify(byte) == .binary { found += " (binary data)" }
        if byte == UInt8(ascii: "@") && line == 1 { found += " (FASTQ? only FASTA is read)" }
        return .notFASTA(file: path, line: line, column: column, found: found)
    }

    /// Copies the line at `position` (which may continue in later blocks) into `header`, without its '\n'.
    /// Returns with `position` after the '\n' (or at the end of the input).
    private func collectLine(limit: Int?) throws(FASTAError) {
        header.removeAll(keepingCapacity: true)
        while true {
            if position == end, try !refill() { return }
            let base = UnsafePointer(block.baseAddress!)
            let newline = memchr(base + position, 0x0A, end - position)
            let stop = newline.map { UnsafeRawPointer(base).distance(to: UnsafeRawPointer($0)) } ?? end
            if let limit {
                if header.count + (stop - position) > limit {
                    throw .invalidHeader(file: path, line: lineNumber,
                                         reason: "longer than \(limit) bytes (is this a FASTA file?)")
                }
                header.append(contentsOf: UnsafeBufferPointer(start: base + position, count: stop - position))
            }
            position = stop
            if newline != nil {
                position += 1
                return
            }
        }
    }

    private func skipLine() throws(FASTAError) {
        try collectLine(limit: nil)
        startLine()
    }

    private func readHeader() throws(FASTAError) {
        let line = lineNumber
        try collectLine(limit: options.maxHeaderLength)
        startLine()
        let (id, description) = try header.withUnsafeBufferPointer { bytes throws(FASTAError) in
            // bytes[0] is '>'.
            let text = UnsafeBufferPointer(rebasing: bytes[1...])
            for (k, b) in text.enumerated() where NucleotideAlphabet.classify(b) == .binary && !FASTAHeader.isSpace(b) {
                throw .notFASTA(file: path, line: line, column: k + 2, found: describeByte(b) + " (binary data)")
            }
            if String(validating: text, as: UTF8.self) == nil {
                throw .invalidHeader(file: path, line: line, reason: "not valid UTF-8 text")
            }
            return FASTAHeader.split(text)
        }
        if id.isEmpty { throw .emptyID(file: path, line: line) }
        do {
            _ = try FASTAHeader.parseLabel(description)
        } catch {
            throw .invalidHeader(file: path, line: line, reason: error.reason)
        }
        open = (id, description, line)
    }

    /// Hands out the open record (nil when none) and clears it.
    private func closeRecord() -> FASTARecord? {
        guard let (id, description, headerLine) = open else { return nil }
        open = nil
        var bases: [UInt8] = []
        swap(&bases, &sequence)
        if options.uppercase {
            NucleotideAlphabet.uppercaseTable.withUnsafeBufferPointer { table in
                bases.withUnsafeMutableBufferPointer { b in
                    for k in b.indices { b[k] = table[Int(b[k])] }
                }
            }
        }
        recordsRead += 1
        return FASTARecord(id: id, description: description, sequence: bases, headerLine: headerLine)
    }
}
