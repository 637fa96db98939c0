// The window stream against cutting the whole read: every plan, chunk sizes smaller and larger than a window,
// mono mix and interleaved channels.
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport
@testable import MambaTokenizers

/// Writes a float WAV whose every sample is distinct (frame f, channel c: a function of both), so a window taken
/// from the wrong place cannot match by accident.
func writeRamp(frames: Int, channels: Int, in folder: URL, name: String = "ramp.wav") throws -> String {
    var samples: [Float] = []
    for f in 0..<frames {
        for c in 0..<channels { samples.append(Float(f) / Float(frames) * (c % 2 == 0 ? 1 : -1) + Float(c) * 1e-3) }
    }
    let path = folder.appendingPathComponent(name).path
    try AudioFileWriter.write(AudioBuffer(samples: samples, channels: channels, sampleRate: 8000), to: path,
                              format: .float32)
    return path
}

@Suite("Audio window stream")
struct AudioWindowStreamTests {
    @Test("streamed windows equal windows cut from the whole file, whatever the chunk size")
    func matchesWholeRead() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = 1_003
        let path = try writeRamp(frames: frames, channels: 2, in: folder)
        let reader = try AudioFileReader(path: path)
        let whole = try reader.read(channels: .mono).samples
        let interleaved = try reader.read().samples
        let plans = [try Windows(length: 100, remainder: .pad), try Windows(length: 100, hop: 30, remainder: .shiftToEnd),
                     try Windows(length: 64, hop: 150, remainder: .drop), try Windows(length: 2000, remainder: .pad),
                     try Windows(length: 1003, remainder: .drop), try Windows(length: 7, hop: 1, remainder: .pad)]
        for plan in plans {
            let expected = plan.windows(sequenceLength: frames, sequence: 5)
            for chunk in [1, 7, 99, 100, 4096] {
                let stream = try AudioWindowStream(path: path, windows: plan, sequence: 5, chunkFrames: chunk)
                #expect(stream.windowCount == expected.count && stream.info.frames == frames)
                var got: [AudioWindow] = []
                while let w = try stream.next() { got.append(w) }
                #expect(got.map(\.window) == expected, "plan \(plan), chunk \(chunk)")
                for w in got {
                    #expect(w.samples == (try plan.extract(w.window, from: whole, padding: 0)))
                    #expect(w.channels == 1 && w.sampleRate == 8000)
                }
                #expect(try stream.next() == nil)
            }
            // All channels: frames of two interleaved samples.
            let stream = try AudioWindowStream(path: path, windows: plan, channels: .interleaved, chunkFrames: 13)
            var k = 0
            while let w = try stream.next() {
                let window = expected[k]
                var reference = Array(interleaved[(2 * window.start)..<(2 * window.end)])
                reference += repeatElement(0, count: 2 * (window.length - window.validLength))
                #expect(w.samples == reference && w.channels == 2)
                k += 1
            }
            #expect(k == expected.count)
        }
    }

    @Test("a chunk size below 1 and a missing file are errors")
    func errors() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try writeRamp(frames: 10, channels: 1, in: folder)
        let plan = try Windows(length: 4, remainder: .pad)
        #expect(throws: AudioError.self) { try AudioWindowStream(path: path, windows: plan, chunkFrames: 0) }
        #expect(throws: AudioError.fileNotFound(path: folder.appendingPathComponent("none.wav").path)) {
            try AudioWindowStream(path: folder.appendingPathComponent("none.wav").path, windows: plan)
        }
    }
}
