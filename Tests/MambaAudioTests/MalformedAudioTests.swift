// Malformed inputs made inside the tests: each must be a typed AudioError with a message naming the file,
// never a crash, never a silent NaN.
import CSndFile
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport

/// The bytes of a short valid file in `format` (written by libsndfile).
func validFileBytes(format: Int, channels: Int = 2, sampleRate: Int = 8000, frames: Int = 800, in folder: URL,
                    name: String) throws -> [UInt8] {
    let path = folder.appendingPathComponent(name).path
    try writeWithLibsndfile(testSignal(frames: frames, channels: channels, sampleRate: sampleRate),
                            channels: channels, sampleRate: sampleRate, format: format, to: path)
    return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes `bytes` to `name` in `folder`; returns the path.
func writeBytes(_ bytes: [UInt8], named name: String, in folder: URL) throws -> String {
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

@Suite("Malformed inputs")
struct MalformedInputTests {
    @Test("a text file named .wav")
    func textFile() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeBytes(Array("sample,label\n1,2\nthis is not audio\n".utf8), named: "notes.wav", in: folder)
        #expect(throws: AudioError.unsupportedFormat(path: path, reason: "Format not recognised.")) {
            try AudioFileReader(path: path)
        }
        let error = AudioError.unsupportedFormat(path: path, reason: "Format not recognised.")
        #expect(error.description == "\(path): not an audio format libsndfile can read (Format not recognised.)")
    }

    @Test("an empty file")
    func emptyFile() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeBytes([], named: "empty.wav", in: folder)
        #expect(throws: AudioError.unsupportedFormat(path: path, reason: "the file is empty (0 bytes)")) {
            try AudioFileReader(path: path)
        }
        #expect(throws: AudioError.unsupportedFormat(path: "upload", reason: "the data is empty (0 bytes)")) {
            try AudioFileReader(bytes: [], name: "upload")
        }
    }

    @Test("a truncated WAV header", arguments: [20, 30, 40])
    func truncatedHeader(keptBytes: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = try validFileBytes(format: SF_FORMAT_WAV | SF_FORMAT_PCM_16, in: folder, name: "whole.wav")
        let path = try writeBytes(Array(bytes.prefix(keptBytes)), named: "cut.wav", in: folder)
        #expect {
            try AudioFileReader(path: path)
        } throws: { error in
            // libsndfile's words, e.g. "Error in WAV/W64/RF64 file. Malformed 'fmt ' chunk." or "... No 'data' chunk
            // marker.", carried in the reason.
            guard case .malformedFile(let errorPath, let reason) = error as? AudioError else { return false }
            return errorPath == path && reason.contains("WAV") && "\(error)".hasPrefix("\(path): malformed audio file (")
        }
    }

    @Test("a missing file and a folder")
    func missingAndFolder() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nowhere.wav").path
        #expect(throws: AudioError.fileNotFound(path: missing)) { try AudioFileReader(path: missing) }
        #expect(AudioError.fileNotFound(path: missing).description == "audio file not found: \(missing)")
        #expect(throws: AudioError.unreadable(path: folder.path, reason: "it is a folder, expected an audio file")) {
            try AudioFileReader(path: folder.path)
        }
    }

    @Test("a zero-frame WAV opens, but reading it is an error")
    func zeroFrames() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("silent.wav").path
        try writeWithLibsndfile([], channels: 1, sampleRate: 16000, format: SF_FORMAT_WAV | SF_FORMAT_PCM_16, to: path)
        let reader = try AudioFileReader(path: path)
        #expect(reader.info.frames == 0)
        #expect(reader.info.duration == 0)
        #expect(throws: AudioError.noFrames(path: path)) { try reader.read() }
        #expect(throws: AudioError.noFrames(path: path)) { try reader.statistics() }
        #expect(throws: AudioError.noFrames(path: path)) { try reader.chunks(frames: 100) }
        #expect(try reader.read(frames: 0..<0).frames == 0)
        #expect(AudioError.noFrames(path: path).description
            == "\(path): the file holds no audio frames (expected at least one)")
    }

    @Test("a FLAC file cut short: the frames that are there, then an error at the first missing frame")
    func truncatedFLAC() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = try validFileBytes(format: SF_FORMAT_FLAC | SF_FORMAT_PCM_16, frames: 20_000, in: folder,
                                       name: "whole.flac")
        let path = try writeBytes(Array(bytes.prefix(bytes.count * 6 / 10)), named: "cut.flac", in: folder)
        let whole = try AudioFileReader(path: folder.appendingPathComponent("whole.flac").path).read()
        let reader = try AudioFileReader(path: path)
        #expect(reader.info.frames == 20_000, "the FLAC header still announces all frames")
        var failedAt: Int?
        do {
            _ = try reader.read()
        } catch {
            if case .readFailed(let errorPath, let frame, let reason) = error, errorPath == path {
                failedAt = frame
                #expect(reason.contains("announces 20000 frames"))
            }
        }
        let frame = try #require(failedAt, "reading a cut FLAC file must fail with .readFailed")
        #expect(frame > 0 && frame < 20_000)
        // Everything before the failure is intact and readable.
        #expect(try reader.read(frames: 0..<frame) == AudioFileReader(path: folder.appendingPathComponent("whole.flac").path)
            .read(frames: 0..<frame))
        #expect(whole.frames == 20_000)
    }

    @Test("a FLAC header announcing 2^36 frames costs no memory, only an error")
    func lyingFLACHeader() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = try validFileBytes(format: SF_FORMAT_FLAC | SF_FORMAT_PCM_16, frames: 4000, in: folder,
                                       name: "small.flac")
        // "fLaC", a 4-byte block header, then STREAMINFO: its 36-bit total-samples field ends the 8 bytes at
        // STREAMINFO offset 10 (file offset 18), i.e. the low nibble of file byte 21 and bytes 22...25.
        try #require(bytes.count > 26 && bytes[0..<4] == [0x66, 0x4C, 0x61, 0x43])
        bytes[21] |= 0x0F
        for k in 22...25 { bytes[k] = 0xFF }
        let reader = try AudioFileReader(bytes: bytes, name: "liar.flac")
        #expect(reader.info.frames == (1 << 36) - 1)
        #expect {
            try reader.read()
        } throws: { error in
            guard case .readFailed(_, let frame, _) = error as? AudioError else { return false }
            return frame == 4000
        }
        #expect(throws: AudioError.self) { try reader.statistics() }
        // Chunks up to the real end come through; the one past it fails.
        var chunks = try reader.chunks(frames: 1000)
        var delivered = 0
        #expect(throws: AudioError.self) {
            while let chunk = try chunks.next() { delivered += chunk.frames }
        }
        #expect(delivered == 4000)
    }

    @Test("a WAV file whose data is cut short reports the frames present")
    func truncatedWAVData() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = try validFileBytes(format: SF_FORMAT_WAV | SF_FORMAT_PCM_16, channels: 2, frames: 1000,
                                       in: folder, name: "whole.wav")
        // Header (44 bytes) + 300 whole frames of 4 bytes + 3 bytes of a 301st.
        let path = try writeBytes(Array(bytes.prefix(44 + 300 * 4 + 3)), named: "cut.wav", in: folder)
        // libsndfile trusts the file length over the header's data size for PCM WAV: the frames present.
        let reader = try AudioFileReader(path: path)
        #expect(reader.info.frames == 300)
        let whole = try AudioFileReader(path: folder.appendingPathComponent("whole.wav").path)
        #expect(try reader.read() == whole.read(frames: 0..<300))
    }
}

