// Scoring a DNA classifier on labelled records (ClassificationMetrics lives in MambaTraining).
import Foundation
import MambaGenomics
import MambaTokenizers
import MambaTraining

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
