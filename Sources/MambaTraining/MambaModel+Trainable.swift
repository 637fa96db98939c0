// MambaModel as a `Trainable`: its ParameterLayout's entries are the named spans, the backward pass
// (`lossAndGradients(_:objective:gradients:lossScale:)`, MambaBackbone) supplies the gradients, and checkpoints are
// the model folders `save(to:)` writes (config.json + model.safetensors, loadable by transformers).
import Foundation
import MambaBackbone
import MambaTensor

/// What a Mamba model trains on: the tokens and what to predict from them.
public struct TrainingBatch: TokenCounting, Sendable {
    /// (b, l) ids with valid lengths.
    public var tokens: TokenBatch
    /// Next-token prediction, per-position targets, or one class per sequence.
    public var objective: TrainingObjective

    /// A batch.
    public init(tokens: TokenBatch, objective: TrainingObjective) {
        self.tokens = tokens
        self.objective = objective
    }

    /// Valid (non-padding) input tokens.
    public var tokenCount: Int { tokens.lengths.reduce(0, +) }
}

extension MambaModel: Trainable {
    /// The layout's entries, in buffer order.
    public var parameterSpans: [ParameterSpan] {
        layout.entries.map { ParameterSpan(name: $0.name, offset: $0.offset, count: $0.count) }
    }

    /// Forward and backward (MambaBackbone's `lossAndGradients(_:objective:gradients:lossScale:)`).
    public func lossAndGradients(_ batch: TrainingBatch, gradients: Tensor, lossScale: Float) throws -> LossStatistics {
        let result = try lossAndGradients(batch.tokens, objective: batch.objective, gradients: gradients,
                                          lossScale: lossScale)
        return LossStatistics(loss: result.loss, count: result.count, correct: result.correct)
    }

    /// The forward-only loss and accuracy.
    public func evaluate(_ batch: TrainingBatch) throws -> LossStatistics {
        let result = try loss(batch.tokens, objective: batch.objective)
        return LossStatistics(loss: result.loss, count: result.count, correct: result.correct)
    }

    /// config.json + model.safetensors.
    public func saveModel(to directory: URL) throws {
        try save(to: directory)
    }

    /// Reads model.safetensors into this model's parameters after checking that config.json describes this model.
    public func loadModel(from directory: URL) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let saved = try MambaConfiguration.load(from: configURL)
        guard saved == configuration else {
            throw TrainingError.badCheckpoint(
                path: configURL.path,
                reason: "expected the configuration of the model being trained, found another (hidden_size \(saved.hiddenSize) vs \(configuration.hiddenSize), layers \(saved.numHiddenLayers) vs \(configuration.numHiddenLayers), vocab \(saved.vocabSize) vs \(configuration.vocabSize), mixers \(saved.layerMixers.map { "\($0)" } ?? "s6") vs \(configuration.layerMixers.map { "\($0)" } ?? "s6"))")
        }
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        try withExtendedLifetime(parameters) {
            try MambaModel.readParameters(from: file, layout: layout, into: parameters.pointer)
        }
    }
}
