// The rate-aware audio front end: a learned filter bank whose kernels are defined in TIME, energies pooled over
// frames defined in time, then a learned linear encoder to d_model. It maps a waveform at any sample rate r to the
// same sequence of frames (one every `hop / trainedRate` seconds), so the Mamba backbone after it always runs at one
// frame rate and its Δ needs no scaling (the trained-rate / r factor is applied here, where the samples are).
//
// Glossary: r0 = trained rate (Hz), r = input rate, ρ = r0 / r, K = taps at r0, C = channels, D = d_model,
// n = samples of a clip, F = frames, J = taps at r.
//
//   Kernel in time:  w_c(τ), τ in [0, (K − 1) / r0], the piecewise-linear interpolation of the learned taps
//                    W[c, j] = w_c(j / r0). At rate r its taps are Wr[c, j] = ρ · w_c(j / r), j = 0 ..< J,
//                    J = floor((K − 1) / ρ) + 1 (ρ is dt / dt0: the Riemann sum of ∫ w(τ) x(t − τ) dτ keeps its scale).
//   Filter:          s[i, c] = Σ_j Wr[c, j] · x[i − j]   (causal; x[< 0] = 0)     {n, C} = X {n, J} · Wrᵀ {J, C}
//   Frames:          frame k covers the times [k·H / r0, (k·H + W) / r0): samples a_k = ceil(k·H·r / r0) ..<
//                    b_k = ceil((k·H + W)·r / r0); F = floor((n·r0 − W·r) / (H·r)) + 1 (at least 1; clips shorter
//                    than one window give one frame over all samples).
//   Energy:          e[k, c] = mean over i in frame k of s[i, c]²   (a mean: the sample count does not matter)
//   Features:        f[k, c] = (log(e[k, c] + ε) − shift) / scale     (fixed affine, keeps the encoder's input O(1))
//                    with normalize_features: f[k, c] −= mean over the clip's frames of f[·, c]  (count-invariant)
//   Encoder:         h[k] = P · f[k] + bias                            {F, C} · Pᵀ {C, D} => {F, D}
//
// At r = r0, ρ = 1, every interpolation lands on a tap (Wr = W) and every frame boundary on a sample: the front end is
// then exactly a plain strided filter bank in samples (tested). With rate scaling off, the front end is told r = r0
// whatever the input's rate, i.e. the kernel and frames are counted in samples (the naive model, for comparison).
//
// Backward (given dh {F, D}):  dP += dhᵀ f; dbias += Σ_k dh[k]; df = dh P; de = df / (scale · (e + ε));
//   ds[i, c] = 2 s[i, c] Σ_{k ∋ i} de[k, c] / |frame k|;  dWr = dsᵀ X {C, J};  dW[c, ⌊jρ⌋] += ρ (1 − φ) dWr[c, j],
//   dW[c, ⌊jρ⌋ + 1] += ρ φ dWr[c, j] (φ = jρ − ⌊jρ⌋).
// X is never materialised for the whole clip: the GEMMs run over blocks of `blockRows` samples.
import Foundation
import MambaTensor

/// The settings of a `RateAwareFrontEnd` (stored in a model's config.json under `audio_front_end`).
public struct FrontEndSettings: Codable, Sendable, Equatable {
    /// The sample rate (Hz) the taps and frame lengths are counted at (the trained rate).
    public var trainedRate: Int
    /// Filter taps at the trained rate (K).
    public var taps: Int
    /// Filter channels (C).
    public var channels: Int
    /// Frame (energy window) length in samples at the trained rate.
    public var window: Int
    /// Frame hop in samples at the trained rate.
    public var hop: Int
    /// Output width (the backbone's d_model).
    public var outputs: Int
    /// The energy floor ε inside the log.
    public var epsilon: Double = 1e-8
    /// The fixed shift subtracted from log-energies.
    public var logShift: Double = -12
    /// The fixed scale log-energies are divided by.
    public var logScale: Double = 4
    /// Lowest centre frequency (Hz) of the initial filters.
    public var minFrequency: Double = 60
    /// Highest centre frequency (Hz) of the initial filters (below the Nyquist frequency of the lowest rate served).
    public var maxFrequency: Double = 3800
    /// Per-clip feature normalisation: subtract each channel's mean over the clip's frames (cepstral mean
    /// normalisation on log-energies; a mean over frames, so it does not depend on the sample count).
    public var normalizeFeatures: Bool = false

    /// Settings.
    public init(trainedRate: Int, taps: Int, channels: Int, window: Int, hop: Int, outputs: Int) {
        self.trainedRate = trainedRate
        self.taps = taps
        self.channels = channels
        self.window = window
        self.hop = hop
        self.outputs = outputs
    }