@Suite("Files changed while open")
struct ChangedFileTests {
    @Test("a Vorbis file replaced by a stereo one is not read with the old header")
    func replacedWhileOpen() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("clip.ogg").path
        try writeWithLibsndfile(testSignal(frames: 8000, channels: 1, sampleRate: 16000), channels: 1,
                                sampleRate: 16000, format: SF_FORMAT_OGG | SF_FORMAT_VORBIS, to: path)
        let reader = try AudioFileReader(path: path)
        _ = try reader.read()
        // Replace it (a new inode under the same name); going back to frame 0 needs a fresh decoder.
        let other = folder.appendingPathComponent("other.ogg").path
        try writeWithLibsndfile(testSignal(frames: 8000, channels: 2, sampleRate: 16000), channels: 2,
                                sampleRate: 16000, format: SF_FORMAT_OGG | SF_FORMAT_VORBIS, to: other)
        #expect(rename(other, path) == 0)
        #expect {
            try reader.read(frames: 0..<10)
        } throws: { error in
            guard case .readFailed(let errorPath, 0, let reason) = error as? AudioError else { return false }
            return errorPath == path && reason.hasPrefix("the file changed since it was opened (now 2 channels")
        }
    }
}

@Suite("Non-finite samples")
struct NonFiniteSampleTests {
    /// A stereo float WAV of 5000 frames with a NaN at frame 1234, channel 1.
    func fileWithNaN(in folder: URL, format: Int = SF_FORMAT_WAV | SF_FORMAT_FLOAT) throws -> String {
        var samples = testSignal(frames: 5000, channels: 2, sampleRate: 16000)
        samples[2 * 1234 + 1] = .nan
        let path = folder.appendingPathComponent("nan.wav").path
        try writeWithLibsndfile(samples, channels: 2, sampleRate: 16000, format: format, to: path)
        return path
    }

