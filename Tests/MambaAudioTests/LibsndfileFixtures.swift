// Test audio made inside the tests: a deterministic signal, written in any format with libsndfile directly
// (not through MambaAudio's writer, so the reader is checked against an independent encoder).
import CSndFile
import Foundation

/// A deterministic test signal, interleaved: per channel a 440 Hz sine with a channel-dependent phase, a 1234.5 Hz
/// sine and a little seeded noise. Peaks stay below 0.9, so no format clips it.
func testSignal(frames: Int, channels: Int, sampleRate: Int, seed: UInt64 = 42) -> [Float] {
    var state = seed
    var samples = [Float](repeating: 0, count: frames * channels)
    for f in 0..<frames {
        let t = Double(f) / Double(sampleRate)
        for c in 0..<channels {
            // 64-bit LCG (Knuth's MMIX constants); the top 24 bits give a uniform value in [0, 1).
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(state >> 40) / Double(1 << 24) - 0.5
            let x = 0.5 * sin(2 * .pi * 440 * t + Double(c)) + 0.3 * sin(2 * .pi * 1234.5 * t) + 0.05 * noise
            samples[f * channels + c] = Float(x)
        }
    }
    return samples
}

/// Errors of the test's own libsndfile calls (a broken test setup, not a finding about MambaAudio).
struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// Writes interleaved `samples` to `path` with libsndfile in `format` (an `SF_FORMAT_*` major | subtype code).
func writeWithLibsndfile(_ samples: [Float], channels: Int, sampleRate: Int, format: Int, to path: String) throws {
    var info = SF_INFO(
        frames: 0, samplerate: Int32(sampleRate), channels: Int32(channels), format: Int32(format), sections: 0,
        seekable: 0)
    guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
        throw FixtureError(description: "libsndfile cannot create \(path): \(String(cString: sf_strerror(nil)))")
    }
    let frames = samples.count / channels
    let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress!, sf_count_t(frames)) }
    let closed = sf_close(handle)
    guard written == frames, closed == 0 else {
        throw FixtureError(description: "libsndfile wrote \(written) of \(frames) frames to \(path), close \(closed)")
    }
}

/// One format the reader must open: how to write it with libsndfile and what the reader must report.
struct FormatCase: Sendable, CustomStringConvertible {
    let formatName: String
    let sndfileFormat: Int
    let fileExtension: String
    let sampleRate: Int
    let channels: Int
    /// The largest |read - written| allowed per sample: about one quantisation step for PCM, 0 for float.
    let tolerance: Float
    /// For lossy codecs, the relative L2 error allowed instead of a per-sample bound.
    let lossyRelativeError: Double?

    var description: String { "\(formatName), \(sampleRate) Hz, \(channels) ch" }

    /// libsndfile writes float as round(x * (2^(b-1) - 1)) and reads as k / 2^(b-1): error below 1.5 * 2^-(b-1)
    /// for |x| < 1. Past 24 bits Float32 itself is the limit: one ulp at 1 is 2^-23.
    static func pcm(bits: Int) -> Float { Float(max(2.0 / pow(2.0, Double(bits - 1)), pow(2.0, -23.0))) }

    static let all: [FormatCase] = [
        FormatCase(formatName: "WAV PCM 8-bit unsigned", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_PCM_U8,
                   fileExtension: "wav", sampleRate: 22050, channels: 1, tolerance: pcm(bits: 8), lossyRelativeError: nil),
        FormatCase(formatName: "WAV PCM 16-bit", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                   fileExtension: "wav", sampleRate: 8000, channels: 1, tolerance: pcm(bits: 16), lossyRelativeError: nil),
        FormatCase(formatName: "WAV PCM 24-bit", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_PCM_24,
                   fileExtension: "wav", sampleRate: 44100, channels: 2, tolerance: pcm(bits: 24), lossyRelativeError: nil),
        FormatCase(formatName: "WAV PCM 32-bit", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_PCM_32,
                   fileExtension: "wav", sampleRate: 48000, channels: 2, tolerance: pcm(bits: 32), lossyRelativeError: nil),
        FormatCase(formatName: "WAV float 32-bit", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_FLOAT,
                   fileExtension: "wav", sampleRate: 16000, channels: 3, tolerance: 0, lossyRelativeError: nil),
        FormatCase(formatName: "WAV float 64-bit", sndfileFormat: SF_FORMAT_WAV | SF_FORMAT_DOUBLE,
                   fileExtension: "wav", sampleRate: 16000, channels: 1, tolerance: 0, lossyRelativeError: nil),
        FormatCase(formatName: "FLAC PCM 16-bit", sndfileFormat: SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                   fileExtension: "flac", sampleRate: 44100, channels: 2, tolerance: pcm(bits: 16), lossyRelativeError: nil),
        FormatCase(formatName: "FLAC PCM 24-bit", sndfileFormat: SF_FORMAT_FLAC | SF_FORMAT_PCM_24,
                   fileExtension: "flac", sampleRate: 96000, channels: 1, tolerance: pcm(bits: 24), lossyRelativeError: nil),
        FormatCase(formatName: "OGG Vorbis", sndfileFormat: SF_FORMAT_OGG | SF_FORMAT_VORBIS,
                   fileExtension: "ogg", sampleRate: 44100, channels: 2, tolerance: 0, lossyRelativeError: 0.1),
        FormatCase(formatName: "AIFF PCM 16-bit", sndfileFormat: SF_FORMAT_AIFF | SF_FORMAT_PCM_16,
                   fileExtension: "aiff", sampleRate: 44100, channels: 2, tolerance: pcm(bits: 16), lossyRelativeError: nil),
        FormatCase(formatName: "AIFF PCM 24-bit", sndfileFormat: SF_FORMAT_AIFF | SF_FORMAT_PCM_24,
                   fileExtension: "aiff", sampleRate: 48000, channels: 1, tolerance: pcm(bits: 24), lossyRelativeError: nil),
        FormatCase(formatName: "AIFF float 32-bit", sndfileFormat: SF_FORMAT_AIFF | SF_FORMAT_FLOAT,
                   fileExtension: "aiff", sampleRate: 32000, channels: 2, tolerance: 0, lossyRelativeError: nil),
        FormatCase(formatName: "CAF PCM 16-bit", sndfileFormat: SF_FORMAT_CAF | SF_FORMAT_PCM_16,
                   fileExtension: "caf", sampleRate: 44100, channels: 1, tolerance: pcm(bits: 16), lossyRelativeError: nil),
        FormatCase(formatName: "W64 float 32-bit", sndfileFormat: SF_FORMAT_W64 | SF_FORMAT_FLOAT,
                   fileExtension: "w64", sampleRate: 44100, channels: 2, tolerance: 0, lossyRelativeError: nil),
        FormatCase(formatName: "OGG Opus", sndfileFormat: SF_FORMAT_OGG | SF_FORMAT_OPUS,
                   fileExtension: "opus", sampleRate: 48000, channels: 2, tolerance: 0, lossyRelativeError: 0.1),
        FormatCase(formatName: "MPEG-1/2 Audio Layer III", sndfileFormat: SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III,
                   fileExtension: "mp3", sampleRate: 44100, channels: 1, tolerance: 0, lossyRelativeError: 0.1),
        // mu-law keeps about 8 bits of precision relative to the level: 3 % at 0.9 is well above its step there.
        FormatCase(formatName: "AU mu-law", sndfileFormat: SF_FORMAT_AU | SF_FORMAT_ULAW,
                   fileExtension: "au", sampleRate: 8000, channels: 1, tolerance: 0.03, lossyRelativeError: nil),
    ]
}
