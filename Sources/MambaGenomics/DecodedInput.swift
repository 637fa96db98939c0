// The bytes of an input file as text: read in large blocks from a path (or standard input for "-"), and inflated
// with zlib when the first two bytes are the gzip magic 1f 8b. Gzip files may hold several members back to back
// (`cat a.gz b.gz`, and BGZF, which is a series of gzip members of at most 64 KiB each with a "BC" extra field):
// after each member's end the next member is decoded while input remains (RFC 1952 §2.2).
//
// Memory: one raw block and zlib's 32 KiB window, whatever the size of the file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// How an input file is stored, detected from its first bytes (never from its name).
public enum FASTAInputFormat: String, Sendable, CustomStringConvertible {
    /// Uncompressed text.
    case plain
    /// gzip (RFC 1952), one member or several concatenated.
    case gzip
    /// BGZF (blocked gzip, as written by `bgzip`): gzip members whose header carries a "BC" extra field.
    case bgzf

    /// The format's name as written in messages: `plain`, `gzip`, `bgzf`.
    public var description: String { rawValue }
}

/// Reads a file's decoded bytes into caller-provided buffers. Not thread-safe; one reader owns it.
final class DecodedInput {
    let path: String
    private(set) var format: FASTAInputFormat = .plain

    private let fd: Int32
    private let ownsDescriptor: Bool
    /// Raw (as stored) bytes: `raw[rawStart..<rawEnd]` are read but not yet consumed.
    private let raw: UnsafeMutableBufferPointer<UInt8>
    private var rawStart = 0
    private var rawEnd = 0
    private var endOfFile = false
    /// Bytes read from the file so far.
    private var fileOffset = 0
    /// The zlib stream for gzip input, at a fixed address (zlib keeps a pointer back to it).
    private var stream: UnsafeMutablePointer<z_stream>?
    private var memberEnded = false
    private var released = false

