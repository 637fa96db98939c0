// FASTA.gz read throughput against `zcat FILE > /dev/null` on the same file in the same run, and the reader's peak
// resident memory (measured by `/usr/bin/time -v` on this executable in `--read-once` mode).
//
//   swift run -c release fasta-throughput [FILE.fa.gz] [--repetitions N] [--bases N] [--level L] [--keep]
//
// Without FILE, a gzipped FASTA of random-ish sequence (records of 50 kb to 5 Mb: random ACGT, soft-masked
// lower-case runs, N runs, and copies of earlier stretches, so deflate finds matches as in real genomes) is written
// to a temporary folder by FASTAWriter, 330 million bases by default (about 100 MB compressed). It is compressed at
// level 1 unless --level says otherwise: deflate at level 6 runs at a few MB/s on 2-bit-entropy sequence, and the
// level barely changes how fast the stream inflates.
// Reported: medians over the repetitions (zcat and the reader alternate, so drift hits both), and the ratio
// zcat time / reader time (above 1: the reader is faster than zcat).
import Foundation
import MambaKit

struct Arguments {
    var file: String?
    var repetitions = 5
    var bases = 330_000_000
    var level = 1
    var keep = false
    var readOnce = false

    init(_ args: [String]) throws {
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchmarkError("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--repetitions": repetitions = Int(try value()) ?? 0
            case "--bases": bases = Int(try value()) ?? 0
            case "--level": level = Int(try value()) ?? 0
            case "--keep": keep = true
            case "--read-once": readOnce = true
            case "-h", "--help":
                print("usage: fasta-throughput [FILE.fa.gz] [--repetitions N (5)] [--bases N (330000000)] [--level 1-9 (1)] [--keep]")
                exit(0)
            default:
                if args[i].hasPrefix("--") || file != nil { throw BenchmarkError("unknown argument \(args[i])") }
                file = args[i]
            }
            i += 1
        }
        guard repetitions > 0, bases > 0 else { throw BenchmarkError("--repetitions and --bases must be positive") }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// SplitMix64: fast, seeded, good enough for test sequence.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func generate(path: String, bases: Int, level: Int) throws {
    var rng = SplitMix64(state: 2024)
    let acgt = Array("ACGT".utf8)
    let writer = try FASTAWriter(path: path, options: .init(lineWidth: 60, compressionLevel: level))
    var written = 0
    var index = 0
    while written < bases {
        let length = min(Int.random(in: 50_000...5_000_000, using: &rng), bases - written)
        var sequence = [UInt8]()
        sequence.reserveCapacity(length)
        while sequence.count < length {
            let run = min(Int.random(in: 200...20_000, using: &rng), length - sequence.count)
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<2:
                sequence += repeatElement(UInt8(ascii: "N"), count: run)
            case 2..<12 where sequence.count > run:
                // A copy of an earlier stretch, lightly mutated.
                let from = Int.random(in: 0..<(sequence.count - run), using: &rng)
                for k in 0..<run {
                    sequence.append(rng.next() % 50 == 0 ? acgt[Int(rng.next() & 3)] : sequence[from + k])
                }
            default:
                let lower: UInt8 = Int.random(in: 0..<10, using: &rng) == 0 ? 0x20 : 0
                var k = 0
                while k < run {
                    var bits = rng.next()
                    for _ in 0..<min(32, run - k) {
                        sequence.append(acgt[Int(bits & 3)] | lower)
                        bits >>= 2
                    }
                    k += 32
                }
            }
        }
        try writer.write(FASTARecord(id: "chr\(index)", description: "synthetic length=\(length)", sequence: sequence))
        written += length
        index += 1
    }
    try writer.finish()
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    try measure(body).wall
}

/// CPU seconds (user + system) used so far by this process, or by its finished children.
func cpuSeconds(children: Bool) -> Double {
    var usage = rusage()
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// Wall-clock and CPU seconds of `body`; the CPU time is the children's when `children` (for zcat).
/// On a machine shared with other work the CPU time is the steadier of the two.
func measure(children: Bool = false, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let cpuStart = cpuSeconds(children: children)
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (wall, cpuSeconds(children: children) - cpuStart)
}

func runZcat(_ path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "zcat \"$0\" > /dev/null", path]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchmarkError("zcat failed with \(process.terminationStatus)") }
}

