import Foundation
import Testing
@testable import MambaTraining

@Suite struct ClassificationMetricsBatchTests {
    /// One-hot rows predicting `classes`.
    func rows(_ classes: [Int], count: Int) -> [[Double]] {
        classes.map { c in (0..<count).map { $0 == c ? 0.9 : 0.1 / Double(count - 1) } }
    }

    @Test func binaryMatchesTheTextbookFormula() throws {
        // tp 3, fn 1, fp 2, tn 4 (class 1 = positive).
        let targets = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
        let predicted = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
        let report = try ClassificationMetrics(labels: ["neg", "pos"], targets: targets,
                                              probabilities: rows(predicted, count: 2))
        let (tp, tn, fp, fn) = (3.0, 4.0, 2.0, 1.0)
        let expected = (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).squareRoot()
        #expect(abs(report.mcc - expected) < 1e-12)
        #expect(report.confusion == [[4, 2], [1, 3]])
        #expect(report.accuracy == 0.7)
        #expect(report.precision[1] == 3.0 / 5.0)
        #expect(report.recall[1] == 3.0 / 4.0)
        #expect(abs(report.loss - (-log(0.9) * 7 - log(0.1) * 3) / 10) < 1e-12)
    }

    @Test func perfectAndConstantPredictions() throws {
        let targets = [0, 1, 2, 2, 1, 0]
        let perfect = try ClassificationMetrics(labels: ["a", "b", "c"], targets: targets,
                                               probabilities: rows(targets, count: 3))
        #expect(perfect.mcc == 1)
        #expect(perfect.accuracy == 1)
        let constant = try ClassificationMetrics(labels: ["a", "b", "c"], targets: targets,
                                                probabilities: rows(Array(repeating: 1, count: 6), count: 3))
        #expect(constant.mcc == 0)
        #expect(constant.precision[0] == nil)
        #expect(constant.recall == [0, 1, 0])
    }

    @Test func mismatchedInputIsAnError() {
        #expect(throws: TrainingError.self) {
            _ = try ClassificationMetrics(labels: ["a", "b"], targets: [0, 1], probabilities: [[1, 0]])
        }
        #expect(throws: TrainingError.self) {
            _ = try ClassificationMetrics(labels: ["a", "b"], targets: [2], probabilities: [[0.5, 0.5]])
        }
    }
}
