// Scores of a classifier on labelled examples: accuracy, mean cross-entropy, the confusion matrix, per-class
// precision and recall, and the multi-class Matthews correlation coefficient (Gorodkin 2004, the R_K statistic):
//   MCC = (c · s − Σ_k p_k t_k) / sqrt((s² − Σ_k p_k²) · (s² − Σ_k t_k²))
// c: correct predictions, s: examples, p_k: examples predicted as k, t_k: examples of class k; 0 when a factor is 0
// (for two classes it equals the binary MCC). Shared by the DNA and audio `eval` commands and `mambakit demo`.
import Foundation

/// Accuracy, loss, confusion, per-class precision and recall, MCC.
public struct ClassificationMetrics: Sendable, Equatable {
    /// Class names.
    public var labels: [String]
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
    /// Σ −ln p(true class) over the records.
    public var lossSum: Double

    /// Empty metrics over `labels`.
    public init(labels: [String]) {
        self.labels = labels
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        lossSum = 0
    }

    /// Scores the rows of class `probabilities` (one row per example, one column per class) against `targets`
    /// (class indices); throws when their counts differ or a row or target does not fit `labels`.
    public init(labels: [String], targets: [Int], probabilities: [[Double]]) throws {
        guard targets.count == probabilities.count else {
            throw TrainingError.invalidOption(
                "classification metrics: expected one probability row per target, found \(probabilities.count) rows for \(targets.count) targets")
        }
        self.init(labels: labels)
        for (row, target) in zip(probabilities, targets) {
            guard row.count == labels.count, labels.indices.contains(target) else {
                throw TrainingError.invalidOption(
                    "classification metrics: expected \(labels.count) probabilities and a class in 0..<\(labels.count), found \(row.count) and \(target)")
            }
            add(probabilities: row, target: target)
        }
    }

    /// Adds one record's prediction (probabilities per class) for a record of class `target`.
    public mutating func add(probabilities: [Double], target: Int) {
        let predicted = probabilities.indices.max(by: { probabilities[$0] < probabilities[$1] }) ?? 0
        confusion[target][predicted] += 1
        lossSum -= Foundation.log(max(probabilities[target], 1e-300))
    }

    /// Records counted.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Correct predictions.
    public var correct: Int { labels.indices.reduce(0) { $0 + confusion[$1][$1] } }
    /// correct / count (0 without records).
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
    /// Mean cross-entropy (nats).
    public var loss: Double { count > 0 ? lossSum / Double(count) : 0 }
    /// Per class: correct / predicted as the class; nil when nothing was predicted as it.
    public var precision: [Double?] {
        labels.indices.map { k in
            let predicted = labels.indices.reduce(0) { $0 + confusion[$1][k] }
            return predicted > 0 ? Double(confusion[k][k]) / Double(predicted) : nil
        }
    }
    /// Per class: correct / records of the class; nil when the class has no records.
    public var recall: [Double?] {
        labels.indices.map { k in
            let total = confusion[k].reduce(0, +)
            return total > 0 ? Double(confusion[k][k]) / Double(total) : nil
        }
    }
    /// The multi-class Matthews correlation coefficient (see the file header).
    public var mcc: Double {
        let s = Double(count), c = Double(correct)
        var pt = 0.0, pp = 0.0, tt = 0.0
        for k in labels.indices {
            let p = Double(labels.indices.reduce(0) { $0 + confusion[$1][k] })
            let t = Double(confusion[k].reduce(0, +))
            pt += p * t
            pp += p * p
            tt += t * t
        }
        let denominator = ((s * s - pp) * (s * s - tt)).squareRoot()
        return denominator > 0 ? (c * s - pt) / denominator : 0
    }
}

