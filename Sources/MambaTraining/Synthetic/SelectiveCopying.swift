// Selective copying (Mamba paper, section 3.1 Figure 2 and appendix E.1.1), the "variable" copying task of
// state-spaces/s4's src/dataloaders/datasets/copying.py: `memorized` data tokens placed at random, sorted positions
// among noise tokens, then `memorized` marker tokens; at the j-th marker the model must output the j-th data token.
// Unlike the plain copying task, the spacing varies, so a time-invariant model (S4, S4D) cannot solve it by a fixed
// delay: it must decide from content what to keep.
//
//   vocabulary: 0 = noise, 1 ... V−2 = data, V−1 = marker             (paper: V = 16 including noise)
//   ids:        [ region of length − M positions: noise with M data tokens at random sorted positions | M markers ]
//   targets:    −1 over the region; at marker j: the j-th data token
//
// The paper trains at length 4096 with M = 16; the CPU default is shorter (see `mambakit synthetic`).
import Foundation
import MambaTensor

/// The selective copying task.
public struct SelectiveCopying: SyntheticTask, Equatable {
    /// Tokens per sequence (region + markers).
    public let length: Int
    /// Data tokens to copy (M).
    public let memorized: Int
    /// V: noise, V − 2 data values, marker.
    public let vocabularySize: Int

    /// The noise token.
    public var noiseToken: Int32 { 0 }
    /// The marker token.
    public var markerToken: Int32 { Int32(vocabularySize - 1) }
    /// A short name.
    public var name: String { "selective-copying" }

    /// A task; throws unless vocabularySize >= 3 and length >= 2 · memorized >= 2.
    public init(length: Int, memorized: Int = 16, vocabularySize: Int = 16) throws {
        guard vocabularySize >= 3 else {
            throw TrainingError.invalidOption("selective copying: expected a vocabulary of at least 3 (noise, data, marker), found \(vocabularySize)")
        }
        guard memorized >= 1, length >= 2 * memorized else {
            throw TrainingError.invalidOption(
                "selective copying: expected length >= 2 × tokens to copy (\(2 * max(1, memorized))) and at least one token to copy, found length \(length), \(memorized) to copy")
        }
        self.length = length
        self.memorized = memorized
        self.vocabularySize = vocabularySize
    }

    /// One example: data tokens uniform in 1...V−2, positions uniform among the region's (without replacement).
    public func example(using generator: inout Xoshiro256StarStar) -> SyntheticExample {
        let region = length - memorized
        var ids = [Int32](repeating: noiseToken, count: length)
        var targets = [Int32](repeating: -1, count: length)
        let data = (0..<memorized).map { _ in Int32(1 + generator.next(upperBound: UInt64(vocabularySize - 2))) }
        let positions = sampleDistinctSorted(memorized, from: region, using: &generator)
        for (token, position) in zip(data, positions) { ids[position] = token }
        for j in 0..<memorized {
            ids[region + j] = markerToken
            targets[region + j] = data[j]
        }
        return SyntheticExample(ids: ids, targets: targets)
    }

    /// The same task at another length.
    public func withLength(_ length: Int) throws -> SelectiveCopying {
        try SelectiveCopying(length: length, memorized: memorized, vocabularySize: vocabularySize)
    }
}
