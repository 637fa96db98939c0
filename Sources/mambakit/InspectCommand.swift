// `mambakit inspect FILE...`: what is in audio and FASTA files, read the way training reads them (streaming).
import ArgumentParser
import Foundation
import MambaKit

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe audio and FASTA files: format, sizes, statistics.",
        discussion: """
            Audio (any format libsndfile reads: WAV, FLAC, OGG, AIFF, ...): format, sample rate (Hz), channels, \
            frames, duration (s), peak and RMS (linear, full scale = 1.0, with dBFS).
            FASTA (plain, gzip, multi-member gzip or BGZF, detected from the bytes; '-' reads standard input): \
            records, bases, min/median/max length (bases), composition (A, C, G, T, N, other; case-insensitive), \
            label counts (from label=VALUE in the headers).
            Every file is streamed: memory does not grow with its size.
            Exit status: 0 when every file was read, 1 otherwise (one line per failing file on standard error).
            """)

    @Argument(help: "Audio or FASTA files ('-' for FASTA on standard input).")
    var files: [String]

    @Flag(help: "One JSON object per line per file, for scripts.")
    var json = false

    func run() throws {
        var failures = 0
        for path in files {
            do {
                let report = try FileReport.make(path: path)
                print(json ? report.jsonLine() : report.humanText())
            } catch {
                failures += 1
                printError("inspect: \(describe(error, path: path))")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// What `inspect` found in one file.
enum FileReport {
    case audio(path: String, info: AudioInfo, statistics: AudioStatistics)
    case fasta(path: String, format: FASTAInputFormat, summary: FASTASummary)

    /// Which reader a file is for, from its first bytes: gzip magic, '>' or ';' (after whitespace) mean FASTA, and so
    /// does text (no control bytes in the first 4 KiB: no audio format is plain text) and another compressor's magic
    /// (bzip2, xz, zstd, zip), so that the FASTA reader says what is wrong (sequence before the first header, FASTQ,
    /// an unsupported compression); anything else goes to libsndfile, which names the audio formats it knows.
    static func make(path: String) throws -> FileReport {
        let isFASTA = try path == "-" || looksLikeFASTA(path: path)
        if isFASTA {
            let reader = try FASTAReader(path: path)
            var summary = FASTASummary()
            while let record = try reader.next() { summary.add(record) }
            if let problem = summary.problems.first(where: { $0 == .noRecords }) {
                throw InspectError(path: path, message: problem.description)
            }
            return .fasta(path: path, format: reader.format, summary: summary)
        }
        let reader = try AudioFileReader(path: path)
        return .audio(path: path, info: reader.info, statistics: try reader.statistics())
    }

    static func looksLikeFASTA(path: String) throws -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InspectError(path: path, message: "no such file")
        }
        if isDirectory.boolValue {
            throw InspectError(path: path, message: "is a folder; expected an audio or FASTA file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InspectError(path: path, message: "cannot open for reading")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 4096)) ?? Data())
        if head.isEmpty { throw InspectError(path: path, message: "empty file (0 bytes)") }
        let compressorMagics: [[UInt8]] = [[0x1F, 0x8B], [0x42, 0x5A, 0x68], [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],
                                           [0x28, 0xB5, 0x2F, 0xFD], [0x50, 0x4B, 0x03, 0x04]]
        if compressorMagics.contains(where: { head.starts(with: $0) }) { return true }
        guard let first = head.first(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d) }) else {
            throw InspectError(path: path, message: "only whitespace: neither FASTA nor audio")
        }
        if first == UInt8(ascii: ">") || first == UInt8(ascii: ";") { return true }
        return !head.contains { NucleotideAlphabet.classify($0) == .binary }
    }

    func humanText() -> String {
        switch self {
        case .audio(let path, let info, let stats):
            let channels = info.channels == 1 ? "1 channel" : "\(info.channels) channels"
            return "\(path): audio, \(info.formatName), \(info.sampleRate) Hz, \(channels), \(info.frames) frames "
                + "(\(format(info.duration, digits: 3)) s), peak \(format(Double(stats.peak), digits: 4)) "
                + "(\(decibels(Double(stats.peak)))), RMS \(format(stats.rms, digits: 4)) (\(decibels(stats.rms)))"
        case .fasta(let path, let inputFormat, let summary):
            let c = summary.composition
            let total = max(c.total, 1)
            func share(_ name: String, _ count: Int) -> String {
                "\(name) \(format(100 * Double(count) / Double(total), digits: 1))%"
            }
            var text = "\(path): FASTA (\(inputFormat)), \(summary.records) records, \(summary.totalBases) bases, "
                + "length min \(summary.minLength ?? 0) / median \(format(summary.medianLength ?? 0, digits: 1)) / "
                + "max \(summary.maxLength ?? 0), "
                + [share("A", c.a), share("C", c.c), share("G", c.g), share("T", c.t), share("N", c.n),
                   share("other", c.other)].joined(separator: " ")
            if !summary.labelCounts.isEmpty {
                text += ", labels: " + summary.labelCounts.sorted { $0.key < $1.key }
                    .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            }
            for problem in summary.problems { text += "; note: \(problem)" }
            return text
        }
    }

    func jsonLine() -> String {
        var object: [String: Any]
        switch self {
        case .audio(let path, let info, let stats):
            object = [
                "path": path, "kind": "audio", "format": info.formatName, "sample_rate": info.sampleRate,
                "channels": info.channels, "frames": info.frames, "duration_seconds": info.duration,
                "peak": Double(stats.peak), "rms": stats.rms,
            ]
        case .fasta(let path, _, let summary):
            let c = summary.composition
            object = [
                "path": path, "kind": "fasta", "records": summary.records, "bases": summary.totalBases,
                "min_length": summary.minLength ?? 0, "median_length": summary.medianLength ?? 0,
                "max_length": summary.maxLength ?? 0,
                "composition": ["A": c.a, "C": c.c, "G": c.g, "T": c.t, "N": c.n, "other": c.other],
                "labels": summary.labelCounts,
            ]
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

struct InspectError: Error, CustomStringConvertible {
    let path: String
    let message: String
    var description: String { "\(path): \(message)" }
}

private func format(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }

private func decibels(_ linear: Double) -> String {
    linear > 0 ? String(format: "%.1f dBFS", 20 * log10(linear)) : "-inf dBFS"
}
