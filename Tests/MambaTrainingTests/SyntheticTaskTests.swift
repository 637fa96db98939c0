// Properties of the synthetic generators: lengths, token ranges, where the answers are and what they are.
import Foundation
import MambaTensor
import MambaBackbone
import Testing
@testable import MambaTraining

@Suite struct SyntheticTaskTests {
    @Test(arguments: [(length: 64, memorized: 16), (length: 32, memorized: 16), (length: 300, memorized: 5)])
    func selectiveCopyingLayout(length: Int, memorized: Int) throws {
        let task = try SelectiveCopying(length: length, memorized: memorized, vocabularySize: 16)
        var generator = Xoshiro256StarStar(seed: 3)
        let region = length - memorized
        var positionHistogram = [Int](repeating: 0, count: region)
        var valueHistogram = [Int](repeating: 0, count: 16)
        for _ in 0..<400 {
            let example = task.example(using: &generator)
            #expect(example.ids.count == length && example.targets.count == length)
            #expect(example.ids.allSatisfy { 0..<16 ~= $0 })
            // The region holds exactly M data tokens (1...14), the rest is noise; then M markers.
            let dataPositions = (0..<region).filter { example.ids[$0] != 0 }
            #expect(dataPositions.count == memorized)
            #expect(dataPositions.allSatisfy { 1...14 ~= example.ids[$0] })
            #expect(example.ids[region...].allSatisfy { $0 == 15 })
            // Targets: only at the markers, the data tokens in order.
            #expect(example.targets[..<region].allSatisfy { $0 == -1 })
            #expect(Array(example.targets[region...]) == dataPositions.map { example.ids[$0] })
            for p in dataPositions { positionHistogram[p] += 1 }
            for p in dataPositions { valueHistogram[Int(example.ids[p])] += 1 }
        }
        // Random spacing: every region position is used sometimes (not a fixed layout); every data value occurs.
        if region <= 64 { #expect(positionHistogram.allSatisfy { $0 > 0 }) }
        #expect(valueHistogram[1...14].allSatisfy { $0 > 0 })
        #expect(valueHistogram[0] == 0 && valueHistogram[15] == 0)
    }

    @Test func inductionHeadsLayout() throws {
        let task = try InductionHeads(length: 256, vocabularySize: 16)
        var generator = Xoshiro256StarStar(seed: 4)
        var triggerPositions = Set<Int>()
        var answers = Set<Int32>()
        for _ in 0..<500 {
            let example = task.example(using: &generator)
            #expect(example.ids.count == 256 && example.targets.count == 256)
            #expect(example.ids.allSatisfy { 0..<16 ~= $0 })
            let triggers = example.ids.indices.filter { example.ids[$0] == 15 }
            #expect(triggers.count == 2)
            #expect(triggers.last == 255)
            let first = try #require(triggers.first)
            #expect(first < 254)
            #expect(example.targets[..<255].allSatisfy { $0 == -1 })
            #expect(example.targets[255] == example.ids[first + 1])
            #expect(0..<15 ~= example.targets[255])
            triggerPositions.insert(first)
            answers.insert(example.targets[255])
        }
        #expect(triggerPositions.count > 150, "the trigger position varies")
        #expect(answers.count == 15)
    }

    @Test func batchesAreReproducibleAndFullLength() throws {
        let task = try InductionHeads(length: 40)
        var a = Xoshiro256StarStar(seed: 9), b = Xoshiro256StarStar(seed: 9)
        let first = SyntheticBatch(task, count: 3, generator: &a)
        let second = SyntheticBatch(task, count: 3, generator: &b)
        #expect(first == second)
        #expect(first.tokens.batch == 3 && first.tokens.length == 40 && first.tokens.lengths == [40, 40, 40])
        #expect(first.scoredCount == 3)
        let next = SyntheticBatch(task, count: 3, generator: &a)
        #expect(next != first)
        let copying = SyntheticBatch(try SelectiveCopying(length: 48), count: 2, generator: &a)
        #expect(copying.scoredCount == 32)
        #expect(try task.withLength(4096).length == 4096)
    }

    @Test func distinctSamplingIsUniformAndDistinct() {
        var generator = Xoshiro256StarStar(seed: 12)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<20_000 {
            let sample = sampleDistinctSorted(3, from: 10, using: &generator)
            #expect(sample.count == 3 && sample == sample.sorted() && Set(sample).count == 3)
            for value in sample { counts[value] += 1 }
        }
        // Each value is chosen with probability 3/10: expected 6000 per value, standard deviation ≈ 65.
        #expect(counts.allSatisfy { abs($0 - 6000) < 400 }, "\(counts)")
        #expect(sampleDistinctSorted(10, from: 10, using: &generator) == Array(0..<10))
    }

    @Test func badSettingsAreRefused() {
        #expect(throws: TrainingError.self) { try SelectiveCopying(length: 31, memorized: 16) }
        #expect(throws: TrainingError.self) { try SelectiveCopying(length: 64, vocabularySize: 2) }
        #expect(throws: TrainingError.self) { try InductionHeads(length: 2) }
        #expect(throws: TrainingError.self) { try InductionHeads(length: 64, vocabularySize: 1) }
    }
}

@Suite struct SyntheticDataTests {
    @Test func streamResumesExactlyThroughJSON() throws {
        let task = try SelectiveCopying(length: 48, memorized: 8)
        var source = try SyntheticData(task: task, batchSize: 3, seed: 5)
        for _ in 0..<7 { _ = try source.next() }
        // UInt64 generator words survive JSON (they exceed 2^53, so a Double round trip would break them).
        let saved = try JSONEncoder().encode(source.position)
        var resumed = try SyntheticData(task: task, batchSize: 3, seed: 12345)
        try resumed.restore(JSONDecoder().decode(SyntheticData<SelectiveCopying>.Position.self, from: saved))
        #expect(resumed.position == source.position)
        for _ in 0..<5 {
            let a = try source.next(), b = try resumed.next()
            #expect(a.tokens == b.tokens)
            guard case .tokenTargets(let ta) = a.objective, case .tokenTargets(let tb) = b.objective else {
                Issue.record("expected per-position targets")
                return
            }
            #expect(ta == tb)
            #expect(ta.filter { $0 >= 0 }.count == 3 * 8)
        }
        var other = try SyntheticData(task: try task.withLength(64), batchSize: 3, seed: 5)
        #expect(throws: TrainingError.self) {
            try other.restore(JSONDecoder().decode(SyntheticData<SelectiveCopying>.Position.self, from: saved))
        }
    }

