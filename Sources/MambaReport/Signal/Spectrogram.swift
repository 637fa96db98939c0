// The short-time Fourier transform magnitude of a mono signal, in dB relative to full scale:
//   frame k = samples [k · hop, k · hop + window) × Hann window (periodic: w[t] = 0.5 − 0.5 cos(2πt / window)),
//   zero-padded to the FFT size (the next power of two), X = FFT(frame);
//   level[k, f] = 20 log10(2 |X[f]| / Σ w)   (|X[f]| / Σ w at 0 Hz and Nyquist),
// so a full-scale sine at a bin's frequency reads 0 dBFS. Frame k's time is its centre, (k · hop + window / 2) / rate.
import Foundation

/// The STFT magnitude of a signal in dBFS (see the file header).
public struct Spectrogram: Sendable, Equatable {
    /// The signal's sample rate (Hz).
    public let sampleRate: Double
    /// The signal's duration (s).
    public let duration: Double
    /// Samples per window.
    public let windowLength: Int
    /// Samples between successive windows.
    public let hop: Int
    /// The FFT size (a power of two, at least `windowLength`).
    public let fftSize: Int
    /// Each frame's centre (s).
    public let times: [Double]
    /// Each frequency bin's centre (Hz), 0 ... sampleRate / 2.
    public let frequencies: [Double]
    /// Levels (dBFS), frames × bins, row-major: `levels[k * frequencies.count + f]`.
    public let levels: [Float]

    /// The spectrogram of `samples` (mono, full scale ±1) at `sampleRate` Hz, with windows of `windowSeconds`
    /// (typically 0.02-0.05 s) every `hopSeconds` (typically 0.005-0.02 s). A signal shorter than a window gives one
    /// zero-padded frame. Throws on an empty signal, a rate outside 1 Hz ... 1 MHz, a window under 8 samples or a
    /// hop under one sample, or non-finite samples.
    public init(samples: [Float], sampleRate: Double, windowSeconds: Double = 0.025,
                hopSeconds: Double = 0.010) throws {
        guard !samples.isEmpty else { throw ReportError("spectrogram: expected at least one sample, found none") }
        guard sampleRate >= 1, sampleRate <= 1_000_000 else {
            throw ReportError("spectrogram: expected a sample rate in 1 ... 1000000 Hz, found \(sampleRate)")
        }
        let window = Int((windowSeconds * sampleRate).rounded())
        let hop = Int((hopSeconds * sampleRate).rounded())
        guard windowSeconds.isFinite, window >= 8, window <= 1 << 20 else {
            throw ReportError("spectrogram: expected a window of 8 ... 1048576 samples, found \(windowSeconds) s = \(window) samples at \(sampleRate) Hz")
        }
        guard hopSeconds.isFinite, hop >= 1 else {
            throw ReportError("spectrogram: expected a hop of at least one sample, found \(hopSeconds) s at \(sampleRate) Hz")
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw ReportError("spectrogram: expected finite samples, found \(samples[bad]) at sample \(bad)")
        }
        var size = 1
        while size < window { size *= 2 }
        let plan = FFTPlan(size: size)
        let hann = (0..<window).map { 0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(window)) }
        let gain = hann.reduce(0, +)
        let frames = samples.count <= window ? 1 : 1 + (samples.count - window) / hop
        let bins = size / 2 + 1
        var levels = [Float](repeating: 0, count: frames * bins)
        var real = [Double](repeating: 0, count: size), imaginary = [Double](repeating: 0, count: size)
        for k in 0..<frames {
            for t in 0..<size {
                let i = k * hop + t
                real[t] = t < window && i < samples.count ? Double(samples[i]) * hann[t] : 0
                imaginary[t] = 0
            }
            plan.transform(real: &real, imaginary: &imaginary)
            for f in 0..<bins {
                let scale = f == 0 || f == size / 2 ? 1.0 : 2.0
                let amplitude = scale * (real[f] * real[f] + imaginary[f] * imaginary[f]).squareRoot() / gain
                levels[k * bins + f] = Float(20 * log10(max(amplitude, 1e-10)))
            }
        }
        self.sampleRate = sampleRate
        self.duration = Double(samples.count) / sampleRate
        self.windowLength = window
        self.hop = hop
        self.fftSize = size
        self.times = (0..<frames).map { (Double($0 * hop) + Double(window) / 2) / sampleRate }
        self.frequencies = (0..<bins).map { Double($0) * sampleRate / Double(size) }
        self.levels = levels
    }

    /// The level (dBFS) of frame `frame` at bin `bin`.
    public func level(frame: Int, bin: Int) -> Float { levels[frame * frequencies.count + bin] }
}
