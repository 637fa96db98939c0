// Gradient parity with PyTorch autograd on the fixtures of scripts/reference/make_fixtures.py: reference.safetensors
// holds `loss` (transformers' mean next-token cross-entropy, labels = input_ids) and `grad.<name>` for every
// parameter (tied embeddings: one summed gradient under backbone.embeddings.weight).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

struct GradientParityTests {
    static let gradientTolerance = 1e-4   // ‖ours − torch‖ / ‖torch‖ per parameter
    static let lossTolerance = 1e-5       // relative

    @Test(arguments: ParityTests.cases, [TrainingOptions.Activations.save, .recompute])
    func gradientsMatchAutograd(_ name: String, _ activations: TrainingOptions.Activations) throws {
        let f = try ParityTests.fixture(name)
        let gradients = Tensor(zeros: [f.model.layout.totalCount])
        let result = try f.model.lossAndGradients(f.batch, objective: .nextToken, gradients: gradients,
                                                  options: TrainingOptions(activations: activations))
        let expectedLoss = Double(try f.reference.floats("loss")[0])
        #expect(abs(result.loss - expectedLoss) / abs(expectedLoss) < Self.lossTolerance,
                "\(name) loss \(result.loss) vs \(expectedLoss)")
        #expect(result.count == f.batch.batch * (f.batch.length - 1))
        for entry in f.model.layout.entries {
            let ours = Array(gradients.array[entry.offset..<(entry.offset + entry.count)])
            let reference = try f.reference.floats("grad.\(entry.name)")
            #expect(reference.count == entry.count, "\(name) \(entry.name): sizes")
            let error = relativeError(ours, reference: reference)
            #expect(error < Self.gradientTolerance, "\(name) \(entry.name): relative error \(error)")
        }
    }

    @Test(arguments: ParityTests.cases)
    func lossAloneMatchesAutograd(_ name: String) throws {
        let f = try ParityTests.fixture(name)
        let result = try f.model.loss(f.batch, objective: .nextToken)
        let expectedLoss = Double(try f.reference.floats("loss")[0])
        #expect(abs(result.loss - expectedLoss) / abs(expectedLoss) < Self.lossTolerance)
        #expect(result.count == f.batch.batch * (f.batch.length - 1))
    }
}
