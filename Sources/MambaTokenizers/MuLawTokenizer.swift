// μ-law companding and 8-bit quantization, as WaveNet (van den Oord et al. 2016, §2.2) and SaShiMi (Goel et al.
// 2022) tokenize audio, in the convention of torchaudio's mu_law_encoding / mu_law_decoding:
//
//   F(x)   = sign(x) · ln(1 + μ|x|) / ln(1 + μ)                 x in [-1, 1], μ = levels − 1 (255)
//   q(x)   = floor((F(x) + 1) / 2 · μ + 0.5)                     token in 0...μ
//   x̂(q)   = sign(y) · ((1 + μ)^|y| − 1) / μ,  y = 2q/μ − 1      the centre of bin q in the companded domain
//
// Encoding compares x against the 255 bin edges in x (the points where q steps, F⁻¹ of the companded edges, computed
// in Double and rounded up to the next Float), so the result is the closed formula evaluated exactly, not a Float
// log1p that can land on the other side of an edge. The decoder is a 256-entry table of x̂(q).
// Deviation: state-spaces/s4's SaShiMi loader min-max scales every clip to [-1, 1] inside mu_law_encode and
// dequantizes to q/128 − 1 (the lower edge, not the centre). Here scaling is a separate, explicit step
// (`AudioNormalizer` with `.peak`), and decoding returns the bin centre.

import Foundation

/// μ-law tokenizer: Float samples in [-1, 1] to token ids 0...255 (μ = 255) and back.
///
/// Quiet samples get fine steps and loud ones coarse: for |x| ≤ 1 the reconstruction error is at most
/// `(|x| + 1/μ) · ((1 + μ)^(1/μ) − 1)` (half a bin in the companded domain, mapped back), 8.6e-5 at silence and
/// 0.022 at full scale for μ = 255. With μ odd no bin straddles 0: token 128 holds [0, 1.7e-4) and token 127 the
/// mirror below, so silence decodes to ±8.6e-5, not 0.
public struct MuLawTokenizer: AudioQuantizer, Equatable {
    /// The number of token ids (256 by default).
    public let levels: Int
    /// μ = levels − 1.
    public var mu: Int { levels - 1 }
    /// `edges[k - 1]` is the smallest Float x with q(x) ≥ k, for k in 1...μ (ascending).
    private let edges: [Float]
    /// `centres[q]` = x̂(q), the decoded value of token q.
    private let centres: [Float]

    /// A μ-law tokenizer with `levels` token ids (2...65536; WaveNet and SaShiMi use 256).
    ///
    /// - Throws: `TokenizerError.invalidArgument` for a level count outside 2...65536.
    public init(levels: Int = 256) throws(TokenizerError) {
        try validateLevels(levels, for: "a mu-law tokenizer")
        self.levels = levels
        let mu = Double(levels - 1)
        func expand(_ y: Double) -> Double {
            let magnitude = (Foundation.pow(1 + mu, abs(y)) - 1) / mu
            return y < 0 ? -magnitude : magnitude
        }
        edges = (1..<levels).map { k in
            // q steps to k where (F(x) + 1) / 2 · μ + 0.5 = k, i.e. F(x) = (2k − 1)/μ − 1.
            let x = expand((2 * Double(k) - 1) / mu - 1)
            let rounded = Float(x)
            return Double(rounded) < x ? rounded.nextUp : rounded
        }
        centres = (0..<levels).map { q in Float(expand(2 * Double(q) / mu - 1)) }
    }

    /// One token per sample; samples beyond ±1 saturate to 0 or μ.
    ///
    /// - Throws: `TokenizerError.nonFiniteSample` for the first NaN or infinite sample.
    public func encode(_ samples: [Float]) throws(TokenizerError) -> [Int32] {
        try samples.withUnsafeBufferPointer { x throws(TokenizerError) in
            if let bad = firstNonFinite(x) { throw .nonFiniteSample(index: bad, value: x[bad]) }
            return edges.withUnsafeBufferPointer { e in
                [Int32](unsafeUninitializedCapacity: x.count) { out, written in
                    // Eight searches side by side: each is a chain of dependent loads, so interleaving them lets
                    // the loads overlap (the step sizes depend only on the edge count, the same for all eight).
                    var i = 0
                    while i + 8 <= x.count {
                        Self.countAtOrBelow8(x.baseAddress! + i, edges: e, into: out.baseAddress! + i)
                        i += 8
                    }
                    while i < x.count {
                        out[i] = Int32(Self.countAtOrBelow(x[i], edges: e))
                        i += 1
                    }
                    written = x.count
                }
            }
        }
    }