    enum CodingKeys: String, CodingKey {
        case trainedRate = "trained_rate", taps, channels, window, hop, outputs, epsilon
        case logShift = "log_shift", logScale = "log_scale", minFrequency = "min_frequency"
        case maxFrequency = "max_frequency", normalizeFeatures = "normalize_features"
    }

    /// Decodes, with defaults for the keys a file lacks.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainedRate = try c.decode(Int.self, forKey: .trainedRate)
        taps = try c.decode(Int.self, forKey: .taps)
        channels = try c.decode(Int.self, forKey: .channels)
        window = try c.decode(Int.self, forKey: .window)
        hop = try c.decode(Int.self, forKey: .hop)
        outputs = try c.decode(Int.self, forKey: .outputs)
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? epsilon
        logShift = try c.decodeIfPresent(Double.self, forKey: .logShift) ?? logShift
        logScale = try c.decodeIfPresent(Double.self, forKey: .logScale) ?? logScale
        minFrequency = try c.decodeIfPresent(Double.self, forKey: .minFrequency) ?? minFrequency
        maxFrequency = try c.decodeIfPresent(Double.self, forKey: .maxFrequency) ?? maxFrequency
        normalizeFeatures = try c.decodeIfPresent(Bool.self, forKey: .normalizeFeatures) ?? false
    }

    /// Throws `AudioModelError.settings` unless every size is positive and the frequencies are ordered.
    public func validate() throws {
        for (name, value) in [("trained_rate", trainedRate), ("taps", taps), ("channels", channels),
                              ("window", window), ("hop", hop), ("outputs", outputs)] where value < 1 {
            throw AudioModelError.settings("audio_front_end.\(name): expected a positive integer, found \(value)")
        }
        guard epsilon > 0, logScale > 0, minFrequency > 0, maxFrequency > minFrequency else {
            throw AudioModelError.settings("audio_front_end: expected epsilon > 0, log_scale > 0, 0 < min_frequency < max_frequency, found \(epsilon), \(logScale), \(minFrequency), \(maxFrequency)")
        }
    }

    /// The number of parameters: filters (C·K), projection (D·C), bias (D).
    public var parameterCount: Int { channels * taps + outputs * channels + outputs }
    /// Offset of the filters (C, K) in the front end's parameters.
    public var filtersOffset: Int { 0 }
    /// Offset of the projection (D, C).
    public var projectionOffset: Int { channels * taps }
    /// Offset of the bias (D).
    public var biasOffset: Int { channels * taps + outputs * channels }

    /// The number of frames of `samples` samples at `rate` Hz (see the file header); at least 1.
    public func frameCount(samples: Int, rate: Int) -> Int {
        let r0 = trainedRate
        let numerator = samples * r0 - window * rate
        guard numerator >= 0 else { return 1 }
        return numerator / (hop * rate) + 1
    }

    /// Sample range [a, b) of frame `k` of a clip of `samples` samples at `rate`.
    public func frameRange(_ k: Int, samples: Int, rate: Int) -> Range<Int> {
        let r0 = trainedRate
        let a = (k * hop * rate + r0 - 1) / r0
        let b = ((k * hop + window) * rate + r0 - 1) / r0
        let lower = min(a, max(samples - 1, 0)), upper = max(min(b, samples), lower + 1)
        return lower..<upper
    }
}

/// An error of the audio models: bad settings, bad input, a bad model folder.
public enum AudioModelError: Error, CustomStringConvertible, Equatable {
    /// Settings out of range.
    case settings(String)
    /// Input that does not fit the model.
    case input(String)
    /// A model folder that cannot be used.
    case model(String)

    /// One line.
    public var description: String {
        switch self {
        case .settings(let text): return "audio model settings: \(text)"
        case .input(let text): return "audio input: \(text)"
        case .model(let text): return "audio model: \(text)"
        }
    }
}

/// A training-time mask over one clip's features (SpecAugment, Park et al. 2019, on the front end's log-energies):
/// every frame's features in a band of filter channels, and every channel's features in a span of frames, are set
/// to zero after the per-clip mean normalisation (i.e. to the clip's mean when that is on). The span is given as
/// fractions of the clip, so it covers the same stretch of time at any rate.
public struct FeatureMask: Sendable, Equatable {
    /// Masked filter channels (may be empty).
    public var channels: Range<Int>
    /// Start of the masked span, as a fraction of the clip's frames in [0, 1].
    public var start: Double
    /// Length of the masked span, as a fraction of the clip's frames in [0, 1] (0: no time mask).
    public var length: Double

