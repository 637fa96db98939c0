// Frame ranges, chunks, mono mix-down and statistics, each checked against the whole read or a direct computation.
import CSndFile
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport

/// The formats the range and chunk tests run on: plain PCM, a compressed lossless codec, the lossy codecs (whose
/// seeking in libsndfile is not sample-exact, so the reader positions them by decoding) and multi-channel float.
let seekingFormats = FormatCase.all.filter {
    ["WAV PCM 24-bit", "FLAC PCM 16-bit", "OGG Vorbis", "OGG Opus", "MPEG-1/2 Audio Layer III", "WAV float 32-bit"]
        .contains($0.formatName)
}

/// Frames `range` of interleaved `samples`.
func slice(_ samples: [Float], frames range: Range<Int>, channels: Int) -> [Float] {
    Array(samples[(range.lowerBound * channels)..<(range.upperBound * channels)])
}

/// The mean of the channels of each frame, computed in Double as an independent reference.
func referenceMono(_ samples: [Float], channels: Int) -> [Float] {
    stride(from: 0, to: samples.count, by: channels).map { start in
        Float(samples[start..<(start + channels)].reduce(0.0) { $0 + Double($1) } / Double(channels))
    }
}

@Suite("Frame ranges")
struct FrameRangeTests {
    @Test("a range read equals the same slice of the whole read", arguments: seekingFormats)
    func rangeEqualsSliceOfWhole(_ format: FormatCase) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // 2 s: longer than the reader's decoding block (65536 samples), so ranges cross block boundaries.
        let (path, _) = try makeFormatFile(format, seconds: 2, in: folder)
        let reader = try AudioFileReader(path: path)
        let whole = try reader.read()
        let n = reader.info.frames
        let c = reader.info.channels
        let block = 65536 / c
        // Out of order on purpose: each read must seek, backwards as well as forwards.
        let ranges = [n - 700..<n, 0..<1, 12_345..<23_456, block - 3..<block + 5, 0..<n, 5..<5, n..<n, n - 1..<n,
                      1..<min(2 * block + 17, n)]
        for range in ranges {
            let part = try reader.read(frames: range)
            #expect(part.frames == range.count)
            #expect(part.channels == c)
            #expect(part.samples == slice(whole.samples, frames: range, channels: c), "frames \(range)")
            let mono = try reader.read(frames: range, channels: .mono)
            #expect(mono.channels == 1 && mono.frames == range.count)
            #expect(maxAbsoluteDifference(mono.samples, referenceMono(part.samples, channels: c)) < 1e-6)
        }
    }

    @Test("a range outside the file names the range and the frame count")
    func outOfBounds() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("short.wav").path
        try writeWithLibsndfile(testSignal(frames: 100, channels: 2, sampleRate: 8000), channels: 2,
                                sampleRate: 8000, format: SF_FORMAT_WAV | SF_FORMAT_PCM_16, to: path)
        let reader = try AudioFileReader(path: path)
        for range in [90..<101, -1..<10, 100..<101, 1000..<2000] {
            #expect(throws: AudioError.frameRangeOutOfBounds(path: path, requested: range, frameCount: 100)) {
                try reader.read(frames: range)
            }
        }
        let error = AudioError.frameRangeOutOfBounds(path: path, requested: 90..<101, frameCount: 100)
        #expect(error.description == "\(path): frame range 90..<101 is outside the file, which has 100 frames "
            + "(valid range 0..<100)")
        // The reader still works after a refused range.
        #expect(try reader.read(frames: 90..<100).frames == 10)
    }
}

@Suite("Chunks")
struct ChunkTests {
    @Test("chunks concatenate to the whole read", arguments: seekingFormats)
    func chunksConcatenateToWhole(_ format: FormatCase) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (path, _) = try makeFormatFile(format, seconds: 1.5, in: folder)
        let reader = try AudioFileReader(path: path)
        let n = reader.info.frames
        for mix in [ChannelMix.interleaved, .mono] {
            let whole = try reader.read(channels: mix)
            for chunkFrames in [1000, 4410, 65_536, n, n + 5] {
                var chunks = try reader.chunks(frames: chunkFrames, channels: mix)
                var joined: [Float] = []
                var sizes: [Int] = []
                while let chunk = try chunks.next() {
                    #expect(chunk.sampleRate == reader.info.sampleRate)
                    #expect(chunk.channels == whole.channels)
                    joined += chunk.samples
                    sizes.append(chunk.frames)
                }
                #expect(joined == whole.samples, "chunks of \(chunkFrames), \(mix)")
                #expect(sizes.count == (n + chunkFrames - 1) / chunkFrames)
                #expect(sizes.dropLast().allSatisfy { $0 == chunkFrames })
                #expect(try chunks.next() == nil, "an exhausted iterator stays exhausted")
            }
        }
    }

    @Test("one-frame chunks and interleaved reads on the same reader")
    func interleavedUse() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("tiny.flac").path
        let written = testSignal(frames: 300, channels: 2, sampleRate: 8000)
        try writeWithLibsndfile(written, channels: 2, sampleRate: 8000, format: SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                                to: path)
        let reader = try AudioFileReader(path: path)
        let whole = try reader.read()
        var chunks = try reader.chunks(frames: 1)
        var frame = 0
        while let chunk = try chunks.next() {
            #expect(chunk.samples == slice(whole.samples, frames: frame..<frame + 1, channels: 2))
            // A read elsewhere between two chunks must not shift the iterator.
            _ = try reader.read(frames: 250..<260)
            frame += 1
        }
        #expect(frame == 300)
    }

    @Test("a chunk size below 1 is refused")
    func badChunkSize() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.wav").path
        try writeWithLibsndfile([0.1, 0.2], channels: 1, sampleRate: 8000, format: SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                                to: path)
        let reader = try AudioFileReader(path: path)
        #expect(throws: AudioError.invalidArgument("a chunk must hold at least 1 frame, got 0")) {
            try reader.chunks(frames: 0)
        }
    }
}

