// Streaming FASTA writer: records in, `>id description` + wrapped sequence lines out, through an optional gzip
// deflater, into a temporary file that becomes the target only on `finish()`.

import CZlib

/// Writes FASTA or gzip-compressed FASTA, atomically: the output is built under a temporary name in the target's
/// folder and renamed to `path` by `finish()`. If writing, compressing or renaming fails, or the writer is abandoned
/// or released without `finish()`, the temporary file is removed and `path` is left as it was.
///
/// ```swift
/// let writer = try FASTAWriter(path: "out.fa.gz")          // gzip, chosen by the .gz extension
/// try writer.write(FASTARecord(id: "seq1", label: "promoter", sequence: Array("ACGT".utf8)))
/// try writer.finish()
/// ```
///
/// Records are checked so that `FASTAReader` reads them back unchanged: the id must be non-empty text without
/// whitespace or control characters, the description must be one line without leading or trailing whitespace and
/// with at most one non-empty `label=` token, and the sequence must hold only `NucleotideAlphabet` residues.
/// A record that breaks these rules is refused with `FASTAError.invalidRecord` before any of it is written, and the
/// writer stays usable (the caller decides whether to skip it or to give up).
public final class FASTAWriter {
    /// Whether to compress.
    public enum Compression: Sendable, Equatable {
        /// gzip when the path ends in `.gz` (any case), plain text otherwise.
        case automatic
        /// Plain text.
        case none
        /// gzip (one member, deflate, modification time 0 so equal input gives equal bytes).
        case gzip
    }

    /// How to write.
    public struct Options: Sendable, Equatable {
        /// Residues per sequence line; 0 writes each sequence on one line. Default 60.
        public var lineWidth: Int
        /// Plain or gzip. Default `.automatic` (by the `.gz` extension).
        public var compression: Compression
        /// zlib level, 1 (fastest) to 9 (smallest). Default 6, gzip's.
        public var compressionLevel: Int

        /// Options; the defaults write what most tools write.
        public init(lineWidth: Int = 60, compression: Compression = .automatic, compressionLevel: Int = 6) {
            self.lineWidth = lineWidth
            self.compression = compression
            self.compressionLevel = compressionLevel
        }
    }

    /// The file the output becomes on `finish()`.
    public let path: String
    /// The options in use.
    public let options: Options
    /// Whether the output is gzip-compressed.
    public let isGzip: Bool
    /// How many records have been written.
    public private(set) var recordsWritten = 0

    private var output: AtomicOutputFile?
    /// Text not yet compressed or written: `pending[0..<pendingCount]`.
    private let pending: UnsafeMutableBufferPointer<UInt8>
    private var pendingCount = 0
    /// Compressed bytes not yet written (gzip only) and the deflate stream, at a fixed address.
    private let compressed: UnsafeMutableBufferPointer<UInt8>
    private var stream: UnsafeMutablePointer<z_stream>?

    private static let bufferSize = 256 * 1024

    /// Creates the temporary output file beside `path`.
    public init(path: String, options: Options = Options()) throws(FASTAError) {
        guard options.lineWidth >= 0 else {
            throw .invalidOption(reason: "lineWidth must be 0 (no wrapping) or positive, not \(options.lineWidth)")
        }
        guard (1...9).contains(options.compressionLevel) else {
            throw .invalidOption(reason: "compressionLevel must be 1...9, not \(options.compressionLevel)")
        }
        self.path = path
        self.options = options
        switch options.compression {
        case .automatic: isGzip = path.lowercased().hasSuffix(".gz")
        case .none: isGzip = false
        case .gzip: isGzip = true
        }
        pending = .allocate(capacity: Self.bufferSize)
        compressed = .allocate(capacity: isGzip ? Self.bufferSize : 0)
        // From here every stored property is set, so a throw runs deinit, which frees the buffers and the stream.
        if isGzip {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            stream = s
            // windowBits 15 + 16: a gzip header and trailer; memLevel 8 and the default strategy, as gzip uses.
            let rc = mambakit_deflateInit2(s, Int32(options.compressionLevel), Z_DEFLATED, 15 + 16, 8,
                                           Z_DEFAULT_STRATEGY)
            guard rc == Z_OK else {
                s.deallocate()
                stream = nil
                throw .writeFailed(file: path, reason: "zlib deflateInit2 failed (\(rc))")
            }
        }
        output = try AtomicOutputFile(path: path)
    }

    deinit {
        abandon()
        pending.deallocate()
        compressed.deallocate()
    }

