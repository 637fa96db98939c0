// What the two audio tokenizers share: samples in, one token id per sample out, and the inverse for generation.

/// A per-sample audio quantizer: Float samples (nominally in [-1, 1]) to token ids in `0..<levels`, and back.
///
/// `MuLawTokenizer` and `LinearTokenizer` conform. Continuous models skip quantization and use `AudioNormalizer`.
public protocol AudioQuantizer: Sendable {
    /// The number of token ids, `0..<levels`.
    var levels: Int { get }

    /// One token id per sample. Samples beyond ±1 saturate to the first or last level.
    ///
    /// - Throws: `TokenizerError.nonFiniteSample` for the first NaN or infinite sample.
    func encode(_ samples: [Float]) throws(TokenizerError) -> [Int32]

    /// The sample each token id stands for (the centre of its level).
    ///
    /// - Throws: `TokenizerError.tokenOutOfRange` for the first id outside `0..<levels`.
    func decode(_ tokens: [Int32]) throws(TokenizerError) -> [Float]
}

extension AudioQuantizer {
    /// The sample values of the levels, `levelValues[q]` for token q: what `decode` returns.
    func decodeWithTable(_ tokens: [Int32], table: [Float]) throws(TokenizerError) -> [Float] {
        let n = table.count
        var firstBad = -1
        let samples = table.withUnsafeBufferPointer { t in
            tokens.withUnsafeBufferPointer { ids in
                [Float](unsafeUninitializedCapacity: ids.count) { out, written in
                    for i in 0..<ids.count {
                        let q = Int(ids[i])
                        if q >= 0 && q < n {
                            out[i] = t[q]
                        } else {
                            out[i] = 0
                            if firstBad < 0 { firstBad = i }
                        }
                    }
                    written = ids.count
                }
            }
        }
        if firstBad >= 0 {
            throw .tokenOutOfRange(index: firstBad, token: tokens[firstBad], vocabularySize: n)
        }
        return samples
    }
}

/// Checks a level count: 2 to 65536 (16-bit audio has no more distinct values).
func validateLevels(_ levels: Int, for name: String) throws(TokenizerError) {
    guard levels >= 2 && levels <= 65536 else {
        throw .invalidArgument("\(name) needs 2...65536 levels, got \(levels)")
    }
}

/// The index of the first non-finite sample, or nil.
func firstNonFinite(_ samples: UnsafeBufferPointer<Float>) -> Int? {
    // NaN and ±inf are the values whose exponent bits are all ones: an integer test the loop can vectorise.
    var found: UInt32 = 0
    for x in samples { found |= (x.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0 }
    guard found != 0 else { return nil }
    return samples.firstIndex { !$0.isFinite }
}
