// The DNA classifier trainer's own part of a checkpoint, beside the Trainer's (model folder, optimizer.safetensors,
// trainer_state.json), so that `trainDNAClassifier(..., resume: true)` continues a run exactly:
//   classifier_state.json          format, the training options (each as text, compared on resume), the validations
//                                  so far, the best step, the parameter average's update count
//   classifier_state.safetensors   "best": the best parameters so far (f32, when there is a best);
//                                  "average_sum": the parameter average's running sums, Double values stored bit for
//                                  bit as int64 (when --ema is on)
import Foundation
import MambaBackbone
import MambaTensor
import MambaTraining

struct DNAClassifierCheckpoint: Codable, Equatable {
    static let formatName = "mambakit-dna-classifier-state-1"
    static let stateFile = "classifier_state.json"
    static let tensorFile = "classifier_state.safetensors"

    var format = Self.formatName
    var options: [String: String]
    var validations: [DNAValidationRecord]
    var bestStep: Int?
    var averageUpdates: Int

    init(options: DNAClassifierTrainingOptions, validations: [DNAValidationRecord], bestStep: Int?, averageUpdates: Int) {
        self.options = Self.describe(options)
        self.validations = validations
        self.bestStep = bestStep
        self.averageUpdates = averageUpdates
    }

    /// Every stored property of the options, as text (nested settings included), keyed by name.
    static func describe(_ options: DNAClassifierTrainingOptions) -> [String: String] {
        var out: [String: String] = [:]
        for child in Mirror(reflecting: options).children {
            if let label = child.label { out[label] = String(describing: child.value) }
        }
        return out
    }

    /// Writes both files into a checkpoint folder being made.
    func write(to folder: URL, best: Tensor?, averageSum: [Double]?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.stateFile))
        var writer = SafeTensorsWriter(metadata: ["format": Self.formatName])
        try withExtendedLifetime(best) {
            if let best { writer.add("best", shape: [best.count], .float32Pointer(best.pointer, count: best.count)) }
            if let averageSum {
                writer.add("average_sum", shape: [averageSum.count], .int64(averageSum.map { Int64(bitPattern: $0.bitPattern) }))
            }
            try writer.write(to: folder.appendingPathComponent(Self.tensorFile))
        }
    }

    /// Reads the files of `folder`, checks them against this run's `options`, and fills `best` (when the run had a
    /// best) and `average` (when it averages). Throws `TrainingError.badCheckpoint` for a missing or damaged file and
    /// `.settingsChanged` when the options differ.
    static func read(from folder: URL, options: DNAClassifierTrainingOptions, parameterCount: Int, best: Tensor,
                     average: ParameterAverage?) throws -> DNAClassifierCheckpoint {
        let stateURL = folder.appendingPathComponent(stateFile)
        let saved: DNAClassifierCheckpoint
        do {
            saved = try JSONDecoder().decode(DNAClassifierCheckpoint.self, from: Data(contentsOf: stateURL))
        } catch {
            throw TrainingError.badCheckpoint(path: stateURL.path, reason: "expected a DNA classifier training state (\(formatName)): \(error)")
        }
        guard saved.format == formatName else {
            throw TrainingError.badCheckpoint(path: stateURL.path, reason: "expected format \(formatName), found \(saved.format)")
        }
        let now = describe(options)
        let differences = Set(now.keys).union(saved.options.keys).sorted().compactMap { key -> String? in
            let old = saved.options[key] ?? "(none)", new = now[key] ?? "(none)"
            return old == new ? nil : "\(key) \(old) vs \(new)"
        }
        guard differences.isEmpty else { throw TrainingError.settingsChanged(path: stateURL.path, differences: differences) }
        guard saved.bestStep != nil || average != nil else { return saved }
        let tensorURL = folder.appendingPathComponent(tensorFile)
        do {
            let file = try SafeTensorsFile(contentsOf: tensorURL)
            if saved.bestStep != nil {
                try withExtendedLifetime(best) { try file.readFiniteFloats("best", into: best.pointer, count: parameterCount) }
            }
            if let average {
                let bits = try file.integers("average_sum")
                try average.restore(sum: bits.map { Double(bitPattern: UInt64(bitPattern: $0)) }, updates: saved.averageUpdates)
            }
        } catch {
            throw TrainingError.badCheckpoint(path: tensorURL.path, reason: "\(error)")
        }
        return saved
    }
}
