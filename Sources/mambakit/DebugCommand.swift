// `mambakit debug forward` / `debug grads`: run a saved model on token ids and write its outputs or its gradients,
// for parity checks against transformers (scripts/reference/check_parity.py).
import ArgumentParser
import Foundation
import MambaKit

/// Commands that expose a model's internals for checking.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Run a model on token ids and write its raw outputs (for parity checks).",
        subcommands: [DebugForward.self, DebugGrads.self]
    )
}

/// `mambakit debug forward --model DIR --tokens FILE --out OUT.safetensors [--recurrent]`.
struct DebugForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Forward pass: write logits (B, L, V) and last_hidden_state (B, L, d_model) as float32 safetensors.",
        discussion: """
        --tokens is either a .npy file of int32 or int64 ids shaped (B, L) (or (L) for one sequence), or a text file \
        with one sequence per line, ids separated by commas and/or spaces. Lines of different lengths are allowed: \
        they are right-padded, padding changes nothing in the valid positions, and the outputs at padded positions \
        are zero. Blank lines are skipped. On any error: one line on stderr, exit status 1, no output file.
        """
    )

    @Option(help: "Model folder with config.json and model.safetensors (transformers' save_pretrained layout).")
    var model: String

    @Option(help: "Token ids: a .npy (int32/int64, (B, L)) or a text file (one sequence per line).")
    var tokens: String

    @Option(help: "Output .safetensors file (written atomically).")
    var out: String

    @Flag(help: "Compute the outputs one token at a time through the recurrent state instead of the full pass.")
    var recurrent = false

    func run() throws {
        AllocatorSettings.returnLargeBuffersToTheSystem()
        do {
            try forward()
        } catch {
            // The library's errors describe themselves (file, tensor, expected, found); Foundation's do not.
            let message = error is CocoaError ? error.localizedDescription : String(describing: error)
            FileHandle.standardError.write(Data("mambakit debug forward: error: \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8))
            throw ExitCode(1)
        }
    }

    private func forward() throws {
        let model = try MambaModel.load(from: URL(fileURLWithPath: self.model))
        let batch = try TokenFile.read(URL(fileURLWithPath: tokens))
        try checkTokenRange(batch, vocabulary: model.configuration.paddedVocabSize, file: tokens)
        let b = batch.batch, l = batch.length, d = model.configuration.hiddenSize
        var logits: [Float]
        var logitsShape: [Int]
        var hidden: [Float]
        if recurrent {
            guard model.configuration.headType == .causalLM, !model.configuration.bidirectional else {
                throw ModelInputError("--recurrent needs a unidirectional causal LM (this model cannot step)")
            }
            let v = model.configuration.paddedVocabSize
            logits = [Float](repeating: 0, count: b * l * v)
            hidden = [Float](repeating: 0, count: b * l * d)
            logitsShape = [b, l, v]
            // Equal lengths: one batched state. Ragged: each sequence alone (padding never enters a state).
            let groups: [[Int]] = Set(batch.lengths).count == 1 ? [Array(0..<b)] : (0..<b).map { [$0] }
            for group in groups {
                let state = model.makeRecurrentState(batch: group.count)
                for t in 0..<batch.lengths[group[0]] {
                    let step = try model.step(group.map { batch.ids[$0 * l + t] }, state: state)
                    let stepLogits = step.logits.array, stepHidden = step.lastHiddenState.array
                    for (slot, i) in group.enumerated() {
                        logits.replaceSubrange(((i * l + t) * v)..<((i * l + t + 1) * v), with: stepLogits[(slot * v)..<((slot + 1) * v)])
                        hidden.replaceSubrange(((i * l + t) * d)..<((i * l + t + 1) * d), with: stepHidden[(slot * d)..<((slot + 1) * d)])
                    }
                }
            }
        } else {
            let output = try model.forward(batch)
            logits = output.logits.array
            logitsShape = output.logits.shape
            hidden = output.lastHiddenState.array
        }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "producer": "mambakit debug forward"])
        writer.add("logits", shape: logitsShape, .float32(logits))
        writer.add("last_hidden_state", shape: [b, l, d], .float32(hidden))
        try writer.write(to: URL(fileURLWithPath: out))
    }
}

