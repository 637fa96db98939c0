// The time scale of one pass: a model trained on samples at rate r0 run on samples at rate r (issue 6, item 2).
// ρ = r0 / r, the input's sample period in units of the trained one. Everything in a Mamba block that counts samples
// is rescaled so that it measures time instead:
//   S6:   Δ_t = ρ · softplus(dt_proj(x_t) + dt_proj.bias)        (the scans' deltaScale)
//   S4D:  Δ   = ρ · softplus(dt_bias)                            (per channel, d_inner)
//   conv: the K learned taps are samples, 1/r0 apart, of a continuous kernel c(s) (s = lag in trained periods,
//         piecewise linear between the taps, 0 ≤ s ≤ K − 1). At rate r the kernel is sampled every ρ trained periods
//         and multiplied by ρ, so that Σ_m ρ·c(m·ρ)·x[t − m] is the Riemann sum of the same integral
//         r0 ∫ c(τ·r0) x(t − τ) dτ at either rate. Taps at rate r: J = floor((K − 1) / ρ) + 1 (lags m = 0 ..< J).
// With the convolution's tap layout (weight[e, j] multiplies x[t − (K − 1) + j], so tap j has lag K − 1 − j):
//   w'[e, J − 1 − m] = ρ · ((1 − φ_m) · w[e, K − 1 − i_m] + φ_m · w[e, K − 2 − i_m]),  i_m = ⌊m·ρ⌋, φ_m = m·ρ − i_m
// (the second term only when φ_m > 0). At ρ = 1, J = K, i_m = m, φ_m = 0: w' = w, the plain convolution. This is the
// interpolation RateAwareFrontEnd uses for its filters (Sources/MambaAudioML/RateAwareFrontEnd.swift).
// The head, the norms and the projections see one position per sample and need no change.
import Foundation

/// ρ = trained rate / input rate for one pass of a model, with the resampling plan of its K-tap convolution.
public struct TimeScale: Sendable, Equatable {
    /// ρ = trained rate / input rate (1: the trained rate, the plain Mamba block).
    public let ratio: Double
    /// K, the learned taps (the configuration's conv_kernel).
    public let trainedKernel: Int
    /// J, the taps at the input rate: floor((K − 1) / ρ) + 1.
    public let kernel: Int
    /// Per lag m (0 ..< J): i_m = ⌊m·ρ⌋ (the lower learned lag).
    public let lowerLag: [Int]
    /// Per lag m: φ_m = m·ρ − i_m in [0, 1) (the weight of the next learned lag).
    public let fraction: [Double]

    /// The most taps a time scale may give (ρ >= (K − 1) / 4095).
    public static let maximumKernel = 4096

    /// The time scale ρ = `ratio` for a model whose convolution has `trainedKernel` taps. Throws a `ModelInputError`
    /// unless ρ is positive and finite and J stays at most `maximumKernel`.
    public init(ratio: Double, trainedKernel: Int) throws {
        guard ratio.isFinite, ratio > 0 else {
            throw ModelInputError("expected a time scale (trained rate / input rate) that is positive and finite, found \(ratio)")
        }
        guard trainedKernel >= 1 else {
            throw ModelInputError("expected a convolution of at least 1 tap, found \(trainedKernel)")
        }
        let span = Double(trainedKernel - 1) / ratio
        guard span < Double(Self.maximumKernel) else {
            throw ModelInputError("time scale \(ratio): the \(trainedKernel)-tap convolution would need \(Int(min(span, 1e12)) + 1) taps at the input rate, more than \(Self.maximumKernel)")
        }
        self.ratio = ratio
        self.trainedKernel = trainedKernel
        // A lag that lands on a learned tap up to rounding (m·ρ = 3 computed as 2.9999999999) counts as landing on it.
        let tolerance = 1e-9
        kernel = Int((span + tolerance).rounded(.down)) + 1
        var lower = [Int](repeating: 0, count: kernel), fraction = [Double](repeating: 0, count: kernel)
        for m in 0..<kernel {
            var position = Double(m) * ratio
            let nearest = position.rounded()
            if abs(position - nearest) < tolerance * max(1, nearest) { position = nearest }
            let i = min(Int(position.rounded(.down)), trainedKernel - 1)
            lower[m] = i
            fraction[m] = i == trainedKernel - 1 ? 0 : position - Double(i)
        }
        lowerLag = lower
        self.fraction = fraction
    }

    /// ρ = 1 for a `trainedKernel`-tap convolution.
    public static func identity(trainedKernel: Int) -> TimeScale {
        // ρ = 1 and K >= 1 never throw.
        try! TimeScale(ratio: 1, trainedKernel: trainedKernel)
    }

    /// ρ = trainedRate / inputRate.
    public init(trainedRate: Int, inputRate: Int, trainedKernel: Int) throws {
        guard trainedRate > 0, inputRate > 0 else {
            throw ModelInputError("expected positive sample rates, found trained \(trainedRate) Hz, input \(inputRate) Hz")
        }
        try self.init(ratio: Double(trainedRate) / Double(inputRate), trainedKernel: trainedKernel)
    }

    /// True at ρ = 1: the pass is exactly the plain Mamba block (no resampling, Δ unscaled).
    public var isIdentity: Bool { ratio == 1 }

    /// ρ as the scans' deltaScale.
    public var deltaScale: Float { Float(ratio) }
}