    @Test("a NaN is an error naming file, frame and channel, from every way of reading",
          arguments: [SF_FORMAT_WAV | SF_FORMAT_FLOAT, SF_FORMAT_WAV | SF_FORMAT_DOUBLE])
    func nanIsAnError(format: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try fileWithNaN(in: folder, format: format)
        let expected = AudioError.nonFiniteSample(path: path, frame: 1234, channel: 1, value: .nan)
        #expect(expected.description == "\(path): non-finite sample nan at frame 1234, channel 1 (both counted from 0); "
            + "expected finite samples")

        let reader = try AudioFileReader(path: path)
        #expect(throws: expected) { try reader.read() }
        #expect(throws: expected) { try reader.read(channels: .mono) }
        #expect(throws: expected) { try reader.read(frames: 1000..<2000) }
        #expect(throws: expected) { try reader.statistics() }
        #expect(try reader.read(frames: 0..<1234).frames == 1234, "the frames before it read normally")
        #expect(try reader.read(frames: 1235..<5000).frames == 3765, "and so do the frames after it")

        var chunks = try reader.chunks(frames: 500)
        var chunksBefore = 0
        #expect(throws: expected) {
            while try chunks.next() != nil { chunksBefore += 1 }
        }
        #expect(chunksBefore == 2, "chunks 0..<500 and 500..<1000 come through, 1000..<1500 fails")

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(throws: AudioError.nonFiniteSample(path: "mem", frame: 1234, channel: 1, value: .nan)) {
            try AudioFileReader(bytes: bytes, name: "mem").read()
        }
    }

    @Test("allowed non-finite samples are passed on, and statistics show them")
    func allowed() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try fileWithNaN(in: folder)
        let reader = try AudioFileReader(path: path, allowNonFiniteSamples: true)
        #expect(reader.allowsNonFiniteSamples)
        let audio = try reader.read()
        #expect(audio.samples[2 * 1234 + 1].isNaN)
        #expect(audio.samples.filter { $0.isNaN }.count == 1)
        let statistics = try reader.statistics()
        #expect(statistics.peak.isNaN && statistics.rms.isNaN)

        let infPath = folder.appendingPathComponent("inf.wav").path
        try writeWithLibsndfile([0.5, -.infinity, 0.25], channels: 1, sampleRate: 8000,
                                format: SF_FORMAT_WAV | SF_FORMAT_FLOAT, to: infPath)
        #expect(throws: AudioError.nonFiniteSample(path: infPath, frame: 1, channel: 0, value: -.infinity)) {
            try AudioFileReader(path: infPath).read()
        }
        let infStatistics = try AudioFileReader(path: infPath, allowNonFiniteSamples: true).statistics()
        #expect(infStatistics.peak == .infinity && infStatistics.rms == .infinity)
    }
}

