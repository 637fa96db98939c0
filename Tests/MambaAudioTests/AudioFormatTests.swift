// Every format the reader must open, written by libsndfile inside the test: header fields and decoded samples.
import CSndFile
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport

/// Writes one second of `testSignal` in `format` into `folder`; returns the path and the samples written.
func makeFormatFile(_ format: FormatCase, seconds: Double = 1, in folder: URL) throws -> (path: String, samples: [Float]) {
    let frames = Int(Double(format.sampleRate) * seconds)
    let samples = testSignal(frames: frames, channels: format.channels, sampleRate: format.sampleRate)
    let path = folder.appendingPathComponent("signal.\(format.fileExtension)").path
    try writeWithLibsndfile(samples, channels: format.channels, sampleRate: format.sampleRate,
                            format: format.sndfileFormat, to: path)
    return (path, samples)
}

@Suite("Formats")
struct AudioFormatTests {
    @Test("header and samples", arguments: FormatCase.all)
    func headerAndSamples(_ format: FormatCase) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (path, written) = try makeFormatFile(format, in: folder)

        let reader = try AudioFileReader(path: path)
        #expect(reader.info.path == path)
        #expect(reader.info.formatName == format.formatName)
        #expect(reader.info.sampleRate == format.sampleRate)
        #expect(reader.info.channels == format.channels)
        #expect(reader.info.frames == written.count / format.channels)
        #expect(abs(reader.info.duration - 1.0) < 1e-9)

        let audio = try reader.read()
        #expect(audio.channels == format.channels)
        #expect(audio.sampleRate == format.sampleRate)
        #expect(audio.frames == reader.info.frames)
        try #require(audio.samples.count == written.count)
        if let allowed = format.lossyRelativeError {
            let error = relativeError(audio.samples, reference: written)
            #expect(error < allowed, "relative error \(error)")
            #expect(error > 0, "a lossy codec that returns the input unchanged is not being decoded")
        } else {
            let worst = maxAbsoluteDifference(audio.samples, written)
            #expect(worst <= Double(format.tolerance), "largest difference \(worst)")
        }
    }

    @Test("in-memory bytes read like the file", arguments: FormatCase.all.filter {
        ["WAV PCM 24-bit", "FLAC PCM 16-bit", "OGG Vorbis", "AIFF PCM 16-bit", "WAV float 32-bit"].contains($0.formatName)
    })
    func inMemoryMatchesFile(_ format: FormatCase) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (path, _) = try makeFormatFile(format, in: folder)
        let fromFile = try AudioFileReader(path: path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let fromMemory = try AudioFileReader(bytes: bytes, name: "clip")

        #expect(fromMemory.info.path == "clip")
        #expect(fromMemory.info.formatName == fromFile.info.formatName)
        #expect(fromMemory.info.frames == fromFile.info.frames)
        #expect(try fromMemory.read() == fromFile.read())
        // Seeking through the virtual I/O callbacks: a range in the middle, then one at the start again.
        let middle = 1000..<3000
        #expect(try fromMemory.read(frames: middle) == fromFile.read(frames: middle))
        #expect(try fromMemory.read(frames: 0..<10) == fromFile.read(frames: 0..<10))
    }

    @Test("format names for codes libsndfile knows")
    func formatNamesOfInfo() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.wav").path
        try writeWithLibsndfile([0, 0.5], channels: 2, sampleRate: 44100,
                                format: SF_FORMAT_WAV | SF_FORMAT_PCM_24, to: path)
        let info = try AudioFileReader(path: path).info
        #expect(info.description == "\(path): WAV PCM 24-bit, 44100 Hz, 2 channels, 1 frames (0.0 s)")
    }
}

/// `soxi`, where SoX is installed.
let soxiPath: String? = ["/usr/bin/soxi", "/usr/local/bin/soxi", "/opt/homebrew/bin/soxi"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite("soxi cross-check")
struct SoxiCrossCheckTests {
    @Test("info agrees with soxi", .enabled(if: soxiPath != nil, "soxi (SoX) is not installed"))
    func infoAgreesWithSoxi() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let format = try #require(FormatCase.all.first { $0.formatName == "WAV PCM 24-bit" })
        let (path, _) = try makeFormatFile(format, seconds: 1.5, in: folder)
        let info = try AudioFileReader(path: path).info

        let soxi = Process()
        soxi.executableURL = URL(fileURLWithPath: try #require(soxiPath))
        soxi.arguments = [path]
        let pipe = Pipe()
        soxi.standardOutput = pipe
        try soxi.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        soxi.waitUntilExit()
        try #require(soxi.terminationStatus == 0, "soxi failed: \(output)")

        // soxi prints "Field : value" lines, e.g. "Duration : 00:00:01.50 = 66150 samples ~ 112.5 CDDA sectors".
        var fields: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 {
                fields[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        #expect(fields["Channels"] == "\(info.channels)")
        #expect(fields["Sample Rate"] == "\(info.sampleRate)")
        #expect(fields["Precision"] == "24-bit")
        #expect(fields["Sample Encoding"] == "24-bit Signed Integer PCM")
        let duration = try #require(fields["Duration"])
        #expect(duration.contains("= \(info.frames) samples"), "soxi: \(duration)")
    }
}
