// The synthetic tasks of the Mamba paper (Gu & Dao 2023, section 4.1 and appendix E.1): sequences generated from a
// seeded generator, each with per-position targets where only some positions are scored (the answers).
//
// Conventions: `targets[t]` is the token the model's output at position t must predict (no shift: the marker or
// trigger at position t predicts the answer), a negative value marks a position that is not scored.
import Foundation
import MambaBackbone
import MambaTensor

/// One generated sequence and its targets.
public struct SyntheticExample: Sendable, Equatable {
    /// Token ids, each in 0..<vocabularySize.
    public var ids: [Int32]
    /// Per position: the id the output at that position must predict, or -1 where nothing is scored.
    public var targets: [Int32]
}

/// A task that generates examples of one length from a generator.
public protocol SyntheticTask: Sendable {
    /// Token ids are in 0..<vocabularySize.
    var vocabularySize: Int { get }
    /// Tokens per sequence.
    var length: Int { get }
    /// A short name (for messages and metrics).
    var name: String { get }
    /// Draws one example (advancing `generator`).
    func example(using generator: inout Xoshiro256StarStar) -> SyntheticExample
    /// The same task at another sequence length (for length generalisation tests).
    func withLength(_ length: Int) throws -> Self
}

/// A batch of examples: the ids as a `TokenBatch` and the targets (b, l) row-major.
public struct SyntheticBatch: Sendable, Equatable {
    /// (b, l) ids, all full length.
    public var tokens: TokenBatch
    /// (b, l) targets, -1 where not scored.
    public var targets: [Int32]

    /// `count` examples of `task` drawn in order from `generator`.
    public init<Task: SyntheticTask>(_ task: Task, count: Int, generator: inout Xoshiro256StarStar) {
        var ids: [Int32] = []
        var targets: [Int32] = []
        ids.reserveCapacity(count * task.length)
        targets.reserveCapacity(count * task.length)
        for _ in 0..<count {
            let example = task.example(using: &generator)
            ids += example.ids
            targets += example.targets
        }
        // Sizes are consistent by construction (count >= 1, every example task.length long).
        tokens = try! TokenBatch(ids: ids, batch: count, length: task.length)
        self.targets = targets
    }

    /// The number of scored positions.
    public var scoredCount: Int { targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

/// Draws `count` distinct integers from 0..<range (Floyd's algorithm: `count` draws, no O(range) table), sorted.
func sampleDistinctSorted(_ count: Int, from range: Int, using generator: inout Xoshiro256StarStar) -> [Int] {
    precondition(count <= range, "cannot draw \(count) distinct values from \(range)")
    var chosen = Set<Int>(minimumCapacity: count)
    for j in (range - count)..<range {
        let candidate = Int(generator.next(upperBound: UInt64(j + 1)))
        chosen.insert(chosen.contains(candidate) ? j : candidate)
    }
    return chosen.sorted()
}
