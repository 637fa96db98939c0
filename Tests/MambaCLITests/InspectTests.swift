// `mambakit inspect` end to end: figures for audio and FASTA files made here, and clean failures on bad input.
import Foundation
import MambaKit
import Testing
import _MambaTestSupport

@Suite struct InspectTests {
    @Test func audioFiguresMatchTheSamplesWritten() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // 0.25 s of a 440 Hz sine at amplitude 0.5 in the left channel, silence in the right, at 44.1 kHz.
        let rate = 44_100, frames = rate / 4
        var samples = [Float](repeating: 0, count: frames * 2)
        for i in 0..<frames { samples[2 * i] = 0.5 * Float(sin(2 * Double.pi * 440 * Double(i) / Double(rate))) }
        let path = folder.appendingPathComponent("stereo.wav").path
        try AudioFileWriter.write(try AudioBuffer(samples: samples, channels: 2, sampleRate: rate), to: path,
                                  format: .float32)

        let run = try runTool(["inspect", "--json", path])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try jsonLines(run.stdout).first)
        #expect(object["kind"] as? String == "audio")
        #expect(object["path"] as? String == path)
        #expect(object["sample_rate"] as? Int == rate)
        #expect(object["channels"] as? Int == 2)
        #expect(object["frames"] as? Int == frames)
        #expect(abs((object["duration_seconds"] as? Double ?? 0) - 0.25) < 1e-9)
        #expect(abs((object["peak"] as? Double ?? 0) - 0.5) < 1e-3)
        // RMS over both channels: sqrt(0.5^2 / 2 / 2) = 0.25.
        #expect(abs((object["rms"] as? Double ?? 0) - 0.25) < 1e-3)
        #expect((object["format"] as? String ?? "").contains("WAV"))
    }

    @Test func fastaFiguresFromAMultiMemberGzip() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = folder.appendingPathComponent("a.fa.gz").path
        let second = folder.appendingPathComponent("b.fa.gz").path
        let writerA = try FASTAWriter(path: first)
        try writerA.write(FASTARecord(id: "r1", description: "label=x", sequence: Array("ACGTN".utf8)))
        try writerA.write(FASTARecord(id: "r2", description: "label=y", sequence: Array("acgtacgtRY".utf8)))
        try writerA.finish()
        let writerB = try FASTAWriter(path: second)
        try writerB.write(FASTARecord(id: "r3", description: "label=x", sequence: Array("GGGCCCAAATTT".utf8)))
        try writerB.finish()
        // `cat a.gz b.gz`: one file of two gzip members.
        let joined = folder.appendingPathComponent("joined.fa.gz")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        bytes.append(try Data(contentsOf: URL(fileURLWithPath: second)))
        try bytes.write(to: joined)

        let run = try runTool(["inspect", "--json", joined.path])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try jsonLines(run.stdout).first)
        #expect(object["kind"] as? String == "fasta")
        #expect(object["records"] as? Int == 3)
        #expect(object["bases"] as? Int == 27)
        #expect(object["min_length"] as? Int == 5)
        #expect(object["median_length"] as? Double == 10)
        #expect(object["max_length"] as? Int == 12)
        let composition = try #require(object["composition"] as? [String: Int])
        #expect(composition == ["A": 6, "C": 6, "G": 6, "T": 6, "N": 1, "other": 2])
        #expect(object["labels"] as? [String: Int] == ["x": 2, "y": 1])
    }

    @Test func badFilesFailWithOneLineEachAndStatusOne() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.fa")
        try Data().write(to: empty)
        let text = folder.appendingPathComponent("notes.wav")
        try Data("these are notes, not audio\n".utf8).write(to: text)
        let good = folder.appendingPathComponent("good.fa.gz").path
        let writer = try FASTAWriter(path: good)
        for i in 0..<200 {
            try writer.write(FASTARecord(id: "r\(i)", sequence: Array(repeating: UInt8(ascii: "A"), count: 300)))
        }
        try writer.finish()
        let whole = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = folder.appendingPathComponent("truncated.fa.gz")
        try whole.prefix(whole.count / 2).write(to: truncated)
        let missing = folder.appendingPathComponent("missing.fa").path

        let run = try runTool(["inspect", empty.path, text.path, truncated.path, missing, good])
        #expect(run.status == 1)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 4, "\(run.stderr)")
        for path in [empty.path, text.path, truncated.path, missing] {
            #expect(lines.contains { $0.contains(path) }, "no line names \(path): \(run.stderr)")
        }
        #expect(lines.contains { $0.contains(truncated.path) && $0.contains("trunc") })
        // The good file is still reported.
        #expect(run.stdout.contains(good) && run.stdout.contains("200 records"))
    }

    @Test func readsFASTAFromStandardInput() throws {
        let run = try runTool(["inspect", "--json", "-"], stdin: Data(">a label=1\nACGT\n>b label=2\nAC\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try jsonLines(run.stdout).first)
        #expect(object["records"] as? Int == 2)
        #expect(object["bases"] as? Int == 6)
    }
}
