// The learning rate of each optimizer step: linear warm-up, then cosine decay to a floor (or constant).
// Warm-up as in nanoGPT's get_lr: rate(0) is already peak/warmup, so no step is spent at rate 0 (transformers'
// get_cosine_schedule_with_warmup starts at 0). Cosine as in both: floor + (peak - floor)·½(1 + cos(π·progress)).
import Foundation

/// The learning rate as a function of the optimizer step.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// What follows the warm-up.
    public enum Decay: String, Sendable, Codable, CaseIterable {
        /// Half a cosine from `peak` down to `minimum` at `totalSteps`.
        case cosine
        /// `peak` until the end.
        case constant
    }

    /// The rate at the end of the warm-up.
    public var peak: Double
    /// Steps of linear warm-up (0: none).
    public var warmupSteps: Int
    /// The step count the decay is spread over (the run's total).
    public var totalSteps: Int
    /// The cosine's floor (reached at `totalSteps`).
    public var minimum: Double
    /// Cosine or constant after the warm-up.
    public var decay: Decay

    /// A schedule; `minimum` defaults to peak / 10.
    public init(peak: Double, warmupSteps: Int = 0, totalSteps: Int, minimum: Double? = nil, decay: Decay = .cosine) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimum = minimum ?? peak / 10
        self.decay = decay
    }

    /// Throws unless peak > 0, 0 <= minimum <= peak, warmupSteps >= 0 and totalSteps >= 1, all finite.
    public func validate() throws {
        guard peak.isFinite, peak > 0 else {
            throw TrainingError.invalidOption("learning rate: expected a finite value > 0, found \(peak)")
        }
        guard minimum.isFinite, minimum >= 0, minimum <= peak else {
            throw TrainingError.invalidOption("minimum learning rate: expected a value in 0...\(peak), found \(minimum)")
        }
        guard warmupSteps >= 0 else {
            throw TrainingError.invalidOption("warm-up steps: expected >= 0, found \(warmupSteps)")
        }
        guard totalSteps >= 1 else {
            throw TrainingError.invalidOption("total steps: expected >= 1, found \(totalSteps)")
        }
    }

    /// The rate for the update made at 0-based step `step`.
    ///   step < warmup:  peak · (step + 1) / warmup
    ///   otherwise:      cosine: minimum + (peak − minimum) · ½(1 + cos(π · p)), p = (step − warmup) / (total − warmup)
    ///                   clamped to [0, 1]; constant: peak.
    public func rate(atStep step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        switch decay {
        case .constant:
            return peak
        case .cosine:
            let span = max(1, totalSteps - warmupSteps)
            let progress = min(1, max(0, Double(step - warmupSteps) / Double(span)))
            return minimum + (peak - minimum) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }
}
