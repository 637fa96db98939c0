// Model directories: config.json + model.safetensors, as transformers' save_pretrained writes them.
// Reading maps checkpoint names to the parameter layout (accepting state-spaces' `backbone.embedding.weight` and a
// tied `lm_head.weight` copy equal to the embeddings), checks every shape, and reports every missing, unexpected or
// misshapen tensor in one `CheckpointError`.
import Foundation
import MambaTensor

/// Tensors of a checkpoint that do not fit the configuration.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// One problem.
    public enum Problem: Equatable, Sendable {
        /// The model needs this tensor and the file lacks it.
        case missing(name: String, expectedShape: [Int])
        /// The file has a tensor the model does not use.
        case unexpected(name: String, shape: [Int])
        /// Shapes differ.
        case wrongShape(name: String, expected: [Int], found: [Int])
        /// A tied lm_head.weight that differs from the embeddings.
        case untiedCopy(name: String)
    }
    /// The checkpoint file.
    public var file: String
    /// All problems found.
    public var problems: [Problem]

    /// One line per problem.
    public var description: String {
        let lines = problems.map { problem -> String in
            switch problem {
            case .missing(let name, let shape): return "missing tensor '\(name)' (expected shape \(shape))"
            case .unexpected(let name, let shape): return "unexpected tensor '\(name)' (shape \(shape)) not used by this configuration"
            case .wrongShape(let name, let expected, let found): return "tensor '\(name)': expected shape \(expected), found \(found)"
            case .untiedCopy(let name): return "tensor '\(name)': tie_word_embeddings is true but it differs from the embeddings"
            }
        }
        return "\(file): " + lines.joined(separator: "; ")
    }
}

extension MambaModel {
    /// Loads `directory`/config.json and `directory`/model.safetensors.
    public static func load(from directory: URL, backend: any MambaBackend = CPUBackend()) throws -> MambaModel {
        let configuration = try MambaConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let layout = ParameterLayout(configuration)
        try requireMemory(floats: layout.totalCount, for: "the parameters of \(directory.path)")
        let parameters = backend.makeBuffer(layout.totalCount)
        try withExtendedLifetime(parameters) {
            try readParameters(from: file, layout: layout, into: parameters.pointer)
        }
        return try MambaModel(configuration: configuration, parameters: parameters, backend: backend)
    }

    /// Reads every entry of `layout` from `file` into `parameters`.
    public static func readParameters(from file: SafeTensorsFile, layout: ParameterLayout,
                                      into parameters: UnsafeMutablePointer<Float>) throws {
        var problems: [CheckpointError.Problem] = []
        var used = Set<String>()
        for entry in layout.entries {
            var name = entry.name
            if file.tensors[name] == nil, name == "backbone.embeddings.weight",
               file.tensors["backbone.embedding.weight"] != nil {
                name = "backbone.embedding.weight"  // state-spaces/mamba's name
            }
            let expected = ParameterLayout.checkpointShape(of: entry)
            guard let info = file.tensors[name] else {
                problems.append(.missing(name: entry.name, expectedShape: expected))
                continue
            }
            used.insert(name)
            guard info.shape == expected else {
                problems.append(.wrongShape(name: name, expected: expected, found: info.shape))
                continue
            }
            try file.readFiniteFloats(name, into: parameters + entry.offset, count: entry.count)
        }
        // A tied model may carry lm_head.weight as a copy of the embeddings (state-spaces' state_dict does).
        if layout.lmHead == nil, layout.classifierWeight == nil, let info = file.tensors["lm_head.weight"],
           let embeddings = layout.entry("backbone.embeddings.weight") {
            used.insert("lm_head.weight")
            if info.shape != embeddings.shape {
                problems.append(.wrongShape(name: "lm_head.weight", expected: embeddings.shape, found: info.shape))
            } else if problems.isEmpty {
                let copy = try file.floats("lm_head.weight")
                let table = parameters + embeddings.offset
                if copy.indices.contains(where: { copy[$0] != table[$0] }) {
                    problems.append(.untiedCopy(name: "lm_head.weight"))
                }
            }
        }
        for name in file.names where !used.contains(name) {
            problems.append(.unexpected(name: name, shape: file.tensors[name]!.shape))
        }
        if !problems.isEmpty { throw CheckpointError(file: file.url.path, problems: problems) }
    }

    /// Writes `directory`/config.json and `directory`/model.safetensors (each atomically), creating the folder.
    public func save(to directory: URL, metadata: [String: String] = ["format": "pt"]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter(metadata: metadata)
        try withExtendedLifetime(parameters) {
            for entry in layout.entries {
                writer.add(entry.name, shape: ParameterLayout.checkpointShape(of: entry),
                           .float32Pointer(UnsafePointer(parameters.pointer + entry.offset), count: entry.count))
            }
            try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        }
        try configuration.write(to: directory.appendingPathComponent("config.json"))
    }
}