/// `mambakit debug grads --model DIR --tokens FILE --out GRADS.safetensors`.
struct DebugGrads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grads",
        abstract: "Gradients of the mean next-token cross-entropy: write grad.<name> for every parameter, print the loss.",
        discussion: """
        The loss is transformers' labels = input_ids: every valid position but each sequence's last predicts the next \
        id, averaged over all those predictions. OUT holds float32 `grad.<name>` under the checkpoint's parameter \
        names and shapes (tied embeddings: one summed gradient under backbone.embeddings.weight); stdout's last line \
        is `loss <value>`. --tokens as for `debug forward` (ragged text lines are right-padded; padding adds nothing). \
        On any error: one line on stderr, exit status 1, no output file.
        """
    )

    @Option(help: "Model folder with config.json and model.safetensors (transformers' save_pretrained layout).")
    var model: String

    @Option(help: "Token ids: a .npy (int32/int64, (B, L)) or a text file (one sequence per line).")
    var tokens: String

    @Option(help: "Output .safetensors file (written atomically).")
    var out: String

    @Option(help: "Mixer activations between forward and backward: save, recompute, or automatic (save up to 1 GiB).")
    var activations = "automatic"

    @Option(help: "Scan steps between the scan states kept for the backward (>= 1; default: the scan's recommendation).")
    var scanChunkLength: Int?

    func validate() throws {
        guard ["save", "recompute", "automatic"].contains(activations) else {
            throw ValidationError("--activations must be save, recompute or automatic, found \(activations)")
        }
        if let scanChunkLength, scanChunkLength < 1 {
            throw ValidationError("--scan-chunk-length must be >= 1, found \(scanChunkLength)")
        }
    }

    func run() throws {
        do {
            try grads()
        } catch {
            let message = error is CocoaError ? error.localizedDescription : String(describing: error)
            FileHandle.standardError.write(Data("mambakit debug grads: error: \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8))
            throw ExitCode(1)
        }
    }

    private func grads() throws {
        let model = try MambaModel.load(from: URL(fileURLWithPath: self.model))
        let batch = try TokenFile.read(URL(fileURLWithPath: tokens))
        try checkTokenRange(batch, vocabulary: model.configuration.paddedVocabSize, file: tokens)
        guard model.configuration.headType == .causalLM else {
            throw ModelInputError("debug grads needs a causal LM (the loss is next-token cross-entropy); this model has a \(model.configuration.headType.rawValue) head")
        }
        let gradients = Tensor(zeros: [model.layout.totalCount])
        let policy: TrainingOptions.Activations = activations == "save" ? .save : activations == "recompute" ? .recompute : .automatic
        let result = try model.lossAndGradients(batch, objective: .nextToken, gradients: gradients,
                                                options: TrainingOptions(activations: policy,
                                                                         scanChunkLength: scanChunkLength))
        guard result.count > 0 else {
            throw ModelInputError("no position to predict: every sequence has fewer than 2 tokens")
        }
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "producer": "mambakit debug grads",
                                                  "loss": String(result.loss)])
        try withExtendedLifetime(gradients) {
            for entry in model.layout.entries {
                writer.add("grad.\(entry.name)", shape: ParameterLayout.checkpointShape(of: entry),
                           .float32Pointer(UnsafePointer(gradients.pointer + entry.offset), count: entry.count))
            }
            try writer.write(to: URL(fileURLWithPath: out))
        }
        print("loss \(result.loss)")
    }
}

/// Token id files for the command line: .npy or text.
enum TokenFile {
    /// The largest text file read (bytes).
    static let maxTextSize = 1 << 30

    /// Reads `url` as .npy (by its magic bytes) or as text.
    static func read(_ url: URL) throws -> MambaBackbone.TokenBatch {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw ModelInputError("\(url.path): cannot open the token file")
        }
        let magic = (try? handle.read(upToCount: 6)) ?? nil
        try? handle.close()
        if let magic, magic == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
            let array = try NPYIntegerArray(contentsOf: url)
            let shape: [Int]
            switch array.shape.count {
            case 1: shape = [1, array.shape[0]]
            case 2: shape = array.shape
            default:
                throw NPYError(file: url.path, "expected token ids shaped (B, L) or (L), found shape \(array.shape)")
            }
            let ids = try array.values.enumerated().map { index, value -> Int32 in
                guard let id = Int32(exactly: value) else {
                    throw NPYError(file: url.path, "token \(index / shape[1]), \(index % shape[1]): id \(value) does not fit in Int32")
                }
                return id
            }
            return try TokenBatch(ids: ids, batch: shape[0], length: shape[1])
        }
        return try readText(url)
    }

    /// One sequence per line, ids separated by commas and/or whitespace; blank lines skipped; ragged lines padded.
    static func readText(_ url: URL) throws -> MambaBackbone.TokenBatch {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxTextSize else {
            throw ModelInputError("\(url.path): expected a token file of at most \(maxTextSize) bytes, found \(size)")
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ModelInputError("\(url.path): expected UTF-8 text or a .npy file")
        }
        var sequences: [[Int32]] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            sequences.append(try fields.map { field in
                guard let id = Int32(field) else {
                    throw ModelInputError("\(url.path):\(number + 1): expected an integer token id, found '\(field.prefix(20))'")
                }
                return id
            })
        }
        guard !sequences.isEmpty else { throw ModelInputError("\(url.path): expected at least one line of token ids") }
        return try TokenBatch(sequences: sequences)
    }
}

/// Refuses a token id outside the model's vocabulary, naming the token file, the sequence (line) and the position
/// (the model would refuse it too, but without the file's name).
func checkTokenRange(_ batch: TokenBatch, vocabulary: Int, file: String) throws {
    for i in 0..<batch.batch {
        for t in 0..<batch.lengths[i] where batch.ids[i * batch.length + t] < 0
            || Int(batch.ids[i * batch.length + t]) >= vocabulary {
            throw ModelInputError("\(file): sequence \(i), position \(t) (both from 0): token id "
                                  + "\(batch.ids[i * batch.length + t]) is outside the model's vocabulary 0..<\(vocabulary)")
        }
    }
}