@Suite("Never crash")
struct NeverCrashTests {
    /// A seeded generator (SplitMix64), so that a failing mutation can be replayed.
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

    /// Opens `bytes` and reads everything a caller might: the whole file, mono, a range, chunks, statistics.
    /// Returns nil on success, or the error; typed throws guarantee it is an AudioError.
    func exercise(_ bytes: [UInt8]) -> AudioError? {
        do throws(AudioError) {
            let reader = try AudioFileReader(bytes: bytes, name: "mutant")
            let info = reader.info
            _ = try reader.statistics()
            _ = try reader.read(channels: .mono)
            _ = try reader.read(frames: info.frames / 3..<info.frames / 2)
            var chunks = try reader.chunks(frames: 97)
            while try chunks.next() != nil {}
            return nil
        } catch {
            #expect(!error.description.isEmpty)
            return error
        }
    }

    @Test("mutated files of every family give a result or a typed error", arguments: [
        SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_FLOAT, SF_FORMAT_AIFF | SF_FORMAT_PCM_24,
        SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_CAF | SF_FORMAT_PCM_16,
    ])
    func mutations(format: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try validFileBytes(format: format, channels: 2, frames: 2000, in: folder, name: "seed")
        var random = SplitMix64(state: UInt64(format))
        var failures = 0
        for _ in 0..<150 {
            var bytes = original
            switch Int.random(in: 0..<4, using: &random) {
            case 0:  // flip bytes in the header, where the sizes and counts live
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<min(96, bytes.count), using: &random)] = .random(in: 0...255, using: &random)
                }
            case 1:  // flip bytes anywhere
                for _ in 0..<Int.random(in: 1...16, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = .random(in: 0...255, using: &random)
                }
            case 2:  // cut anywhere
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            default:  // bytes inserted or removed in the middle, shifting every offset after them
                let at = Int.random(in: 0..<bytes.count, using: &random)
                if Bool.random(using: &random) {
                    bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8(0) }, at: at)
                } else {
                    bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &random)))
                }
            }
            if exercise(bytes) != nil { failures += 1 }
        }
        // Most mutations must be caught; if none were, the mutations are not reaching the decoder.
        #expect(failures > 0)
    }

    @Test("every header field at its largest value: a result or a typed error", arguments: [
        SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
        SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_CAF | SF_FORMAT_FLOAT, SF_FORMAT_AU | SF_FORMAT_PCM_24,
    ])
    func saturatedHeaderFields(format: Int) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = try validFileBytes(format: format, channels: 2, frames: 1000, in: folder, name: "seed")
        // 5 bytes of 0xFF slid over the first 64 bytes, where sizes, counts and rates live: every 32- and 36-bit
        // field (FLAC's total samples) is saturated at some offset.
        for offset in 0..<min(64, original.count - 5) {
            var bytes = original
            for k in offset..<(offset + 5) { bytes[k] = 0xFF }
            _ = exercise(bytes)
        }
    }

    @Test("random bytes are a typed error")
    func randomBytes() {
        var random = SplitMix64(state: 7)
        for size in [1, 2, 3, 4, 11, 12, 44, 100, 1000, 4096] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(exercise(bytes) != nil, "\(size) random bytes decoded as audio")
        }
    }
}