    /// Appends one record.
    public func write(_ record: FASTARecord) throws(FASTAError) {
        guard output != nil else { throw .writeFailed(file: path, reason: "the writer is finished or abandoned") }
        try validate(record)
        do {
            try append(UInt8(ascii: ">"))
            try append(contentsOf: Array(record.id.utf8))
            if !record.description.isEmpty {
                try append(UInt8(ascii: " "))
                try append(contentsOf: Array(record.description.utf8))
            }
            try append(UInt8(ascii: "\n"))
            try record.sequence.withUnsafeBufferPointer { bases throws(FASTAError) in
                let width = options.lineWidth == 0 ? max(bases.count, 1) : options.lineWidth
                var start = 0
                while start < bases.count {
                    let count = min(width, bases.count - start)
                    try append(UnsafeBufferPointer(rebasing: bases[start..<(start + count)]))
                    try append(UInt8(ascii: "\n"))
                    start += count
                }
            }
        } catch {
            abandon()
            throw error
        }
        recordsWritten += 1
    }

    /// Flushes, ends the gzip stream, and renames the temporary file to `path`. The writer cannot be used after.
    public func finish() throws(FASTAError) {
        guard let output else { throw .writeFailed(file: path, reason: "the writer is finished or abandoned") }
        do {
            try flush(finishing: true)
            try output.commit()
        } catch {
            abandon()
            throw error
        }
        releaseStream()
        self.output = nil
    }

    /// Removes the temporary file and leaves `path` as it was; the writer cannot be used after. Idempotent; also
    /// done when a writer is released without `finish()`.
    public func abandon() {
        output?.discard()
        output = nil
        releaseStream()
    }

    private func releaseStream() {
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
            self.stream = nil
        }
    }

    private func validate(_ record: FASTARecord) throws(FASTAError) {
        func reject(_ reason: String) -> FASTAError { .invalidRecord(file: path, id: record.id, reason: reason) }
        if record.id.isEmpty { throw reject("the id is empty") }
        if record.id.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw reject("the id contains whitespace or a control character (the header splits at the first blank)")
        }
        let description = record.description.utf8
        if description.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
            throw reject("the description contains a line break or control character")
        }
        if let first = description.first, let last = description.last,
           FASTAHeader.isSpace(first) || FASTAHeader.isSpace(last) {
            throw reject("the description starts or ends with whitespace, which reading would drop")
        }
        do {
            _ = try FASTAHeader.parseLabel(record.description)
        } catch {
            throw reject(error.reason)
        }
        let bad = NucleotideAlphabet.classTable.withUnsafeBufferPointer { table in
            record.sequence.firstIndex { table[Int($0)] != NucleotideAlphabet.ByteClass.residue.rawValue }
        }
        if let bad {
            throw reject("sequence byte \(bad) is \(describeByte(record.sequence[bad])), not a nucleotide code")
        }
    }

    private func append(_ byte: UInt8) throws(FASTAError) {
        if pendingCount == pending.count { try flush(finishing: false) }
        pending[pendingCount] = byte
        pendingCount += 1
    }

    private func append(contentsOf bytes: [UInt8]) throws(FASTAError) {
        try bytes.withUnsafeBufferPointer { b throws(FASTAError) in try append(b) }
    }

    private func append(_ bytes: UnsafeBufferPointer<UInt8>) throws(FASTAError) {
        var done = 0
        while done < bytes.count {
            if pendingCount == pending.count { try flush(finishing: false) }
            let n = min(bytes.count - done, pending.count - pendingCount)
            (pending.baseAddress! + pendingCount).update(from: bytes.baseAddress! + done, count: n)
            pendingCount += n
            done += n
        }
    }

    /// Writes (or compresses and writes) the pending text; with `finishing`, also ends the gzip stream.
    private func flush(finishing: Bool) throws(FASTAError) {
        guard let output else { return }
        guard let stream else {
            try output.write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(pending)[0..<pendingCount]))
            pendingCount = 0
            return
        }
        stream.pointee.next_in = pending.baseAddress!
        stream.pointee.avail_in = UInt32(pendingCount)
        let flushMode = finishing ? Z_FINISH : Z_NO_FLUSH
        while true {
            stream.pointee.next_out = compressed.baseAddress!
            stream.pointee.avail_out = UInt32(compressed.count)
            let rc = deflate(stream, flushMode)
            if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw .writeFailed(file: path, reason: "deflate: \(message)")
            }
            let produced = compressed.count - Int(stream.pointee.avail_out)
            if produced > 0 {
                try output.write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(compressed)[0..<produced]))
            }
            // Done when all input is taken and deflate left output space unused (nothing more is pending),
            // or, when finishing, when the trailer has been written.
            if finishing ? rc == Z_STREAM_END : (stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0) {
                break
            }
        }
        pendingCount = 0
    }
}