    /// A mask.
    public init(channels: Range<Int>, start: Double, length: Double) {
        self.channels = channels
        self.start = start
        self.length = length
    }

    /// The masked frames of a clip of `frames` frames: [⌊start·F⌋, ⌊start·F⌋ + ⌊length·F⌋) clipped to the clip,
    /// never all of them.
    public func frameRange(frames: Int) -> Range<Int> {
        let first = min(max(0, Int(start * Double(frames))), frames)
        let count = min(max(0, Int(length * Double(frames))), frames - 1)
        return first..<min(frames, first + count)
    }
}

/// What the front end keeps of one clip's forward for its backward.
public struct FrontEndActivations: Sendable {
    /// The clip's samples.
    public var samples: [Float]
    /// The rate the clip was processed at (r0 when rate scaling is off).
    public var rate: Int
    /// Filter outputs s {n, C}.
    public var filtered: [Float]
    /// Frame energies e {F, C}.
    public var energies: [Float]
    /// Features f {F, C}.
    public var features: [Float]
    /// Frames F.
    public var frames: Int
    /// The feature mask applied in the forward, if any.
    public var mask: FeatureMask? = nil
}

/// The rate-aware front end (see the file header). Stateless: the parameters are passed in.
public struct RateAwareFrontEnd: Sendable {
    /// The settings.
    public let settings: FrontEndSettings
    /// Samples per GEMM block (bounds the im2col scratch to blockRows · J floats).
    public var blockRows = 2048

    /// A front end.
    public init(settings: FrontEndSettings) throws {
        try settings.validate()
        self.settings = settings
    }

