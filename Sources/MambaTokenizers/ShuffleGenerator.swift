// The batcher's random numbers: xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
// 2018; reference C at prng.di.unimi.it) seeded through SplitMix64 as its authors recommend, the same generator and
// seeding as MambaTensor's Xoshiro256StarStar (kept local so that this module needs no tensor code). Bounded
// integers use Lemire's multiply-and-reject method ("Fast random integer generation in an interval", 2019), and
// shuffles are Fisher-Yates from the last element down, so the batches of a seed are the same on every platform and
// Swift version (the standard library's `shuffle(using:)` promises neither).

/// xoshiro256** with a four-word state that can be saved and restored.
struct ShuffleGenerator: Sendable, Equatable {
    private(set) var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The state from four successive SplitMix64 outputs of `seed`.
    init(seed: UInt64) {
        var z = seed
        func splitMix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// Resumes from `state`; nil unless it has four words, not all zero (a state xoshiro never leaves).
    init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    /// The four state words.
    var state: [UInt64] { [s0, s1, s2, s3] }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A uniform integer in `0..<bound` (bound > 0), without modulo bias.
    mutating func next(below bound: UInt64) -> UInt64 {
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// Shuffles `values` in place: for i from the last index down to 1, swap i with a uniform j in 0...i.
    mutating func shuffle(_ values: inout [Int]) {
        var i = values.count - 1
        while i > 0 {
            let j = Int(next(below: UInt64(i + 1)))
            values.swapAt(i, j)
            i -= 1
        }
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
