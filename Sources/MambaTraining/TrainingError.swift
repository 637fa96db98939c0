// Errors of the training module: each says what was expected, what was found, and where (step, file).
import Foundation

/// Why training could not start, continue or save.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A setting outside its range.
    case invalidOption(String)
    /// The loss of step `step` (1-based: the update that would have been the step-th) was NaN or infinite; nothing
    /// was updated and the last good checkpoint (if any) is untouched.
    case nonFiniteLoss(step: Int, loss: Double, lastCheckpoint: String?)
    /// The gradient norm of step `step` was NaN or infinite (the loss was finite).
    case nonFiniteGradient(step: Int, norm: Double, lastCheckpoint: String?)
    /// A checkpoint folder or file that cannot be used: which file, and what is wrong with it.
    case badCheckpoint(path: String, reason: String)
    /// `--resume` on a folder that has no checkpoint.
    case nothingToResume(path: String)
    /// The checkpoint was made with different training settings (each differing setting: saved vs now).
    case settingsChanged(path: String, differences: [String])
    /// A data source that cannot give what was asked.
    case data(String)

    /// A one-line message.
    public var description: String {
        func last(_ checkpoint: String?) -> String {
            checkpoint.map { "the last good checkpoint is \($0)" } ?? "no checkpoint had been written yet"
        }
        switch self {
        case .invalidOption(let message):
            return message
        case .nonFiniteLoss(let step, let loss, let checkpoint):
            return "step \(step): the loss is \(loss); stopped before updating the parameters; \(last(checkpoint))"
        case .nonFiniteGradient(let step, let norm, let checkpoint):
            return "step \(step): the gradient norm is \(norm) (the loss was finite); stopped before updating the parameters; \(last(checkpoint))"
        case .badCheckpoint(let path, let reason):
            return "\(path): \(reason)"
        case .nothingToResume(let path):
            return "\(path): expected a checkpoint to resume from (a 'latest' file naming a step folder), found none"
        case .settingsChanged(let path, let differences):
            return "\(path): the checkpoint was made with other training settings: " + differences.joined(separator: "; ")
        case .data(let message):
            return message
        }
    }
}
