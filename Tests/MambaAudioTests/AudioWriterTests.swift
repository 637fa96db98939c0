// Writer round trips (PCM16 and Float32), clipping, and the all-or-nothing file replacement.
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport

/// The names in `folder`, hidden temporary files included.
func contents(of folder: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
}

/// The RIFF header fields that decide compatibility: "RIFF"/"WAVE" magic and the fmt chunk's format tag
/// (1 = integer PCM, 3 = IEEE float; 0xFFFE would be WAVE_FORMAT_EXTENSIBLE, which some tools reject).
func riffFormatTag(of path: String) throws -> (magic: String, tag: UInt16, bitsPerSample: UInt16) {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)).prefix(36))
    let magic = String(decoding: bytes[0..<4] + bytes[8..<16], as: UTF8.self)
    return (magic, UInt16(bytes[20]) | UInt16(bytes[21]) << 8, UInt16(bytes[34]) | UInt16(bytes[35]) << 8)
}

@Suite("Writer")
struct AudioWriterTests {
    @Test("PCM16 round trip: values within half a step, rate and channels kept",
          arguments: [(8000, 1), (44100, 2), (11025, 6), (192_000, 1), (7, 3)])
    func pcm16RoundTrip(sampleRate: Int, channels: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.wav").path
        let samples = testSignal(frames: 3001, channels: channels, sampleRate: max(sampleRate, 8000))
        let buffer = try AudioBuffer(samples: samples, channels: channels, sampleRate: sampleRate)
        try AudioFileWriter.write(buffer, to: path, format: .pcm16)

        let reader = try AudioFileReader(path: path)
        #expect(reader.info.formatName == "WAV PCM 16-bit")
        #expect(reader.info.sampleRate == sampleRate)
        #expect(reader.info.channels == channels)
        #expect(reader.info.frames == 3001)
        let back = try reader.read()
        // Stored as x * 32768 rounded to nearest and read as k / 32768: at most half a step away.
        #expect(maxAbsoluteDifference(back.samples, samples) <= 0.5 / 32768)
        // And exactly the quantised values.
        let quantised = samples.map { ($0 * 32768).rounded(.toNearestOrEven) / 32768 }
        #expect(back.samples == quantised)
        #expect(try contents(of: folder) == ["out.wav"], "no temporary file left")
        let header = try riffFormatTag(of: path)
        #expect(header.magic == "RIFFWAVEfmt ")
        #expect(header.tag == 1 && header.bitsPerSample == 16)
    }

    @Test("Float32 round trip is exact, values beyond ±1 included", arguments: [(16000, 1), (48000, 2), (22050, 8)])
    func float32RoundTrip(sampleRate: Int, channels: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.wav").path
        var samples = testSignal(frames: 2500, channels: channels, sampleRate: sampleRate)
        samples[0] = 1.5
        samples[samples.count - 1] = -3.25
        samples[7] = .leastNonzeroMagnitude
        try AudioFileWriter.write(try AudioBuffer(samples: samples, channels: channels, sampleRate: sampleRate),
                                  to: path, format: .float32)
        let reader = try AudioFileReader(path: path)
        #expect(reader.info.formatName == "WAV float 32-bit")
        #expect(reader.info.sampleRate == sampleRate)
        #expect(reader.info.channels == channels)
        let back = try reader.read()
        #expect(back.samples == samples)
        #expect(back.channels == channels)
        #expect(back.sampleRate == sampleRate)
        let header = try riffFormatTag(of: path)
        #expect(header.magic == "RIFFWAVEfmt ")
        #expect(header.tag == 3 && header.bitsPerSample == 32)
    }

