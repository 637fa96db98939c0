// Parity with transformers' MambaForCausalLM on the fixtures of scripts/reference/make_fixtures.py
// (Tests/Fixtures/<case>/: config.json, model.safetensors, reference.safetensors).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

struct ParityTests {
    static let cases = ["tiny-tied", "tiny-options", "state-spaces-names"]
    static let tolerance = 1e-4

    struct Fixture {
        let model: MambaModel
        let reference: SafeTensorsFile
        let batch: TokenBatch
    }

    static func fixture(_ name: String) throws -> Fixture {
        let directory = fixturesDirectory.appendingPathComponent(name)
        let model = try MambaModel.load(from: directory)
        let reference = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("reference.safetensors"))
        let info = try reference.info("input_ids")
        let ids = try reference.integers("input_ids").map { Int32($0) }
        let batch = try TokenBatch(ids: ids, batch: info.shape[0], length: info.shape[1])
        return Fixture(model: model, reference: reference, batch: batch)
    }

    @Test(arguments: cases)
    func fullPassMatchesTransformers(_ name: String) throws {
        let f = try Self.fixture(name)
        let output = try f.model.forward(f.batch, options: ForwardOptions(outputHiddenStates: true))
        let logits = try f.reference.floats("logits")
        #expect(output.logits.shape == (try f.reference.info("logits")).shape)
        #expect(maxAbsoluteDifference(output.logits.array, logits) < Self.tolerance)
        #expect(maxAbsoluteDifference(output.lastHiddenState.array, try f.reference.floats("last_hidden_state")) < Self.tolerance)
        let layers = f.model.configuration.numHiddenLayers
        #expect(output.hiddenStates.count == layers + 1)
        for i in 0...layers {
            let expected = try f.reference.floats("hidden_states.\(i)")
            let difference = maxAbsoluteDifference(output.hiddenStates[i].array, expected)
            #expect(difference < Self.tolerance, "\(name) hidden_states.\(i): \(difference)")
        }
    }

    @Test(arguments: cases)
    func recurrentStepsMatchTransformers(_ name: String) throws {
        let f = try Self.fixture(name)
        let state = f.model.makeRecurrentState(batch: f.batch.batch)
        let v = f.model.configuration.paddedVocabSize
        var logits = [Float](repeating: 0, count: f.batch.batch * f.batch.length * v)
        for t in 0..<f.batch.length {
            let tokens = (0..<f.batch.batch).map { f.batch.ids[$0 * f.batch.length + t] }
            let step = try f.model.step(tokens, state: state).logits.array
            for i in 0..<f.batch.batch {
                for j in 0..<v { logits[(i * f.batch.length + t) * v + j] = step[i * v + j] }
            }
        }
        #expect(maxAbsoluteDifference(logits, try f.reference.floats("step_logits")) < Self.tolerance)
        #expect(maxAbsoluteDifference(logits, try f.reference.floats("logits")) < Self.tolerance)
    }
}