@Suite("Mono mix-down")
struct MonoMixTests {
    @Test("mono is the mean of the channels")
    func meanOfChannels() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Float 3-channel so the file holds exactly these values: frame f = (a, b, c).
        let written: [Float] = [0.5, -0.5, 0.25, 1, 1, 1, -0.75, 0.25, 0.5, 0.1, 0.2, 0.3]
        let path = folder.appendingPathComponent("three.wav").path
        try writeWithLibsndfile(written, channels: 3, sampleRate: 16000, format: SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                                to: path)
        let mono = try AudioFileReader(path: path).read(channels: .mono)
        #expect(mono.channels == 1)
        #expect(mono.frames == 4)
        #expect(mono.sampleRate == 16000)
        let expected: [Float] = [0.25 / 3, 1, 0, 0.6 / 3]
        #expect(maxAbsoluteDifference(mono.samples, expected) < 1e-7)
        #expect(maxAbsoluteDifference(mono.samples, referenceMono(written, channels: 3)) < 1e-7)
    }

    @Test("stereo: (left + right) / 2; mono files are unchanged")
    func stereoAndMono() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stereo = testSignal(frames: 5000, channels: 2, sampleRate: 44100)
        let stereoPath = folder.appendingPathComponent("stereo.wav").path
        try writeWithLibsndfile(stereo, channels: 2, sampleRate: 44100, format: SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                                to: stereoPath)
        let mixed = try AudioFileReader(path: stereoPath).read(channels: .mono)
        let expected: [Float] = (0..<5000).map { f in (stereo[2 * f] + stereo[2 * f + 1]) * 0.5 }
        #expect(mixed.samples == expected)

        let monoPath = folder.appendingPathComponent("mono.wav").path
        let mono = testSignal(frames: 5000, channels: 1, sampleRate: 44100)
        try writeWithLibsndfile(mono, channels: 1, sampleRate: 44100, format: SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                                to: monoPath)
        let reader = try AudioFileReader(path: monoPath)
        #expect(try reader.read(channels: .mono) == reader.read(channels: .interleaved))
        #expect(try reader.read().samples == mono)
    }
}

@Suite("Statistics")
struct StatisticsTests {
    @Test("peak and RMS equal a direct computation over the whole read", arguments: seekingFormats)
    func againstDirect(_ format: FormatCase) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (path, _) = try makeFormatFile(format, seconds: 2, in: folder)
        let reader = try AudioFileReader(path: path)
        let samples = try reader.read().samples
        let statistics = try reader.statistics()
        #expect(statistics.sampleCount == samples.count)
        #expect(statistics.peak == samples.map { abs($0) }.max())
        let directRMS = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
        #expect(abs(statistics.rms - directRMS) <= 1e-12 * directRMS)
    }

    @Test("known values: a square wave of ±0.5 with one -0.9 spike")
    func knownValues() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var samples = (0..<100_001).map { $0 % 2 == 0 ? Float(0.5) : -0.5 }
        samples[77_777] = -0.9
        let path = folder.appendingPathComponent("square.wav").path
        try writeWithLibsndfile(samples, channels: 1, sampleRate: 8000, format: SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                                to: path)
        let statistics = try AudioFileReader(path: path).statistics()
        #expect(statistics.peak == 0.9)
        let expectedRMS = ((100_000 * 0.25 + Double(Float(0.9)) * Double(Float(0.9))) / 100_001).squareRoot()
        #expect(abs(statistics.rms - expectedRMS) < 1e-12)
        #expect(statistics.sampleCount == 100_001)
    }
}
