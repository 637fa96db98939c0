// The loop with the real model: a learnable sequence is learned, a resumed run is bit-identical to an uninterrupted
// one, checkpoints are model folders MambaModel.load reads, and a checkpoint of another shape is refused.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport
@testable import MambaTraining

@Suite struct MambaModelTrainingTests {
    func tinyConfiguration(mixers: [MixerKind] = [.s6, .s4d]) -> MambaConfiguration {
        var c = MambaConfiguration(vocabSize: 16, hiddenSize: 16, stateSize: 4, numHiddenLayers: mixers.count, expand: 2)
        c.layerMixers = mixers
        return c
    }

    func options(steps: Int) -> TrainerOptions {
        TrainerOptions(steps: steps, accumulation: 2, optimizer: AdamWConfiguration(beta2: 0.98),
                        schedule: LearningRateSchedule(peak: 5e-3, warmupSteps: 2, totalSteps: steps),
                        maxGradientNorm: 1, checkpointInterval: 3)
    }

    @Test func spansAreTheLayoutEntries() throws {
        let model = try MambaModel(configuration: tinyConfiguration(), seed: 1)
        #expect(model.parameterSpans.map(\.name) == model.layout.entries.map(\.name))
        #expect(model.parameterSpans.map(\.offset) == model.layout.entries.map(\.offset))
        #expect(model.parameterSpans.map(\.count) == model.layout.entries.map(\.count))
        let optimizer = try AdamW(configuration: AdamWConfiguration(), model: model)
        let excluded = zip(model.parameterSpans, optimizer.decays).filter { !$0.1 }.map(\.0.name)
        #expect(excluded.contains("backbone.layers.0.mixer.A_log") && excluded.contains("backbone.layers.1.mixer.dt_bias"))
        #expect(excluded.contains("backbone.norm_f.weight") && !excluded.contains("backbone.embeddings.weight"))
    }

    @Test func learnsARepeatingSequence() throws {
        // ids 0 1 2 ... 7 0 1 2 ...: every next token is determined by the current one.
        let model = try MambaModel(configuration: tinyConfiguration(), seed: 3)
        let ids = (0..<(4 * 24)).map { Int32(($0 % 24) % 8) }
        let batch = TrainingBatch(tokens: try MambaBackbone.TokenBatch(ids: ids, batch: 4, length: 24), objective: .nextToken)
        struct Repeat: TrainingDataSource {
            var batch: TrainingBatch
            var drawn = 0
            mutating func next() throws -> TrainingBatch { drawn += 1; return batch }
            var position: Int { drawn }
            mutating func restore(_ position: Int) throws { drawn = position }
            var batchesPerEpoch: Int? { 1 }
        }
        let trainer = try Trainer(model: model, data: Repeat(batch: batch), validation: [batch],
                                  options: TrainerOptions(steps: 60, optimizer: AdamWConfiguration(weightDecay: 0),
                                                           schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 5, totalSteps: 60)))
        trainer.stopRequested = { false }
        let outcome = try trainer.run()
        let first = try #require(trainer.history.first).statistics.loss
        let validation = try #require(outcome.validation)
        #expect(first > 2, "an untrained model is near log(16) = 2.77, found \(first)")
        #expect(validation.loss < 0.2, "loss \(first) -> \(validation.loss)")
        #expect((validation.accuracy ?? 0) > 0.95)
        #expect(validation.count == 4 * 23)
    }

    @Test func resumedRunIsBitIdentical() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let task = try InductionHeads(length: 32)
        func makeTrainer(seed: UInt64, folder: URL?) throws -> Trainer<MambaModel, SyntheticData<InductionHeads>> {
            let model = try MambaModel(configuration: tinyConfiguration(), seed: seed)
            let trainer = try Trainer(model: model, data: try SyntheticData(task: task, batchSize: 3, seed: 7),
                                      options: options(steps: 8))
            trainer.stopRequested = { false }
            if let folder { trainer.checkpoints = CheckpointStore(directory: folder) }
            return trainer
        }
        let whole = try makeTrainer(seed: 1, folder: nil)
        try whole.run()
        let first = try makeTrainer(seed: 1, folder: directory)
        try first.run(stopAfter: 4)
        let second = try makeTrainer(seed: 99, folder: directory)
        try second.resume()
        try second.run()
        let split = (first.history + second.history).map { $0.statistics.loss.bitPattern }
        #expect(split == whole.history.map { $0.statistics.loss.bitPattern })
        #expect(second.model.parameters.array.map(\.bitPattern) == whole.model.parameters.array.map(\.bitPattern))
        // The newest checkpoint is a model folder MambaModel.load reads, equal to the trained parameters.
        let latest = try #require(try CheckpointStore(directory: directory).latest())
        #expect(latest.step == 8)
        let loaded = try MambaModel.load(from: latest.folder)
        #expect(loaded.configuration == whole.model.configuration)
        #expect(loaded.parameters.array.map(\.bitPattern) == whole.model.parameters.array.map(\.bitPattern))
        for name in ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"] {
            #expect(FileManager.default.fileExists(atPath: latest.folder.appendingPathComponent(name).path), "\(name)")
        }
    }

    @Test func checkpointOfAnotherShapeIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try MambaModel(configuration: tinyConfiguration(mixers: [.s6]), seed: 1).save(to: directory)
        let other = try MambaModel(configuration: tinyConfiguration(mixers: [.s6, .s6]), seed: 1)
        do {
            try other.loadModel(from: directory)
            Issue.record("a 1-layer checkpoint must not load into a 2-layer model")
        } catch let error as TrainingError {
            #expect(error.description.contains("layers 1 vs 2"))
        }
    }
}
