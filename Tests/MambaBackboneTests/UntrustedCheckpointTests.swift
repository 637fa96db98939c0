// Checkpoints from strangers (issue 8): non-finite weights are refused by name and index, and a config.json of
// absurd size is refused by MambaModel.load before the safetensors file is even opened. (Hostile safetensors headers:
// SafeTensorsTests; missing, extra and misshapen tensors: SafeTensorsTests.checkpointProblemsAreListedByName.)
import Foundation
import MambaBackbone
import Testing
import _MambaTestSupport

struct UntrustedCheckpointTests {
    /// A saved s6 model whose model.safetensors is rewritten with `value` at element `index` of `target`; the
    /// target is stored as F64 when `f64` (written by hand: SafeTensorsWriter writes F32 and I64 only).
    func checkpoint(poisoning target: String, index: Int, with value: Double, f64: Bool = false) throws -> URL {
        let model = try MambaModel(configuration: Configurations.named("s6"), seed: 3)
        let folder = try makeTemporaryDirectory()
        try model.save(to: folder)
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        var entries: [String] = []
        var data: [UInt8] = []
        for name in file.names {
            var values = try file.floats(name).map(Double.init)
            if name == target { values[index] = value }
            let wide = f64 && name == target
            let begin = data.count
            for v in values {
                if wide {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
                } else {
                    withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data.append(contentsOf: $0) }
                }
            }
            let shape = try file.info(name).shape.map(String.init).joined(separator: ",")
            entries.append(#""\#(name)":{"dtype":"\#(wide ? "F64" : "F32")","shape":[\#(shape)],"data_offsets":[\#(begin),\#(data.count)]}"#)
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let length = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
        try Data(length + header + data).write(to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteWeightIsRefusedByNameAndIndex(_ value: Double) throws {
        let folder = try checkpoint(poisoning: "backbone.layers.1.mixer.x_proj.weight", index: 7, with: value)
        do {
            _ = try MambaModel.load(from: folder)
            Issue.record("loaded a checkpoint holding \(value)")
        } catch let error as SafeTensorsError {
            #expect(error.kind == .nonFiniteValue)
            #expect(error.tensor == "backbone.layers.1.mixer.x_proj.weight")
            #expect(error.description.contains("at element 7"), "\(error)")
        }
    }

    @Test func doubleBeyondFloatRangeIsRefused() throws {
        // 1e300 is finite as F64 but infinite once converted to the Float the model computes with.
        let folder = try checkpoint(poisoning: "backbone.norm_f.weight", index: 0, with: 1e300, f64: true)
        #expect(throws: SafeTensorsError.self) { try MambaModel.load(from: folder) }
    }

    @Test func finiteWeightsStillLoad() throws {
        let folder = try checkpoint(poisoning: "backbone.norm_f.weight", index: 0, with: 0.5, f64: true)
        let model = try MambaModel.load(from: folder)
        #expect(model.parameter("backbone.norm_f.weight")?.array.first == 0.5)
    }

    @Test func absurdConfigIsRefusedBeforeTheWeightsAreRead() throws {
        let folder = try makeTemporaryDirectory()
        // d_model 10^9: 10^18 parameters. No model.safetensors at all: the config alone must stop the load.
        try Data(#"{"vocab_size": 16, "hidden_size": 1000000000, "state_size": 4, "num_hidden_layers": 1}"#.utf8)
            .write(to: folder.appendingPathComponent("config.json"))
        do {
            _ = try MambaModel.load(from: folder)
            Issue.record("loaded an absurd configuration")
        } catch let error as ConfigurationError {
            #expect(error.key == "hidden_size")
            #expect(error.file?.hasSuffix("config.json") == true)
        }
    }
}
