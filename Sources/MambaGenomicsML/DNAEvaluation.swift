// Classification metrics of a DNA classifier on labelled records: accuracy, mean cross-entropy, the confusion matrix,
// per-class precision and recall, and the multi-class Matthews correlation coefficient (Gorodkin 2004, the R_K
// statistic; for two classes it equals the binary MCC):
//   MCC = (c · s − Σ_k p_k t_k) / sqrt((s² − Σ_k p_k²) · (s² − Σ_k t_k²))
// c: correct predictions, s: records, p_k: records predicted as k, t_k: records of class k; 0 when a factor is 0.
import Foundation
import MambaGenomics
import MambaTokenizers

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

extension DNAClassifier {
    /// The class indices of `dataset`'s records in this model's label order.
    ///
    /// - Throws: `DNAModelError.input` naming the file and line of a record whose label the model does not know, or
    ///   of an unlabelled record.
    public func targets(of dataset: SequenceDataset) throws -> [Int] {
        var index: [String: Int] = [:]
        for (i, label) in labels.enumerated() { index[label] = i }
        return try dataset.records.map { record in
            guard let label = record.label else {
                throw DNAModelError.input("\(record.file):\(record.line): record '\(record.id)' has no label (expected label=CLASS in the header or a manifest)")
            }
            guard let target = index[label] else {
                throw DNAModelError.input("\(record.file):\(record.line): label '\(label)' is not one of the model's classes (\(labels.joined(separator: ", ")))")
            }
            return target
        }
    }

    /// The metrics of the model on labelled records (windows and strands combined as the model's settings say),
    /// `chunk` records per prediction call.
    public func evaluate(_ dataset: SequenceDataset, chunk: Int = 512) throws -> ClassificationMetrics {
        let targets = try self.targets(of: dataset)
        var metrics = ClassificationMetrics(labels: labels)
        for start in stride(from: 0, to: dataset.count, by: max(1, chunk)) {
            let end = min(dataset.count, start + max(1, chunk))
            let tokens = try (start..<end).map { i in
                let record = dataset[i]
                guard !record.sequence.isEmpty else {
                    throw DNAModelError.input("\(record.file):\(record.line): record '\(record.id)' has no bases")
                }
                return try encode(record.sequence, id: record.id)
            }
            let predictions = try predict(tokens: tokens)
            for (offset, row) in predictions.probabilities.enumerated() {
                metrics.add(probabilities: row, target: targets[start + offset])
            }
        }
        return metrics
    }
}
