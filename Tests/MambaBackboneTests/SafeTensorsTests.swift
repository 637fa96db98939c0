// safetensors: round trips, dtype conversions, a table of malformed and hostile headers, and model checkpoints
// (names, shapes, missing / unexpected / misshapen tensors).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

/// A safetensors file from a header string and raw data bytes.
func rawSafeTensors(header: String, data: [UInt8], declaredLength: UInt64? = nil) throws -> URL {
    let headerBytes = Array(header.utf8)
    var bytes: [UInt8] = []
    var length = (declaredLength ?? UInt64(headerBytes.count)).littleEndian
    withUnsafeBytes(of: &length) { bytes += $0 }
    bytes += headerBytes + data
    let url = try makeTemporaryDirectory().appendingPathComponent("test.safetensors")
    try Data(bytes).write(to: url)
    return url
}

struct SafeTensorsTests {
    @Test func roundTripOfFloatsAndIntegers() throws {
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        writer.add("b.weight", shape: [2, 3], .float32([1, -2, 3.5, .pi, 0, -0]))
        writer.add("a.ids", shape: [3], .int64([7, -1, 1 << 40]))
        writer.add("empty", shape: [0, 4], .float32([]))
        let url = try makeTemporaryDirectory().appendingPathComponent("x.safetensors")
        try writer.write(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["a.ids", "b.weight", "empty"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.floats("b.weight") == [1, -2, 3.5, .pi, 0, -0])
        #expect(try file.tensor("b.weight").shape == [2, 3])
        #expect(try file.integers("a.ids") == [7, -1, 1 << 40])
        #expect(try file.floats("empty").isEmpty)
        #expect(file.dataStart % 8 == 0)
        #expect(throws: SafeTensorsError.self) { try file.integers("b.weight") }
        #expect(throws: SafeTensorsError.self) { try file.floats("a.ids") }
        #expect(throws: SafeTensorsError.self) { try file.floats("nothing") }
        // No temporary file is left beside the output.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        #expect(siblings == ["x.safetensors"])
    }

    @Test func halfBFloatDoubleAndInt32AreConverted() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 0x0001 = 2^-24, inf 0x7C00.
        // BF16: 1.0 = 0x3F80, -0.5 = 0xBF00. F64: 0.1. I32: -5, 9.
        var data: [UInt8] = []
        for half: UInt16 in [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00] { withUnsafeBytes(of: half.littleEndian) { data += $0 } }
        for bf: UInt16 in [0x3F80, 0xBF00] { withUnsafeBytes(of: bf.littleEndian) { data += $0 } }
        withUnsafeBytes(of: (0.1).bitPattern.littleEndian) { data += $0 }
        for value: Int32 in [-5, 9] { withUnsafeBytes(of: value.littleEndian) { data += $0 } }
        let header = #"{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]},"d":{"dtype":"F64","shape":[],"data_offsets":[14,22]},"i":{"dtype":"I32","shape":[2],"data_offsets":[22,30]}}"#
        let file = try SafeTensorsFile(contentsOf: try rawSafeTensors(header: header, data: data))
        #expect(try file.floats("h") == [1, -2, 65504, 0x1p-24, .infinity])
        #expect(try file.floats("b") == [1, -0.5])
        #expect(try file.floats("d") == [Float(0.1)])
        #expect(try file.integers("i") == [-5, 9])
    }