/// Reads every record; returns (records, bases, decoded bytes are not known to the reader: bases stand in).
func readAll(_ path: String, summary: Bool) throws -> (records: Int, bases: Int) {
    let reader = try FASTAReader(path: path)
    var records = 0
    var bases = 0
    var s = FASTASummary()
    while let record = try reader.next() {
        records += 1
        bases += record.sequence.count
        if summary { s.add(record) }
    }
    if summary && s.totalBases != bases { throw BenchmarkError("summary disagrees") }
    return (records, bases)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func peakRSS(of path: String) throws -> Int? {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { return nil }
    let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    process.arguments = ["-v", me, "--read-once", path]
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchmarkError("--read-once failed:\n\(text)") }
    for line in text.split(separator: "\n") where line.contains("Maximum resident set size") {
        return line.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
    return nil
}

func main() throws {
    let args = try Arguments(Array(CommandLine.arguments.dropFirst()))
    if args.readOnce {
        guard let file = args.file else { throw BenchmarkError("--read-once needs a FILE") }
        let (records, bases) = try readAll(file, summary: false)
        print("\(records) records, \(bases) bases")
        return
    }
    var folder: URL?
    let path: String
    if let file = args.file {
        path = file
    } else {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fasta-throughput-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        folder = dir
        path = dir.appendingPathComponent("synthetic.fa.gz").path
        print("generating \(args.bases) bases into \(path) ...")
        let t = try seconds { try generate(path: path, bases: args.bases, level: args.level) }
        print(String(format: "  generated in %.1f s", t))
    }
    defer {
        if let folder, !args.keep { try? FileManager.default.removeItem(at: folder) }
    }
    let compressed = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    print(String(format: "file: %@ (%.1f MB compressed)", path, Double(compressed) / 1e6))

    var zcat: [(wall: Double, cpu: Double)] = [], reader: [(wall: Double, cpu: Double)] = []
    var withSummary: [(wall: Double, cpu: Double)] = []
    var counts = (records: 0, bases: 0)
    // One untimed pass of each so the page cache holds the file for both.
    try runZcat(path)
    counts = try readAll(path, summary: false)
    for _ in 0..<args.repetitions {
        zcat.append(try measure(children: true) { try runZcat(path) })
        reader.append(try measure { counts = try readAll(path, summary: false) })
        withSummary.append(try measure { _ = try readAll(path, summary: true) })
    }
    let zw = median(zcat.map(\.wall)), zc = median(zcat.map(\.cpu))
    let rw = median(reader.map(\.wall)), rc = median(reader.map(\.cpu))
    let sw = median(withSummary.map(\.wall)), sc = median(withSummary.map(\.cpu))
    print("\(counts.records) records, \(counts.bases) bases; medians of \(args.repetitions) repetitions:")
    print("                               wall s    CPU s")
    print(String(format: "  zcat FILE > /dev/null       %7.3f  %7.3f", zw, zc))
    print(String(format: "  FASTAReader                 %7.3f  %7.3f   (%.0f Mbases/s wall)", rw, rc,
                 Double(counts.bases) / rw / 1e6))
    print(String(format: "  FASTAReader + FASTASummary  %7.3f  %7.3f", sw, sc))
    print(String(format: "ratio zcat / FASTAReader: wall %.2f, CPU %.2f (>= 1: the reader is at least as fast)",
                 zw / rw, zc / rc))
    if let kb = try peakRSS(of: path) {
        print(String(format: "peak RSS of reading the file once (/usr/bin/time -v): %.1f MB", Double(kb) / 1024))
    } else {
        print("peak RSS: /usr/bin/time not found")
    }
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("fasta-throughput: \(error)\n".utf8))
    exit(1)
}
