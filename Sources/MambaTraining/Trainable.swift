// What the training loop needs from a model: one flat parameter buffer with named spans (for weight-decay choices and
// optimizer state names), a loss whose gradient it can accumulate into a buffer of the same layout, a forward-only loss
// for validation, and a way to write and re-read its parameters as a model folder.
//
// MambaModel conforms (MambaModel+Trainable.swift); the tests also train small objectives whose gradients are known
// exactly, so the loop, the optimizer and the checkpoints are tested independently of the backward pass.
import Foundation
import MambaBackbone
import MambaTensor

/// One named, contiguous run of parameters in a flat parameter buffer (`ParameterLayout.Entry` without the shape).
public struct ParameterSpan: Sendable, Equatable, Codable {
    /// The parameter's name (a transformers state-dict key for Mamba models).
    public var name: String
    /// The first float's index in the buffer.
    public var offset: Int
    /// The number of floats.
    public var count: Int

    /// A span.
    public init(name: String, offset: Int, count: Int) {
        self.name = name
        self.offset = offset
        self.count = count
    }
}

/// Loss statistics of one or more batches: the loss (mean over the predictions it covers), how many predictions it
/// averages over, and how many of them were right (argmax == target) where the task has a notion of accuracy.
public struct LossStatistics: Sendable, Equatable, Codable {
    /// Σ loss · count over the merged batches (so that `merge` keeps an exact weighted mean).
    public private(set) var weightedLossSum: Double
    /// Predictions the loss averages over.
    public private(set) var count: Int
    /// Correct predictions, nil where accuracy does not apply.
    public private(set) var correct: Int?

    /// Statistics of one batch whose mean loss over `count` predictions is `loss`.
    public init(loss: Double, count: Int, correct: Int? = nil) {
        self.weightedLossSum = loss * Double(count)
        self.count = count
        self.correct = correct
        if count == 0 { weightedLossSum = loss.isFinite ? 0 : loss }
    }

    /// No batches yet.
    public static let empty = LossStatistics(loss: 0, count: 0, correct: nil)

    /// The mean loss over all predictions (0 when there are none; NaN or infinite when any batch's was).
    public var loss: Double { count > 0 ? weightedLossSum / Double(count) : weightedLossSum }

    /// correct / count, nil when accuracy does not apply or nothing was predicted.
    public var accuracy: Double? {
        guard let correct, count > 0 else { return nil }
        return Double(correct) / Double(count)
    }

    /// Adds another batch's statistics (accuracy stays defined only if both have it, or this one is empty).
    public mutating func merge(_ other: LossStatistics) {
        let wasEmpty = count == 0 && correct == nil && weightedLossSum == 0
        weightedLossSum += other.weightedLossSum
        count += other.count
        if wasEmpty {
            correct = other.correct
        } else if let mine = correct, let theirs = other.correct {
            correct = mine + theirs
        } else {
            correct = nil
        }
    }
}

/// A batch the loop can count tokens of (for tokens per second).
public protocol TokenCounting {
    /// The number of input tokens the model reads (valid positions, padding excluded).
    var tokenCount: Int { get }
}

/// A model the training loop can optimise.
///
/// The parameters live in one flat Float buffer; `parameterSpans` names its parts (padding between spans is never
/// touched by the optimizer). Gradients use the same layout.
public protocol Trainable: AnyObject {
    /// What one forward/backward pass consumes.
    associatedtype Batch: TokenCounting

    /// All parameters, flat.
    var parameters: Tensor { get }

    /// The named spans of `parameters`, in buffer order, not overlapping.
    var parameterSpans: [ParameterSpan] { get }

    /// Forward and backward over `batch`: ADDS `lossScale` · d(mean loss)/d(parameters) into `gradients` (a buffer
    /// laid out as `parameters`) and returns the loss statistics (the unscaled mean loss).
    func lossAndGradients(_ batch: Batch, gradients: Tensor, lossScale: Float) throws -> LossStatistics

    /// The loss statistics of `batch` without gradients (validation).
    func evaluate(_ batch: Batch) throws -> LossStatistics

    /// Writes the model as a folder (for Mamba models: config.json + model.safetensors that transformers loads).
    func saveModel(to directory: URL) throws

    /// Replaces the parameters by those saved in `directory` by `saveModel(to:)`, refusing a folder made for another
    /// architecture.
    func loadModel(from directory: URL) throws
}