    static let hostile: [(String, String, [UInt8], UInt64?, SafeTensorsError.Kind, String?)] = [
        ("header length beyond the file", #"{}"#, [], 1 << 40, .badHeaderLength, nil),
        ("header length near UInt64.max", #"{}"#, [], UInt64.max - 3, .badHeaderLength, nil),
        ("not JSON", #"{"a": "#, [], nil, .malformedHeader, nil),
        ("not an object", #"[1, 2]"#, [], nil, .malformedHeader, nil),
        ("entry not an object", #"{"w": 3}"#, [], nil, .malformedHeader, "w"),
        ("unknown dtype", #"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, [0], nil, .unsupportedDType, "w"),
        ("missing dtype", #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .malformedHeader, "w"),
        ("negative dimension", #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .badShape, "w"),
        ("fractional dimension", #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .badShape, "w"),
        ("shape product overflows", #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .badShape, "w"),
        ("huge shape, small data", #"{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .sizeMismatch, "w"),
        ("offsets beyond the data", #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, [0, 0, 0, 0], nil, .badOffsets, "w"),
        ("reversed offsets", #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, [0, 0, 0, 0], nil, .badOffsets, "w"),
        ("negative offset", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, [0, 0, 0, 0], nil, .badOffsets, "w"),
        ("offsets not a pair", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, [0, 0, 0, 0], nil, .badOffsets, "w"),
        ("huge offset", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}}"#, [0, 0, 0, 0], nil, .badOffsets, "w"),
        ("dtype size mismatch", #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], nil, .sizeMismatch, "w"),
        ("overlapping tensors", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [UInt8](repeating: 0, count: 8), nil, .badOffsets, nil),
        ("metadata not strings", #"{"__metadata__":{"a":1}}"#, [], nil, .malformedHeader, nil),
    ]

    @Test(arguments: hostile.indices)
    func hostileHeadersGiveTypedErrors(_ index: Int) throws {
        let (label, header, data, declared, kind, tensor) = Self.hostile[index]
        let url = try rawSafeTensors(header: header, data: data, declaredLength: declared)
        do {
            _ = try SafeTensorsFile(contentsOf: url)
            Issue.record("\(label): accepted")
        } catch let error as SafeTensorsError {
            #expect(error.kind == kind, "\(label): \(error)")
            #expect(error.file == url.path)
            if let tensor { #expect(error.tensor == tensor, "\(label): \(error)") }
        }
    }

    @Test func truncatedFilesGiveTypedErrors() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: url) }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile(contentsOf: url.deletingLastPathComponent().appendingPathComponent("absent.safetensors"))
        }
    }

    @Test func modelCheckpointRoundTripUsesTransformersNamesAndShapes() throws {
        var c = Configurations.named("options")
        c.layerMixers = [.s6, .s4d]
        let model = try MambaModel(configuration: c, seed: 9)
        let folder = try makeTemporaryDirectory()
        try model.save(to: folder)
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        #expect(file.tensors["backbone.layers.0.mixer.conv1d.weight"]?.shape == [36, 1, 3])
        #expect(file.tensors["backbone.layers.0.mixer.in_proj.bias"]?.shape == [72])
        #expect(file.tensors["backbone.layers.0.mixer.conv1d.bias"] == nil)
        #expect(file.tensors["backbone.layers.1.mixer.B"]?.shape == [36, 5])
        #expect(file.tensors["lm_head.weight"]?.shape == [11, 20])
        let loaded = try MambaModel.load(from: folder)
        #expect(loaded.configuration == model.configuration)
        #expect(loaded.parameters.array == model.parameters.array)
        let batch = try TokenBatch(sequences: [[1, 2, 3]])
        #expect(try loaded.forward(batch).logits.array == model.forward(batch).logits.array)
    }

    @Test func checkpointProblemsAreListedByName() throws {
        let model = try MambaModel(configuration: Configurations.named("s6"), seed: 9)
        let folder = try makeTemporaryDirectory()
        try model.save(to: folder)
        // Rewrite the checkpoint: drop one tensor, misshape another, add an unknown one.
        let file = try SafeTensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        var writer = SafeTensorsWriter()
        for name in file.names where name != "backbone.layers.1.mixer.D" {
            let info = try file.info(name)
            if name == "backbone.layers.0.mixer.A_log" {
                writer.add(name, shape: [info.shape[1], info.shape[0]], .float32(try file.floats(name)))
            } else {
                writer.add(name, shape: info.shape, .float32(try file.floats(name)))
            }
        }
        writer.add("backbone.layers.9.mixer.D", shape: [2], .float32([1, 2]))
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        do {
            _ = try MambaModel.load(from: folder)
            Issue.record("loaded a bad checkpoint")
        } catch let error as CheckpointError {
            #expect(error.problems.contains(.missing(name: "backbone.layers.1.mixer.D", expectedShape: [40])))
            #expect(error.problems.contains(.wrongShape(name: "backbone.layers.0.mixer.A_log", expected: [40, 5], found: [5, 40])))
            #expect(error.problems.contains(.unexpected(name: "backbone.layers.9.mixer.D", shape: [2])))
            #expect(error.description.contains("expected shape [40]"))
        }
    }

    @Test func stateSpacesEmbeddingNameAndTiedCopyAreAccepted() throws {
        let model = try MambaModel.load(from: fixturesDirectory.appendingPathComponent("state-spaces-names"))
        let tied = try MambaModel.load(from: fixturesDirectory.appendingPathComponent("tiny-tied"))
        #expect(model.parameters.array == tied.parameters.array)
    }
}
