// Scores of a classifier on labelled examples: accuracy, mean cross-entropy, the confusion matrix, per-class
// precision and recall, and the multi-class Matthews correlation coefficient (Gorodkin 2004, the R_K statistic:
// MCC = (c·s − Σ_k p_k·t_k) / sqrt((s² − Σ_k p_k²)(s² − Σ_k t_k²)), c correct, s total, p_k predicted and t_k true
// counts of class k; equal to the usual binary MCC for two classes). Shared by the DNA and audio `eval` commands and
// by `mambakit demo`.
import Foundation

/// What a classifier scored on a set of labelled examples.
public struct ClassificationReport: Sendable, Equatable {
    /// Class names, in the model's order.
    public let labels: [String]
    /// confusion[true][predicted] counts.
    public let confusion: [[Int]]
    /// Sum of −log p(true class) over the examples (natural log).
    public let negativeLogLikelihood: Double

    /// Scores the rows of class `probabilities` (one row per example, one column per class) against `targets`
    /// (class indices). The predicted class is the first with the largest probability.
    public init(labels: [String], targets: [Int], probabilities: [[Double]]) throws {
        guard targets.count == probabilities.count else {
            throw TrainingError.invalidOption(
                "classification report: expected one probability row per target, found \(probabilities.count) rows for \(targets.count) targets")
        }
        var confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        var nll = 0.0
        for (row, target) in zip(probabilities, targets) {
            guard row.count == labels.count, labels.indices.contains(target) else {
                throw TrainingError.invalidOption(
                    "classification report: expected \(labels.count) probabilities and a class in 0..<\(labels.count), found \(row.count) and \(target)")
            }
            var predicted = 0
            for c in row.indices where row[c] > row[predicted] { predicted = c }
            confusion[target][predicted] += 1
            nll -= log(max(row[target], Double.leastNormalMagnitude))
        }
        self.labels = labels
        self.confusion = confusion
        self.negativeLogLikelihood = nll
    }

    /// Examples scored.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Correctly classified examples.
    public var correct: Int { labels.indices.reduce(0) { $0 + confusion[$1][$1] } }
    /// correct / count (0 when empty).
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }
    /// Mean cross-entropy in nats (0 when empty).
    public var meanLoss: Double { count > 0 ? negativeLogLikelihood / Double(count) : 0 }

    /// Examples of class k (row sums).
    public var trueCounts: [Int] { confusion.map { $0.reduce(0, +) } }
    /// Examples predicted as class k (column sums).
    public var predictedCounts: [Int] { labels.indices.map { k in confusion.reduce(0) { $0 + $1[k] } } }

    /// Recall of each class (nil for a class with no examples): also its per-class accuracy.
    public var recall: [Double?] {
        labels.indices.map { k in trueCounts[k] > 0 ? Double(confusion[k][k]) / Double(trueCounts[k]) : nil }
    }

    /// Precision of each class (nil for a class never predicted).
    public var precision: [Double?] {
        let predicted = predictedCounts
        return labels.indices.map { k in predicted[k] > 0 ? Double(confusion[k][k]) / Double(predicted[k]) : nil }
    }

    /// The multi-class Matthews correlation coefficient in [−1, 1]; 0 when it is undefined (all examples in one
    /// true class or all predicted as one class).
    public var matthewsCorrelation: Double {
        let s = Double(count), c = Double(correct)
        let p = predictedCounts.map(Double.init), t = trueCounts.map(Double.init)
        let pt = zip(p, t).reduce(0) { $0 + $1.0 * $1.1 }
        let denominator = ((s * s - p.reduce(0) { $0 + $1 * $1 }) * (s * s - t.reduce(0) { $0 + $1 * $1 })).squareRoot()
        return denominator > 0 ? (c * s - pt) / denominator : 0
    }
}
