// Metrics and the validation split: MCC against hand-computed values, the split's stratification and determinism.
import MambaTraining
import Foundation
import Testing
@testable import MambaGenomicsML

struct ClassificationMetricsTests {
    @Test func binaryMCCMatchesTheTextbookFormula() {
        // tp 6, fn 2, fp 1, tn 11 (class 1 = positive).
        var metrics = ClassificationMetrics(labels: ["neg", "pos"])
        for _ in 0..<6 { metrics.add(probabilities: [0.2, 0.8], target: 1) }
        for _ in 0..<2 { metrics.add(probabilities: [0.7, 0.3], target: 1) }
        for _ in 0..<1 { metrics.add(probabilities: [0.4, 0.6], target: 0) }
        for _ in 0..<11 { metrics.add(probabilities: [0.9, 0.1], target: 0) }
        let (tp, fn, fp, tn) = (6.0, 2.0, 1.0, 11.0)
        let expected = (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).squareRoot()
        #expect(abs(metrics.mcc - expected) < 1e-12)
        #expect(metrics.count == 20 && metrics.correct == 17)
        #expect(abs(metrics.precision[1]! - 6.0 / 7.0) < 1e-12)
        #expect(abs(metrics.recall[1]! - 6.0 / 8.0) < 1e-12)
        #expect(abs(metrics.recall[0]! - 11.0 / 12.0) < 1e-12)
    }

    @Test func multiclassMCCIsOneWhenPerfectAndZeroForAConstantGuess() {
        var perfect = ClassificationMetrics(labels: ["a", "b", "c"])
        var constant = ClassificationMetrics(labels: ["a", "b", "c"])
        for k in 0..<3 {
            for _ in 0..<4 {
                var p = [0.1, 0.1, 0.1]
                p[k] = 0.8
                perfect.add(probabilities: p, target: k)
                constant.add(probabilities: [0.5, 0.3, 0.2], target: k)
            }
        }
        #expect(abs(perfect.mcc - 1) < 1e-12 && perfect.accuracy == 1)
        #expect(constant.mcc == 0 && abs(constant.accuracy - 1.0 / 3) < 1e-12)
        #expect(constant.precision[1] == nil)
    }

    @Test func splitIsStratifiedSeededAndDisjoint() {
        let labels = (0..<103).map { $0 % 3 == 0 ? 0 : ($0 % 3 == 1 ? 1 : 2) }
        let a = stratifiedSplit(labels: labels, classes: 3, fraction: 0.2, seed: 7)
        let b = stratifiedSplit(labels: labels, classes: 3, fraction: 0.2, seed: 7)
        let c = stratifiedSplit(labels: labels, classes: 3, fraction: 0.2, seed: 8)
        #expect(a.training == b.training && a.validation == b.validation)
        #expect(a.validation != c.validation)
        #expect(Set(a.training).isDisjoint(with: a.validation))
        #expect(Set(a.training + a.validation) == Set(labels.indices))
        for k in 0..<3 {
            let total = labels.filter { $0 == k }.count
            let held = a.validation.filter { labels[$0] == k }.count
            #expect(held == Int((0.2 * Double(total)).rounded()))
        }
        #expect(stratifiedSplit(labels: labels, classes: 3, fraction: 0, seed: 1).validation.isEmpty)
    }
}