    @Test func fixedBatchesAreFixed() throws {
        let task = try InductionHeads(length: 32)
        let a = SyntheticData.fixedBatches(task, count: 2, batchSize: 4, seed: 8)
        let b = SyntheticData.fixedBatches(task, count: 2, batchSize: 4, seed: 8)
        #expect(a.map(\.tokens) == b.map(\.tokens))
        #expect(a.count == 2 && a[0].tokens.batch == 4 && a[0].tokenCount == 128)
    }

    /// `--dt-min/--dt-max` reach the model: every initial Δ = softplus(dt_proj.bias) lies in the range given.
    @Test(arguments: [(1e-4, 1e-2), (0.001, 0.1)])
    func initialTimeStepsFollowTheRange(low: Double, high: Double) throws {
        var experiment = SyntheticExperiment(task: .inductionHeads, mixer: .s6)
        experiment.timeStepRange = low...high
        let configuration = experiment.configuration()
        #expect(configuration.timeStepMin == low && configuration.timeStepMax == high)
        let model = try MambaModel(configuration: configuration, seed: 5)
        let bias = try #require(model.parameter("backbone.layers.0.mixer.dt_proj.bias"))
        let steps = bias.array.map { Foundation.log1p(Foundation.exp(Double($0))) }
        #expect(steps.count == 128)
        #expect(steps.allSatisfy { $0 >= low * 0.999 && $0 <= high * 1.001 })
        #expect(steps.min()! < low * 3 && steps.max()! > high / 3)    // spread over the range, not one value
    }
}
