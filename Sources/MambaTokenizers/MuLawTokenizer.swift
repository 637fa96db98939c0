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
/// mirror below, so silence decodes to ±8.5e-5, not 0.
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
                    for i in 0..<x.count { out[i] = Int32(Self.countAtOrBelow(x[i], edges: e)) }
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

    /// The number of edges `e[k]` with `e[k] <= x`, by a branch-free binary search (the loop depends only on the
    /// edge count, and the data choice is a conditional move).
    @inline(__always)
    static func countAtOrBelow(_ x: Float, edges e: UnsafeBufferPointer<Float>) -> Int {
        var base = 0
        var n = e.count
        while n > 1 {
            let half = n / 2
            base = e[base + half] <= x ? base + half : base
            n -= half
        }
        return base + (e[base] <= x ? 1 : 0)
    }
}
