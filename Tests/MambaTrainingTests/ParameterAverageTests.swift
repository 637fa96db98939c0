// ParameterAverage against the plain weighted sum it stands for (Double), its bias correction, and bad decays.
import Foundation
import MambaTensor
import Testing
@testable import MambaTraining

@Suite struct ParameterAverageTests {
    /// Σᵢ (1 − d) dᵗ⁻ⁱ θᵢ / (1 − dᵗ), element by element, in Double.
    func referenceAverage(_ history: [[Float]], decay d: Double) -> [Double] {
        let t = history.count
        let norm = 1 - pow(d, Double(t))
        return history[0].indices.map { j in
            history.enumerated().reduce(0.0) { sum, item in
                sum + (1 - d) * pow(d, Double(t - 1 - item.offset)) * Double(item.element[j])
            } / norm
        }
    }

    @Test(arguments: [0.5, 0.9, 0.999])
    func matchesTheWeightedSum(decay: Double) throws {
        var generator = Xoshiro256StarStar(seed: 5)
        let count = 37
        let average = try ParameterAverage(decay: decay, count: count)
        let out = Tensor(zeros: [count])
        var history: [[Float]] = []
        for step in 1...60 {
            let values = (0..<count).map { _ in Float(Double(generator.next() >> 11) * 0x1p-53 * 4 - 2) }
            history.append(values)
            average.update(with: Tensor(shape: [count], values: values))
            #expect(average.updates == step)
            guard [1, 2, 7, 60].contains(step) else { continue }
            average.write(into: out)
            let expected = referenceAverage(history, decay: decay)
            for j in 0..<count {
                #expect(abs(Double(out.array[j]) - expected[j]) <= 1e-6 * max(1, abs(expected[j])),
                        "decay \(decay), step \(step), element \(j): \(out.array[j]) vs \(expected[j])")
            }
            if step == 1 { #expect(out.array == values) }   // the first update is the parameters themselves
        }
    }

    @Test func aConstantSequenceAveragesToItselfAndNothingIsWrittenBeforeTheFirstUpdate() throws {
        let average = try ParameterAverage(decay: 0.999, count: 3)
        let parameters = Tensor(shape: [3], values: [1.5, -2, 0.25])
        let out = Tensor(shape: [3], values: [7, 7, 7])
        average.write(into: out)
        #expect(out.array == [7, 7, 7])
        for _ in 0..<10 { average.update(with: parameters) }
        average.write(into: out)
        for j in 0..<3 { #expect(abs(out.array[j] - parameters.array[j]) <= 1e-6) }
    }

    @Test(arguments: [0.0, 1.0, -0.5, 1.5, Double.nan])
    func decaysOutsideTheOpenUnitIntervalAreRefused(decay: Double) {
        #expect(throws: TrainingError.self) { try ParameterAverage(decay: decay, count: 4) }
    }
}