    /// Opens `path` ("-" is standard input) and reads its first block to detect the format.
    init(path: String, blockSize: Int) throws(FASTAError) {
        self.path = path
        if path == "-" {
            fd = STDIN_FILENO
            ownsDescriptor = false
        } else {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            if opened < 0 {
                let code = errno
                if code == ENOENT { throw .fileNotFound(file: path) }
                throw .unreadable(file: path, reason: String(cString: strerror(code)))
            }
            fd = opened
            ownsDescriptor = true
        }
        raw = .allocate(capacity: max(blockSize, 4096))
        do {
            try fillRaw(minimum: 6)
            try detectFormat()
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    /// Frees the zlib state, the buffer and the descriptor. Idempotent.
    private func release() {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
            self.stream = nil
        }
        if !released {
            if ownsDescriptor { _ = close(fd) }
            raw.deallocate()
            released = true
        }
    }

    /// The byte offset in the file as stored of the next unconsumed byte.
    private var consumedOffset: Int {
        let pending = stream.map { Int($0.pointee.avail_in) } ?? (rawEnd - rawStart)
        return fileOffset - pending
    }

    /// Reads more raw bytes after `raw[rawStart..<rawEnd]` (moved to the front) until at least `minimum` are
    /// pending or the file ends.
    private func fillRaw(minimum: Int) throws(FASTAError) {
        let pending = rawEnd - rawStart
        if rawStart > 0 && pending > 0 {
            memmove(raw.baseAddress!, raw.baseAddress! + rawStart, pending)
        }
        rawStart = 0
        rawEnd = pending
        while !endOfFile && rawEnd < raw.count && rawEnd < minimum {
            let n = read(fd, raw.baseAddress! + rawEnd, raw.count - rawEnd)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { endOfFile = true } else { rawEnd += n; fileOffset += n }
        }
    }

    private func detectFormat() throws(FASTAError) {
        let b = UnsafeBufferPointer(rebasing: raw[rawStart..<rawEnd])
        func starts(with magic: [UInt8]) -> Bool { b.count >= magic.count && zip(b, magic).allSatisfy { $0 == $1 } }
        if starts(with: [0x1F, 0x8B]) {
            // RFC 1952: FLG bit 2 (FEXTRA) then XLEN at 10-11 and the first subfield id at 12-13; BGZF's is "BC".
            let isBGZF = b.count >= 14 && b[3] & 0x04 != 0 && b[12] == 0x42 && b[13] == 0x43
            format = isBGZF ? .bgzf : .gzip
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            // windowBits 15 + 16: gzip wrapper only, so a zlib- or raw-deflate stream is rejected, not guessed.
            let rc = mambakit_inflateInit2(s, 15 + 16)
            guard rc == Z_OK else {
                s.deallocate()
                throw .unreadable(file: path, reason: "zlib inflateInit2 failed (\(rc))")
            }
            s.pointee.next_in = raw.baseAddress! + rawStart
            s.pointee.avail_in = UInt32(rawEnd - rawStart)
            stream = s
        } else if starts(with: [0x42, 0x5A, 0x68]) {
            throw .unsupportedCompression(file: path, format: "bzip2")
        } else if starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) {
            throw .unsupportedCompression(file: path, format: "xz")
        } else if starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            throw .unsupportedCompression(file: path, format: "zstd")
        } else if starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            throw .unsupportedCompression(file: path, format: "zip")
        }
    }

    /// Fills `buffer` with the next decoded bytes; returns how many (0 only at the end of the input). For gzip the
    /// buffer is filled completely unless the input ends.
    func nextBytes(into buffer: UnsafeMutableBufferPointer<UInt8>) throws(FASTAError) -> Int {
        if released || buffer.isEmpty { return 0 }
        if let stream { return try inflateMembers(stream, into: buffer) }
        // Plain text: hand out what the format probe read, then read straight into the caller's buffer.
        if rawStart < rawEnd {
            let n = min(buffer.count, rawEnd - rawStart)
            buffer.baseAddress!.update(from: raw.baseAddress! + rawStart, count: n)
            rawStart += n
            return n
        }
        while !endOfFile {
            let n = read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { endOfFile = true } else { fileOffset += n; return n }
        }
        return 0
    }

    private func inflateMembers(_ s: UnsafeMutablePointer<z_stream>, into buffer: UnsafeMutableBufferPointer<UInt8>)
        throws(FASTAError) -> Int
    {
        s.pointee.next_out = buffer.baseAddress!
        s.pointee.avail_out = UInt32(buffer.count)
        while s.pointee.avail_out > 0 {
            if memberEnded {
                // Another member follows only if input remains; it must start with the magic again.
                syncRaw(s)
                if rawEnd - rawStart < 2 { try fillRaw(minimum: 2); resumeRaw(s) }
                if rawStart == rawEnd { break }
                if rawEnd - rawStart < 2 || raw[rawStart] != 0x1F || raw[rawStart + 1] != 0x8B {
                    throw .trailingData(file: path, byteOffset: consumedOffset)
                }
                inflateReset(s)
                memberEnded = false
            }
            if s.pointee.avail_in == 0 && !endOfFile {
                rawStart = rawEnd
                try fillRaw(minimum: 1)
                resumeRaw(s)
            }
            let rc = CZlib.inflate(s, Z_NO_FLUSH)
            switch rc {
            case Z_OK:
                continue
            case Z_STREAM_END:
                memberEnded = true
            case Z_BUF_ERROR:
                // No progress with output space left: zlib needs input, and there is none.
                if endOfFile && s.pointee.avail_in == 0 {
                    throw .truncatedGzip(file: path, byteOffset: fileOffset)
                }
            case Z_MEM_ERROR:
                throw .unreadable(file: path, reason: "zlib ran out of memory")
            default:
                // Z_DATA_ERROR (corrupt block, "incorrect data check" = CRC, "incorrect length check" = ISIZE),
                // Z_NEED_DICT and Z_STREAM_ERROR: the compressed data cannot be decoded.
                let message = s.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw .corruptGzip(file: path, byteOffset: consumedOffset, reason: message)
            }
        }
        return buffer.count - Int(s.pointee.avail_out)
    }

    /// Records how far zlib has consumed the raw buffer.
    private func syncRaw(_ s: UnsafeMutablePointer<z_stream>) {
        rawStart = rawEnd - Int(s.pointee.avail_in)
    }

    /// Points zlib at the pending raw bytes.
    private func resumeRaw(_ s: UnsafeMutablePointer<z_stream>) {
        s.pointee.next_in = raw.baseAddress! + rawStart
        s.pointee.avail_in = UInt32(rawEnd - rawStart)
    }
}
