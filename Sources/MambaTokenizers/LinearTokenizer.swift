// Uniform quantization of [-1, 1] into `levels` equal bins (256: 8-bit linear), SaShiMi's "linear" encoding:
//
//   q(x)  = clamp(floor((x + 1) / 2 · L), 0, L − 1)        L = levels; x = 1 joins the top bin
//   x̂(q)  = (2q + 1) / L − 1                                the bin centre
//
// The same bins as state-spaces/s4's linear_encode (up to its ε = 0.01 squeeze). Deviations: that code min-max
// scales each clip first (here `AudioNormalizer`, explicitly) and dequantizes to q / (L/2) − 1, the lower edge of
// the bin, a bias of half a step; here decoding returns the centre. The mid-rise grid has no level at 0: silence
// decodes to ±1/L.
// Exactness: (x + 1) is not exact even in Double when |x| is tiny (x = −1e-45 would round to 1 and land in bin L/2
// instead of L/2 − 1), so the encoder uses q = ⌊(⌊x·L⌋ + L) / 2⌋, which equals ⌊(x + 1)·L/2⌋ for every real x: x·L is
// exact in Double for a Float x (24 + 17 significant bits), and the rest is integer arithmetic.

/// Linear (uniform) tokenizer: Float samples in [-1, 1] to token ids 0...levels−1 and back, error at most 1/levels.
public struct LinearTokenizer: AudioQuantizer, Equatable {
    /// The number of token ids (256 by default: 8-bit).
    public let levels: Int
    /// `centres[q]` = x̂(q).
    private let centres: [Float]

    /// A linear tokenizer with `levels` token ids (2...65536).
    ///
    /// - Throws: `TokenizerError.invalidArgument` for a level count outside 2...65536.
    public init(levels: Int = 256) throws(TokenizerError) {
        try validateLevels(levels, for: "a linear tokenizer")
        self.levels = levels
        centres = (0..<levels).map { q in Float((2 * Double(q) + 1) / Double(levels) - 1) }
    }

    /// One token per sample; samples beyond ±1 saturate to 0 or levels − 1.
    ///
    /// - Throws: `TokenizerError.nonFiniteSample` for the first NaN or infinite sample.
    public func encode(_ samples: [Float]) throws(TokenizerError) -> [Int32] {
        try samples.withUnsafeBufferPointer { x throws(TokenizerError) in
            if let bad = firstNonFinite(x) { throw .nonFiniteSample(index: bad, value: x[bad]) }
            let l = Double(levels)
            let top = Int32(levels - 1)
            return [Int32](unsafeUninitializedCapacity: x.count) { out, written in
                for i in 0..<x.count {
                    // Saturate first, so that ⌊x·L⌋ lies in −L...L and the integer steps cannot overflow.
                    let v = x[i] < -1 ? -1 : (x[i] > 1 ? 1 : x[i])
                    let a = Int32((Double(v) * l).rounded(.down))
                    let q = (a + top + 1) >> 1
                    out[i] = q > top ? top : q
                }
                written = x.count
            }
        }
    }

    /// The bin-centre sample of each token, x̂(q).
    ///
    /// - Throws: `TokenizerError.tokenOutOfRange` for the first id outside 0...levels−1.
    public func decode(_ tokens: [Int32]) throws(TokenizerError) -> [Float] {
        try decodeWithTable(tokens, table: centres)
    }
}
