// Helpers for the genomics tests: temporary files, gzip members built two independent ways (zlib's deflate, and
// by hand with stored blocks and a CRC-32 computed here), and a plain reference FASTA parser.
import CZlib
import Foundation
import MambaGenomics
import _MambaTestSupport

/// A temporary folder for one test, removed when the value is released.
final class Scratch {
    let url: URL
    init() throws { url = try makeTemporaryDirectory("mambakit-genomics") }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// The names in the folder (to check that no temporary file is left behind).
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }
}

/// One gzip member of `bytes`, compressed by zlib's deflate.
func gzipMember(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
    var stream = z_stream()
    precondition(mambakit_deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK)
    defer { deflateEnd(&stream) }
    var input = bytes
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { inp in
        output.withUnsafeMutableBufferPointer { out in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            stream.next_out = out.baseAddress
            stream.avail_out = UInt32(out.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return out.count - Int(stream.avail_out)
        }
    }
    return Array(output[0..<produced])
}

/// CRC-32 (IEEE 802.3, reflected, as gzip's trailer uses), bit by bit: the plain definition.
func crc32Reference(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

func littleEndian16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func littleEndian32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

/// A gzip member built by hand (RFC 1952 + RFC 1951 stored blocks), without zlib. With `bgzf`, the header carries
/// the BGZF extra field (SI1 'B', SI2 'C', SLEN 2, BSIZE = member size - 1), as the SAM/BAM specification §4.1 says.
func storedGzipMember(_ payload: [UInt8], bgzf: Bool) -> [UInt8] {
    var body: [UInt8] = []
    var start = 0
    repeat {
        let count = min(65_535, payload.count - start)
        let last = start + count == payload.count
        body.append(last ? 0x01 : 0x00)
        body += littleEndian16(count) + littleEndian16(~count & 0xFFFF)
        body += payload[start..<(start + count)]
        start += count
    } while start < payload.count
    let trailer = littleEndian32(crc32Reference(payload)) + littleEndian32(UInt32(truncatingIfNeeded: payload.count))
    var header: [UInt8] = [0x1F, 0x8B, 0x08, bgzf ? 0x04 : 0x00, 0, 0, 0, 0, 0x00, 0xFF]
    if bgzf {
        let total = header.count + 2 + 6 + body.count + trailer.count
        header += littleEndian16(6) + [0x42, 0x43] + littleEndian16(2) + littleEndian16(total - 1)
    }
    return header + body + trailer
}

/// A BGZF file of `payload`: blocks of at most `blockSize` bytes, then the empty end-of-file block.
func bgzfFile(_ payload: [UInt8], blockSize: Int = 60_000) -> [UInt8] {
    var file: [UInt8] = []
    var start = 0
    while start < payload.count {
        let end = min(start + blockSize, payload.count)
        file += storedGzipMember(Array(payload[start..<end]), bgzf: true)
        start = end
    }
    return file + storedGzipMember([], bgzf: true)
}

/// A FASTA record as the reference parser sees it.
struct ReferenceRecord: Equatable {
    var id: String
    var description: String
    var sequence: [UInt8]
    var headerLine: Int
}

extension ReferenceRecord {
    init(_ r: FASTARecord) { self.init(id: r.id, description: r.description, sequence: r.sequence, headerLine: r.headerLine) }
}

/// The plain reference parser for well-formed FASTA text: split into lines, one line at a time, with Strings.
/// It has none of the reader's block handling, so the two are compared on the same inputs.
func referenceParse(_ bytes: [UInt8]) -> [ReferenceRecord] {
    let blanks: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0B, 0x0C]
    var records: [ReferenceRecord] = []
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    for (k, line) in lines.enumerated() {
        if line.first == UInt8(ascii: ">") {
            var text = Array(line.dropFirst())
            while let last = text.last, blanks.contains(last) { text.removeLast() }
            let idEnd = text.firstIndex(where: { blanks.contains($0) }) ?? text.count
            let rest = text[idEnd...].drop(while: { blanks.contains($0) })
            records.append(ReferenceRecord(id: String(decoding: text[..<idEnd], as: UTF8.self),
                                           description: String(decoding: rest, as: UTF8.self),
                                           sequence: [], headerLine: k + 1))
        } else if line.first == UInt8(ascii: ";") {
            continue
        } else {
            let residues = line.filter { !blanks.contains($0) }
            if !residues.isEmpty { records[records.count - 1].sequence += residues }
        }
    }
    return records
}

/// A seeded generator (SplitMix64), so random inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random well-formed but untidy FASTA text: wrapped at random widths, LF or CRLF, blank and comment lines,
/// trailing blanks, lower case and IUPAC codes, empty sequences, maybe no final newline.
func untidyFASTA(records: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    let alphabet = Array("ACGTACGTACGTacgtnNRYSWKMBDHVU-".utf8)
    var out: [UInt8] = []
    func newline() { out += Bool.random(using: &rng) ? [0x0D, 0x0A] : [0x0A] }
    if Bool.random(using: &rng) { out += Array(";old-style comment".utf8); newline() }
    for r in 0..<records {
        if Int.random(in: 0..<4, using: &rng) == 0 { newline() }
        out += Array(">seq\(r)".utf8)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: break
        case 1: out += Array(" some description label=class\(r % 3)".utf8)
        case 2: out += Array("\tdesc with\ttabs  ".utf8)
        default: out += Array(" x=1 y=2".utf8)
        }
        newline()
        let length = Int.random(in: 0..<3, using: &rng) == 0 ? 0 : Int.random(in: 1...5_000, using: &rng)
        let width = [1, 7, 60, 61, 80, 5_000].randomElement(using: &rng)!
        var written = 0
        while written < length {
            let n = min(width, length - written)
            for _ in 0..<n { out.append(alphabet.randomElement(using: &rng)!) }
            if Int.random(in: 0..<10, using: &rng) == 0 { out += [0x20, 0x09] }
            if Int.random(in: 0..<20, using: &rng) == 0 { newline(); out += Array(";comment".utf8) }
            newline()
            written += n
        }
    }
    if Bool.random(using: &rng), out.last == 0x0A { out.removeLast() }
    return out
}
