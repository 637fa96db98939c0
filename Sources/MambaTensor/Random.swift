// Seeded, reproducible random numbers: xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number
// generators", 2018; reference C at prng.di.unimi.it), its state filled from a 64-bit seed with SplitMix64 as the
// authors recommend.
import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny 64-bit generator, used here to expand one seed into the
/// 256-bit state of `Xoshiro256StarStar`.
public struct SplitMix64: RandomNumberGenerator, Codable, Hashable, Sendable {
    /// The running 64-bit counter.
    public var state: UInt64

    /// Starts at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: a fast 64-bit generator with a 256-bit state (period 2²⁵⁶ − 1).
///
/// Deterministic for a seed on every platform. The state is `Codable`: encoding it and decoding later resumes the
/// exact same sequence (training checkpoints rely on this).
public struct Xoshiro256StarStar: RandomNumberGenerator, Codable, Hashable, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four state words (never all zero); `init(state:)` resumes from them.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// A generator whose state is four successive outputs of `SplitMix64(seed:)`.
    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
    }

    /// A generator resuming from four state words as `state` returned them; nil unless there are exactly four and
    /// they are not all zero (the one state xoshiro cannot leave).
    public init?(state words: [UInt64]) {
        guard words.count == 4, words.contains(where: { $0 != 0 }) else { return nil }
        s0 = words[0]; s1 = words[1]; s2 = words[2]; s3 = words[3]
    }

    private enum CodingKeys: String, CodingKey { case s0, s1, s2, s3 }

    /// Decodes the four state words; an all-zero state is rejected as corrupted data.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let words = try [CodingKeys.s0, .s1, .s2, .s3].map { try container.decode(UInt64.self, forKey: $0) }
        guard let generator = Xoshiro256StarStar(state: words) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "Xoshiro256StarStar: expected a state with a non-zero word, found all four zero"))
        }
        self = generator
    }

    /// Encodes the four state words under the keys s0...s3.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(s0, forKey: .s0)
        try container.encode(s1, forKey: .s1)
        try container.encode(s2, forKey: .s2)
        try container.encode(s3, forKey: .s3)
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = Self.rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotateLeft(s3, 45)
        return result
    }

    /// A uniform Float in [0, 1): the top 24 bits of `next()` times 2⁻²⁴ (every value is exactly representable).
    @inlinable
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A uniform Double in [0, 1): the top 53 bits of `next()` times 2⁻⁵³.
    @inlinable
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal Float (mean 0, variance 1) by the Box–Muller transform in Double:
    /// sqrt(−2 ln u₁) · cos(2π u₂) with u₁ in (0, 1], u₂ in [0, 1). Two uniforms per call; the sine partner is
    /// discarded so that the state alone (no cached value) determines the sequence.
    public mutating func nextNormal() -> Float {
        let u1 = 1 - nextUniformDouble()
        let u2 = nextUniformDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    @inlinable
    static func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }
}