    /// Writes initial parameters: filters are Hann-windowed cosines at mel-spaced centre frequencies between
    /// min_frequency and max_frequency, scaled to unit gain at their centre (a learnable mel filter bank); the
    /// projection is uniform ±1/√C (as a linear layer's default), the bias zero.
    public func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout Xoshiro256StarStar) {
        let s = settings, k = s.taps, c = s.channels
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        func hertz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
        let low = mel(s.minFrequency), high = mel(s.maxFrequency)
        for channel in 0..<c {
            let centre = hertz(low + (high - low) * Double(channel) / Double(max(c - 1, 1)))
            var window = [Double](repeating: 0, count: k)
            for j in 0..<k { window[j] = 0.5 - 0.5 * cos(2 * Double.pi * (Double(j) + 0.5) / Double(k)) }
            let gain = window.reduce(0, +) / 2
            for j in 0..<k {
                let value = window[j] * cos(2 * Double.pi * centre * Double(j) / Double(s.trainedRate)) / gain
                parameters[s.filtersOffset + channel * k + j] = Float(value)
            }
        }
        let bound = Float(1 / Double(c).squareRoot())
        for i in 0..<(s.outputs * c) {
            parameters[s.projectionOffset + i] = (generator.nextUniform() * 2 - 1) * bound
        }
        for i in 0..<s.outputs { parameters[s.biasOffset + i] = 0 }
    }

    /// ρ = r0 / rate and the taps at `rate`: J and, per tap, the lower interpolation index and weight φ.
    func interpolation(rate: Int) -> (rho: Double, lower: [Int], phi: [Float]) {
        let r0 = settings.trainedRate, k = settings.taps
        let rho = Double(r0) / Double(rate)
        // J = floor((K − 1) · r / r0) + 1, exactly in integers.
        let count = (k - 1) * rate / r0 + 1
        var lower = [Int](repeating: 0, count: count), phi = [Float](repeating: 0, count: count)
        for j in 0..<count {
            // p = j · r0 / rate as an exact fraction: floor and remainder in integers.
            let whole = (j * r0) / rate, remainder = (j * r0) % rate
            lower[j] = whole
            phi[j] = Float(Double(remainder) / Double(rate))
        }
        return (rho, lower, phi)
    }

    /// The taps at `rate`, {C, J}.
    func resampledFilters(_ parameters: UnsafePointer<Float>, rate: Int) -> (filters: [Float], taps: Int) {
        let (rho, lower, phi) = interpolation(rate: rate)
        let c = settings.channels, k = settings.taps, count = lower.count
        var out = [Float](repeating: 0, count: c * count)
        let w = parameters + settings.filtersOffset
        for channel in 0..<c {
            for j in 0..<count {
                let i0 = lower[j], f = phi[j]
                var value = (1 - f) * w[channel * k + i0]
                if f != 0 && i0 + 1 < k { value += f * w[channel * k + i0 + 1] }
                out[channel * count + j] = Float(rho) * value
            }
        }
        return (out, count)
    }

    /// Fills rows [start, start + rows) of the causal im2col matrix X[i, j] = x[i − j] {rows, J}.
    private func im2col(_ x: UnsafePointer<Float>, start: Int, rows: Int, taps: Int, into m: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            let i = start + row
            let line = m + row * taps
            let valid = min(taps, i + 1)
            for j in 0..<valid { line[j] = x[i - j] }
            for j in valid..<taps { line[j] = 0 }
        }
    }

    /// The forward of one clip: writes F frames {F, D} into `output` (rows of stride D) and returns the activations.
    /// `rate` is the clip's rate; with `rateScaling` false the front end treats it as the trained rate. `mask`
    /// (training only) zeroes a band of channels and a span of frames of the features.
    public func forward(_ parameters: UnsafePointer<Float>, samples: [Float], rate: Int, rateScaling: Bool = true,
                        mask: FeatureMask? = nil, output: UnsafeMutablePointer<Float>) throws -> FrontEndActivations {
        if let mask, mask.channels.lowerBound < 0 || mask.channels.upperBound > settings.channels {
            throw AudioModelError.input("feature mask: expected channels within 0..<\(settings.channels), found \(mask.channels)")
        }
        guard rate > 0 else { throw AudioModelError.input("expected a positive sample rate, found \(rate)") }
        guard !samples.isEmpty else { throw AudioModelError.input("expected at least one sample, found an empty clip") }
        let s = settings, c = s.channels, d = s.outputs, n = samples.count
        let effective = rateScaling ? rate : s.trainedRate
        let (filters, taps) = resampledFilters(parameters, rate: effective)
        var filtered = [Float](repeating: 0, count: n * c)
        let block = min(blockRows, n)
        var scratch = [Float](repeating: 0, count: block * taps)
        samples.withUnsafeBufferPointer { x in
            filters.withUnsafeBufferPointer { wr in
                filtered.withUnsafeMutableBufferPointer { out in
                    scratch.withUnsafeMutableBufferPointer { m in
                        for start in stride(from: 0, to: n, by: block) {
                            let rows = min(block, n - start)
                            im2col(x.baseAddress!, start: start, rows: rows, taps: taps, into: m.baseAddress!)
                            // {rows, J} @ {J, C} => s rows
                            BLAS.gemm(transA: false, transB: true, m: rows, n: c, k: taps, alpha: 1,
                                      a: m.baseAddress!, lda: taps, b: wr.baseAddress!, ldb: taps, beta: 0,
                                      c: out.baseAddress! + start * c, ldc: c)
                        }
                    }
                }
            }
        }
        let frames = s.frameCount(samples: n, rate: effective)
        var energies = [Float](repeating: 0, count: frames * c)
        var features = [Float](repeating: 0, count: frames * c)
        let shift = s.logShift, scale = s.logScale
        for k in 0..<frames {
            let range = s.frameRange(k, samples: n, rate: effective)
            var sums = [Double](repeating: 0, count: c)
            for i in range {
                for ch in 0..<c {
                    let v = Double(filtered[i * c + ch])
                    sums[ch] += v * v
                }
            }
            for ch in 0..<c {
                let e = sums[ch] / Double(range.count)
                energies[k * c + ch] = Float(e)
                features[k * c + ch] = Float((Foundation.log(e + s.epsilon) - shift) / scale)
            }
        }
        if s.normalizeFeatures {
            // f[k, c] −= mean_k f[k, c]
            for ch in 0..<c {
                var mean = 0.0
                for k in 0..<frames { mean += Double(features[k * c + ch]) }
                let m = Float(mean / Double(frames))
                for k in 0..<frames { features[k * c + ch] -= m }
            }
        }
        if let mask {
            for k in 0..<frames { for ch in mask.channels { features[k * c + ch] = 0 } }
            for k in mask.frameRange(frames: frames) { for ch in 0..<c { features[k * c + ch] = 0 } }
        }
        // {F, C} @ {C, D} + bias => h
        features.withUnsafeBufferPointer { f in
            BLAS.gemm(transA: false, transB: true, m: frames, n: d, k: c, alpha: 1, a: f.baseAddress!, lda: c,
                      b: parameters + s.projectionOffset, ldb: c, beta: 0, c: output, ldc: d)
        }
        for k in 0..<frames {
            for o in 0..<d { output[k * d + o] += parameters[s.biasOffset + o] }
        }
        return FrontEndActivations(samples: samples, rate: effective, filtered: filtered, energies: energies,
                                   features: features, frames: frames, mask: mask)
    }

    /// The backward of one clip: ADDS d(loss)/d(parameters) into `gradients` (laid out as the front end's
    /// parameters), given dh {F, D} (rows of stride D). With `filterGradients` false the filters' gradient is left
    /// untouched and not computed (the filters are frozen): only the projection and bias receive gradients, which
    /// skips the per-sample half of the backward (ds {n, C} and the {C, n} @ {n, J} product).
    public func backward(_ parameters: UnsafePointer<Float>, activations a: FrontEndActivations,
                         dOutput: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                         filterGradients: Bool = true) {
        let s = settings, c = s.channels, d = s.outputs, k = s.taps, n = a.samples.count, frames = a.frames
        // dP += dhᵀ f {D, F} @ {F, C};  dbias += Σ dh;  df = dh P {F, D} @ {D, C}
        a.features.withUnsafeBufferPointer { f in
            BLAS.gemm(transA: true, transB: false, m: d, n: c, k: frames, alpha: 1, a: dOutput, lda: d,
                      b: f.baseAddress!, ldb: c, beta: 1, c: gradients + s.projectionOffset, ldc: c)
        }
        for row in 0..<frames {
            for o in 0..<d { gradients[s.biasOffset + o] += dOutput[row * d + o] }
        }
        guard filterGradients else { return }
        var df = [Float](repeating: 0, count: frames * c)
        df.withUnsafeMutableBufferPointer { df in
            BLAS.gemm(transA: false, transB: false, m: frames, n: c, k: d, alpha: 1, a: dOutput, lda: d,
                      b: parameters + s.projectionOffset, ldb: c, beta: 0, c: df.baseAddress!, ldc: c)
        }
        if let mask = a.mask {
            // Masked features are constants: no gradient flows through them.
            for k in 0..<frames { for ch in mask.channels { df[k * c + ch] = 0 } }
            for k in mask.frameRange(frames: frames) { for ch in 0..<c { df[k * c + ch] = 0 } }
        }
        if s.normalizeFeatures {
            // The mean subtraction's adjoint: df −= mean_k df.
            for ch in 0..<c {
                var mean = 0.0
                for k in 0..<frames { mean += Double(df[k * c + ch]) }
                let m = Float(mean / Double(frames))
                for k in 0..<frames { df[k * c + ch] -= m }
            }
        }
        // g[i, c] = Σ_{k ∋ i} de[k, c] / |frame k|, then ds = 2 s g.
        var ds = [Float](repeating: 0, count: n * c)
        for kk in 0..<frames {
            let range = s.frameRange(kk, samples: n, rate: a.rate)
            let inverse = 1 / Double(range.count)
            for ch in 0..<c {
                let de = Double(df[kk * c + ch]) / (s.logScale * (Double(a.energies[kk * c + ch]) + s.epsilon))
                let g = Float(de * inverse)
                for i in range { ds[i * c + ch] += g }
            }
        }
        for i in 0..<(n * c) { ds[i] *= 2 * a.filtered[i] }
        // dWr {C, J} = dsᵀ X, over blocks of samples.
        let (rho, lower, phi) = interpolation(rate: a.rate)
        let taps = lower.count
        var dWr = [Float](repeating: 0, count: c * taps)
        let block = min(blockRows, n)
        var scratch = [Float](repeating: 0, count: block * taps)
        a.samples.withUnsafeBufferPointer { x in
            ds.withUnsafeBufferPointer { ds in
                dWr.withUnsafeMutableBufferPointer { dw in
                    scratch.withUnsafeMutableBufferPointer { m in
                        for start in stride(from: 0, to: n, by: block) {
                            let rows = min(block, n - start)
                            im2col(x.baseAddress!, start: start, rows: rows, taps: taps, into: m.baseAddress!)
                            // {C, rows} @ {rows, J} => dWr (accumulated over blocks)
                            BLAS.gemm(transA: true, transB: false, m: c, n: taps, k: rows, alpha: 1,
                                      a: ds.baseAddress! + start * c, lda: c, b: m.baseAddress!, ldb: taps, beta: 1,
                                      c: dw.baseAddress!, ldc: taps)
                        }
                    }
                }
            }
        }
        let dw = gradients + s.filtersOffset
        for ch in 0..<c {
            for j in 0..<taps {
                let g = Float(rho) * dWr[ch * taps + j]
                let i0 = lower[j], f = phi[j]
                dw[ch * k + i0] += (1 - f) * g
                if f != 0 && i0 + 1 < k { dw[ch * k + i0 + 1] += f * g }
            }
        }
    }
}
