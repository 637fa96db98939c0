// Continuous audio input: the samples themselves, scaled per clip or not, with the scale kept so that generated or
// reconstructed audio can be put back at the clip's level.

/// Per-clip normalization of Float samples for models that take continuous input (no quantization).
///
/// Every mode maps a clip `x` to `y = (x − offset) · gain` and records `offset` and `gain`, so `restore` inverts it:
///
/// | mode          | offset     | gain            | result                                  |
/// |---------------|------------|-----------------|-----------------------------------------|
/// | `none`        | 0          | 1               | the samples as read (pass-through)      |
/// | `peak`        | 0          | target / max|x| | largest magnitude = target              |
/// | `rms`         | 0          | target / rms(x) | root mean square = target, DC kept      |
/// | `standardize` | mean(x)    | target / std(x) | mean 0, standard deviation = target     |
///
/// `std` is the population standard deviation (divide by n). Statistics are summed in Double. A clip whose
/// measured scale is below `silenceThreshold` (default 1e-6, about a thirtieth of a 16-bit step) is left at gain 1:
/// scaling silence or a DC offset up to full scale would turn dither and rounding into loud noise.
public struct AudioNormalizer: Sendable, Equatable, Codable {
    /// How a clip is scaled.
    public enum Mode: String, Sendable, Equatable, Codable, CaseIterable {
        /// Pass-through: gain 1, offset 0.
        case none
        /// Divide by the peak magnitude (then multiply by `target`).
        case peak
        /// Divide by the root mean square (then multiply by `target`); the mean is not removed.
        case rms
        /// Subtract the mean, divide by the standard deviation (then multiply by `target`).
        case standardize
    }

    /// A normalized clip and what undoes it: `original = samples / gain + offset`.
    public struct Normalized: Sendable, Equatable {
        /// `(x − offset) · gain` for each input sample x.
        public var samples: [Float]
        /// The factor applied after removing the offset (1 for `none` and for silent clips).
        public var gain: Float
        /// The value subtracted first (the mean for `standardize`, else 0).
        public var offset: Float
    }

    /// The mode.
    public let mode: Mode
    /// The peak, RMS or standard deviation the clip is scaled to (1 by default).
    public let target: Float
    /// Below this measured peak, RMS or standard deviation a clip counts as silent and keeps gain 1.
    public let silenceThreshold: Float

    /// A normalizer.
    ///
    /// - Throws: `TokenizerError.invalidArgument` when `target` is not finite and positive or `silenceThreshold`
    ///   is negative or not finite.
    public init(mode: Mode, target: Float = 1, silenceThreshold: Float = 1e-6) throws(TokenizerError) {
        guard target.isFinite && target > 0 else {
            throw .invalidArgument("a normalization target must be finite and positive, got \(target)")
        }
        guard silenceThreshold.isFinite && silenceThreshold >= 0 else {
            throw .invalidArgument("a silence threshold must be finite and at least 0, got \(silenceThreshold)")
        }
        self.mode = mode
        self.target = target
        self.silenceThreshold = silenceThreshold
    }

    private enum CodingKeys: String, CodingKey { case mode, target, silenceThreshold }

    /// Decodes a normalizer, checking it as `init(mode:target:silenceThreshold:)` does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mode = try container.decode(Mode.self, forKey: .mode)
        let target = try container.decode(Float.self, forKey: .target)
        let threshold = try container.decode(Float.self, forKey: .silenceThreshold)
        do {
            try self.init(mode: mode, target: target, silenceThreshold: threshold)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .target, in: container, debugDescription: error.description)
        }
    }

    /// The normalized clip with its gain and offset.
    ///
    /// - Throws: `TokenizerError.nonFiniteSample` for the first NaN or infinite sample.
    public func normalize(_ samples: [Float]) throws(TokenizerError) -> Normalized {
        try samples.withUnsafeBufferPointer { x throws(TokenizerError) in
            if let bad = firstNonFinite(x) { throw .nonFiniteSample(index: bad, value: x[bad]) }
        }
        let n = Double(max(samples.count, 1))
        var offset = 0.0
        var scale = 1.0
        switch mode {
        case .none:
            return Normalized(samples: samples, gain: 1, offset: 0)
        case .peak:
            scale = Double(samples.reduce(Float(0)) { max($0, abs($1)) })
        case .rms:
            scale = (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / n).squareRoot()
        case .standardize:
            offset = samples.reduce(0.0) { $0 + Double($1) } / n
            let m = offset
            scale = (samples.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / n).squareRoot()
        }
        let gain = scale < Double(silenceThreshold) ? 1 : Double(target) / scale
        let g = Float(gain)
        let o = Float(offset)
        return Normalized(samples: samples.map { ($0 - o) * g }, gain: g, offset: o)
    }

    /// The inverse of `normalize`: `y / gain + offset` for each sample (for generated continuous audio, with the
    /// gain and offset of the clip that primed it).
    public static func restore(_ samples: [Float], gain: Float, offset: Float) -> [Float] {
        samples.map { $0 / gain + offset }
    }
}