    @Test("PCM16 clips to full scale instead of wrapping around")
    func pcm16Clips() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("loud.wav").path
        // Beyond full scale, exactly full scale, -0.9 (which libsndfile's own clipping conversion would floor to
        // -29492), and ties, which round to the even step: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2.
        let samples: [Float] = [1.5, -2, 1, -1, 0.5, 1e9, -1e9, 0.5 / 32768, -0.9, 1.5 / 32768, -2.5 / 32768]
        try AudioFileWriter.write(try AudioBuffer(samples: samples, channels: 1, sampleRate: 8000), to: path,
                                  format: .pcm16)
        let back = try AudioFileReader(path: path).read().samples
        let top: Float = 32767 / 32768
        let expected: [Float] = [top, -1, top, -1, 0.5, top, -1, 0, -29491 / 32768, 2 / 32768, -2 / 32768]
        #expect(back == expected)
    }

    @Test("streamed writes equal one write; a zero-frame file is valid")
    func streaming() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let samples = testSignal(frames: 10_000, channels: 2, sampleRate: 16000)
        let path = folder.appendingPathComponent("streamed.wav").path
        let writer = try AudioFileWriter(path: path, sampleRate: 16000, channels: 2, format: .float32)
        for start in stride(from: 0, to: samples.count, by: 2 * 777) {
            try writer.write(Array(samples[start..<min(start + 2 * 777, samples.count)]))
        }
        #expect(writer.framesWritten == 10_000)
        #expect(!FileManager.default.fileExists(atPath: path), "nothing at the destination before finish()")
        try writer.finish()
        #expect(try AudioFileReader(path: path).read().samples == samples)
        #expect(throws: AudioError.writeFailed(path: path, reason: "the file was already finished")) {
            try writer.write([0, 0])
        }

        let emptyPath = folder.appendingPathComponent("empty.wav").path
        try AudioFileWriter(path: emptyPath, sampleRate: 8000, channels: 1, format: .pcm16).finish()
        #expect(try AudioFileReader(path: emptyPath).info.frames == 0)
    }

    @Test("replacing an existing file")
    func replaces() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("x.wav").path
        try AudioFileWriter.write(try AudioBuffer(samples: [0.25, 0.5], channels: 1, sampleRate: 8000), to: path,
                                  format: .float32)
        try AudioFileWriter.write(try AudioBuffer(samples: [-0.75], channels: 1, sampleRate: 16000), to: path,
                                  format: .float32)
        let reader = try AudioFileReader(path: path)
        #expect(reader.info.sampleRate == 16000)
        #expect(try reader.read().samples == [-0.75])
        #expect(try contents(of: folder) == ["x.wav"])
    }

    @Test("a failed write leaves nothing behind")
    func failuresLeaveNothing() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bad.wav").path

        // A NaN: refused with its frame and channel, nothing written.
        var samples = testSignal(frames: 100, channels: 2, sampleRate: 8000)
        samples[2 * 37 + 1] = .nan
        #expect(throws: AudioError.nonFiniteSample(path: path, frame: 37, channel: 1, value: .nan)) {
            try AudioFileWriter.write(try AudioBuffer(samples: samples, channels: 2, sampleRate: 8000), to: path,
                                      format: .pcm16)
        }
        #expect(try contents(of: folder) == [])

        // A writer dropped before finish() removes its temporary file.
        do {
            let abandoned = try AudioFileWriter(path: path, sampleRate: 8000, channels: 1, format: .pcm16)
            try abandoned.write([0.1])
            let names = try contents(of: folder)
            #expect(names.count == 1 && names[0].hasPrefix(".bad.wav.") && names[0].hasSuffix(".tmp"),
                    "a hidden temporary file beside the destination while writing: \(names)")
        }
        #expect(try contents(of: folder) == [])

        // Streaming: the frame of a refused sample is counted in the output file; the writer stays usable.
        let writer = try AudioFileWriter(path: path, sampleRate: 8000, channels: 1, format: .float32)
        try writer.write([0.1, 0.2, 0.3])
        #expect(throws: AudioError.nonFiniteSample(path: path, frame: 4, channel: 0, value: -.infinity)) {
            try writer.write([0.4, -.infinity])
        }
        try writer.write([0.4])
        #expect(writer.framesWritten == 4)
        try writer.finish()
        #expect(try contents(of: folder) == ["bad.wav"])
        #expect(try AudioFileReader(path: path).read().samples == [0.1, 0.2, 0.3, 0.4])
    }

    @Test("a folder removed while writing: finish() fails and creates nothing")
    func folderRemovedWhileWriting() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inner = folder.appendingPathComponent("inner")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: false)
        let path = inner.appendingPathComponent("out.wav").path
        let writer = try AudioFileWriter(path: path, sampleRate: 8000, channels: 1, format: .pcm16)
        try writer.write([0.1, 0.2])
        try FileManager.default.removeItem(at: inner)
        #expect {
            try writer.finish()
        } throws: { error in
            guard case .writeFailed(let failedPath, let reason) = error as? AudioError else { return false }
            return failedPath == path && reason.hasPrefix("cannot move the finished file into place")
        }
        #expect(!FileManager.default.fileExists(atPath: inner.path))
        #expect(throws: AudioError.writeFailed(path: path, reason: "an earlier write failed")) {
            try writer.finish()
        }
    }

    @Test("bad destinations and arguments are typed errors")
    func badDestinations() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let buffer = try AudioBuffer(samples: [0.1, 0.2], channels: 2, sampleRate: 8000)

        let missingFolder = folder.appendingPathComponent("no/such/folder/out.wav").path
        #expect {
            try AudioFileWriter.write(buffer, to: missingFolder, format: .pcm16)
        } throws: { error in
            guard case .writeFailed(let path, let reason) = error as? AudioError else { return false }
            return path == missingFolder && reason.contains("No such file or directory")
        }
        #expect {
            try AudioFileWriter.write(buffer, to: folder.path, format: .pcm16)
        } throws: { error in
            (error as? AudioError) == .writeFailed(path: folder.path, reason: "it is a folder, expected a file path")
        }
        #expect(try contents(of: folder) == [])

        let path = folder.appendingPathComponent("a.wav").path
        #expect(throws: AudioError.invalidArgument("a file needs at least 1 channel, got 0")) {
            try AudioFileWriter(path: path, sampleRate: 8000, channels: 0, format: .pcm16)
        }
        #expect(throws: AudioError.invalidArgument("a sample rate must be between 1 and 2147483647 Hz, got 0")) {
            try AudioFileWriter(path: path, sampleRate: 0, channels: 1, format: .pcm16)
        }
        let writer = try AudioFileWriter(path: path, sampleRate: 8000, channels: 2, format: .pcm16)
        #expect(throws: AudioError.invalidArgument("3 samples are not a whole number of frames of 2 channels "
            + "(1 left over)")) {
            try writer.write([0.1, 0.2, 0.3])
        }
        #expect(throws: AudioError.invalidArgument("the buffer has 1 channels at 8000 Hz; \(path) is being written "
            + "with 2 channels at 8000 Hz")) {
            try writer.write(try AudioBuffer(samples: [0.5], channels: 1, sampleRate: 8000))
        }
    }

    @Test("AudioBuffer checks its shape")
    func bufferShape() throws {
        #expect(throws: AudioError.invalidArgument("an audio buffer needs at least 1 channel, got 0")) {
            try AudioBuffer(samples: [], channels: 0, sampleRate: 8000)
        }
        #expect(throws: AudioError.invalidArgument("an audio buffer needs a sample rate of at least 1 Hz, got -5")) {
            try AudioBuffer(samples: [], channels: 1, sampleRate: -5)
        }
        #expect(throws: AudioError.invalidArgument("5 samples are not a whole number of frames of 2 channels "
            + "(1 left over)")) {
            try AudioBuffer(samples: [1, 2, 3, 4, 5], channels: 2, sampleRate: 8000)
        }
        let buffer = try AudioBuffer(samples: [1, 2, 3, 4, 5, 6], channels: 3, sampleRate: 8000)
        #expect(buffer.frames == 2)
    }
}
