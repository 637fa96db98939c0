// Induction heads (Mamba paper, section 4.1.2 and appendix E.1.2; the generator of HazyResearch's H3/safari
// synthetics, "generate_induction_head", with one trigger): a sequence of random tokens in which a special token
// appears once, followed by some token; the sequence ends with the special token again, and the model must output
// the token that followed its first occurrence. Trained at length 256; the test is length generalisation: the same
// model at lengths up to 2²⁰ (the paper), here 4,096 and more.
//
//   vocabulary: 0 ... V−2 = ordinary tokens, V−1 = the special (trigger) token        (paper: V = 16)
//   ids:        uniform ordinary tokens; ids[p] = special for one p in 0 ..< length − 2; ids[length − 1] = special
//   targets:    −1 everywhere except the last position: ids[p + 1]
import Foundation
import MambaTensor

/// The induction heads task.
public struct InductionHeads: SyntheticTask, Equatable {
    /// Tokens per sequence (including the final trigger).
    public let length: Int
    /// V: V − 1 ordinary tokens and the trigger.
    public let vocabularySize: Int

    /// The trigger token.
    public var triggerToken: Int32 { Int32(vocabularySize - 1) }
    /// A short name.
    public var name: String { "induction-heads" }

    /// A task; throws unless vocabularySize >= 3 and length >= 3.
    public init(length: Int, vocabularySize: Int = 16) throws {
        guard vocabularySize >= 3 else {
            throw TrainingError.invalidOption("induction heads: expected a vocabulary of at least 3, found \(vocabularySize)")
        }
        guard length >= 3 else {
            throw TrainingError.invalidOption("induction heads: expected length >= 3 (trigger, answer, final trigger), found \(length)")
        }
        self.length = length
        self.vocabularySize = vocabularySize
    }

    /// One example: the first trigger's position uniform in 0 ..< length − 2, every other token uniform.
    public func example(using generator: inout Xoshiro256StarStar) -> SyntheticExample {
        let ordinary = UInt64(vocabularySize - 1)
        var ids = (0..<length).map { _ in Int32(generator.next(upperBound: ordinary)) }
        let trigger = Int(generator.next(upperBound: UInt64(length - 2)))
        ids[trigger] = triggerToken
        ids[length - 1] = triggerToken
        var targets = [Int32](repeating: -1, count: length)
        targets[length - 1] = ids[trigger + 1]
        return SyntheticExample(ids: ids, targets: targets)
    }

    /// The same task at another length.
    public func withLength(_ length: Int) throws -> InductionHeads {
        try InductionHeads(length: length, vocabularySize: vocabularySize)
    }
}
