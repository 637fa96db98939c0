// A block of decoded audio: interleaved Float32 samples with their channel count and sample rate.

/// Decoded audio: `frames` frames of `channels` interleaved Float32 samples at `sampleRate` Hz.
///
/// Layout: `samples[frame * channels + channel]`, i.e. shape `[frames, channels]` in row-major order.
/// Samples read from integer PCM files lie in [-1, 1); samples from float files are passed on as stored.
public struct AudioBuffer: Sendable, Equatable {
    /// Interleaved samples, `frames * channels` of them.
    public let samples: [Float]
    /// Number of channels (1 for mono), at least 1.
    public let channels: Int
    /// Number of frames (one sample per channel each).
    public let frames: Int
    /// Sample rate in Hz, at least 1.
    public let sampleRate: Int

    /// Wraps interleaved samples; throws `AudioError.invalidArgument` when `channels` or `sampleRate` is below 1 or
    /// `samples.count` is not a whole number of frames.
    public init(samples: [Float], channels: Int, sampleRate: Int) throws(AudioError) {
        guard channels >= 1 else {
            throw .invalidArgument("an audio buffer needs at least 1 channel, got \(channels)")
        }
        guard sampleRate >= 1 else {
            throw .invalidArgument("an audio buffer needs a sample rate of at least 1 Hz, got \(sampleRate)")
        }
        guard samples.count % channels == 0 else {
            throw .invalidArgument(
                "\(samples.count) samples are not a whole number of frames of \(channels) channels "
                    + "(\(samples.count % channels) left over)")
        }
        self.init(validated: samples, channels: channels, sampleRate: sampleRate)
    }

    /// For the reader, whose sizes are right by construction.
    init(validated samples: [Float], channels: Int, sampleRate: Int) {
        self.samples = samples
        self.channels = channels
        self.frames = samples.count / channels
        self.sampleRate = sampleRate
    }
}