    /// The bin-centre sample of each token, x̂(q).
    ///
    /// - Throws: `TokenizerError.tokenOutOfRange` for the first id outside 0...μ.
    public func decode(_ tokens: [Int32]) throws(TokenizerError) -> [Float] {
        try decodeWithTable(tokens, table: centres)
    }

    /// `countAtOrBelow` for the eight samples at `x`, written to `out`.
    @inline(__always)
    static func countAtOrBelow8(_ x: UnsafePointer<Float>, edges e: UnsafeBufferPointer<Float>,
                                into out: UnsafeMutablePointer<Int32>) {
        var base = (0, 0, 0, 0, 0, 0, 0, 0)
        // + 0 turns −0 into +0 (see `atOrBelowMask`).
        let v = (x[0] + 0, x[1] + 0, x[2] + 0, x[3] + 0, x[4] + 0, x[5] + 0, x[6] + 0, x[7] + 0)
        var n = e.count
        while n > 1 {
            let half = n / 2
            base.0 &+= half & atOrBelowMask(e[base.0 &+ half], v.0)
            base.1 &+= half & atOrBelowMask(e[base.1 &+ half], v.1)
            base.2 &+= half & atOrBelowMask(e[base.2 &+ half], v.2)
            base.3 &+= half & atOrBelowMask(e[base.3 &+ half], v.3)
            base.4 &+= half & atOrBelowMask(e[base.4 &+ half], v.4)
            base.5 &+= half & atOrBelowMask(e[base.5 &+ half], v.5)
            base.6 &+= half & atOrBelowMask(e[base.6 &+ half], v.6)
            base.7 &+= half & atOrBelowMask(e[base.7 &+ half], v.7)
            n -= half
        }
        out[0] = Int32(truncatingIfNeeded: base.0 &- atOrBelowMask(e[base.0], v.0))
        out[1] = Int32(truncatingIfNeeded: base.1 &- atOrBelowMask(e[base.1], v.1))
        out[2] = Int32(truncatingIfNeeded: base.2 &- atOrBelowMask(e[base.2], v.2))
        out[3] = Int32(truncatingIfNeeded: base.3 &- atOrBelowMask(e[base.3], v.3))
        out[4] = Int32(truncatingIfNeeded: base.4 &- atOrBelowMask(e[base.4], v.4))
        out[5] = Int32(truncatingIfNeeded: base.5 &- atOrBelowMask(e[base.5], v.5))
        out[6] = Int32(truncatingIfNeeded: base.6 &- atOrBelowMask(e[base.6], v.6))
        out[7] = Int32(truncatingIfNeeded: base.7 &- atOrBelowMask(e[base.7], v.7))
    }

    /// The number of edges `e[k]` with `e[k] <= x`, by a branch-free binary search: the steps depend only on the
    /// edge count, and each adds `half` under a mask (`atOrBelowMask`). Written with masks because LLVM compiled
    /// `cond ? base + half : base` (and `half & -cond`) to jumps, which mispredict half the time (measured with
    /// Benchmarks/TokenizerThroughput: 55-78 ns a sample that way, 13 ns with masks, eight searches interleaved).
    @inline(__always)
    static func countAtOrBelow(_ x: Float, edges e: UnsafeBufferPointer<Float>) -> Int {
        let v = x + 0
        var base = 0
        var n = e.count
        while n > 1 {
            let half = n / 2
            base &+= half & atOrBelowMask(e[base &+ half], v)
            n -= half
        }
        return base &- atOrBelowMask(e[base], v)
    }

    /// −1 (all bits set) when `edge <= x`, else 0, from the sign bit of x − edge: for finite floats x − edge is
    /// +0 when they are equal and has the sign of the difference otherwise (no underflow to zero, IEEE 754 gradual
    /// underflow). x must not be −0 (−0 − +0 is −0, which would read as below an edge at 0): callers add +0 first.
    @inline(__always)
    static func atOrBelowMask(_ edge: Float, _ x: Float) -> Int {
        Int(truncatingIfNeeded: (x - edge).bitPattern >> 31) &- 1
    }
}
