// An exponential moving average of a model's parameters (Polyak averaging; as torch.optim.swa_utils.AveragedModel
// with an EMA update, or timm's ModelEmaV2, but bias-corrected like Adam's moments instead of warmed up), for
// validation and the returned model while the optimizer keeps training the raw parameters.
//
// After t updates with parameters θ₁ … θₜ and decay d:
//   s ← d · s + (1 − d) · θ          (s₀ = 0, kept in Double)
//   average = s / (1 − dᵗ) = Σᵢ (1 − d) dᵗ⁻ⁱ θᵢ / (1 − dᵗ)
// so the first update gives θ₁ exactly, and the weights always sum to one (the decay holds from the first step: no
// warm-up schedule silently replaces it in short runs). The plain reference (the weighted sum) is in
// Tests/MambaTrainingTests/ParameterAverageTests.swift.
import Foundation
import MambaTensor

/// A bias-corrected exponential moving average of a flat parameter buffer.
public final class ParameterAverage {
    /// The weight of the previous average at each update, in (0, 1).
    public let decay: Double
    /// Updates so far.
    public private(set) var updates = 0
    /// The running sum s (before the bias correction), for checkpoints.
    public private(set) var sum: [Double]

    /// An empty average over `count` parameters. Throws unless 0 < decay < 1.
    public init(decay: Double, count: Int) throws {
        guard decay > 0, decay < 1 else {
            throw TrainingError.invalidOption("parameter average: expected a decay above 0 and below 1, found \(decay)")
        }
        self.decay = decay
        self.sum = [Double](repeating: 0, count: count)
    }

    /// Folds in the current parameters (same length as the average).
    public func update(with parameters: Tensor) {
        precondition(parameters.count == sum.count, "parameter average: \(sum.count) parameters, given \(parameters.count)")
        let d = decay, e = 1 - decay
        withExtendedLifetime(parameters) {
            let p = parameters.pointer
            sum.withUnsafeMutableBufferPointer { s in
                for i in s.indices { s[i] = d * s[i] + e * Double(p[i]) }
            }
        }
        updates += 1
    }

    /// Continues from a saved `sum` and `updates` (from a checkpoint of an average of the same size).
    public func restore(sum saved: [Double], updates savedUpdates: Int) throws {
        guard saved.count == sum.count, savedUpdates >= 0 else {
            throw TrainingError.invalidOption("parameter average: expected \(sum.count) sums and a count >= 0, found \(saved.count) and \(savedUpdates)")
        }
        sum = saved
        updates = savedUpdates
    }

    /// Writes the average into `parameters` (unchanged before the first update).
    public func write(into parameters: Tensor) {
        precondition(parameters.count == sum.count, "parameter average: \(sum.count) parameters, given \(parameters.count)")
        guard updates > 0 else { return }
        let correction = 1 / (1 - Foundation.pow(decay, Double(updates)))
        withExtendedLifetime(parameters) {
            let p = parameters.pointer
            sum.withUnsafeBufferPointer { s in
                for i in s.indices { p[i] = Float(s[i] * correction) }
            }
        }
    }
}
