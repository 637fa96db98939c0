// `mambakit train | eval | predict` serve several kinds of data: the kind is chosen from the input. `train`: DNA
// classification (`--task classify` with FASTA data or a Genomic Benchmarks folder) goes to DNATrainCommand
// (DNACommands.swift); audio (a clip manifest or a folder, or `--task classify|next-sample`) to AudioTrainCommand
// (AudioCommands.swift); everything else (FASTA language models, the synthetic tasks) to TrainCommand
// (TrainCommand.swift). `eval` and `predict`: a DNA model folder (tokenizer dna-char) or FASTA data go to the DNA
// commands, the rest to the audio ones. The arguments are passed through unchanged, so each command keeps its own
// options, help and errors.
import ArgumentParser
import Foundation
import MambaKit

/// `mambakit train ...`: dispatches to the audio or the sequence trainer by the `--data` path and `--task`.
struct TrainDispatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (DNA classifier: `train --task classify --data X.fa.gz --help`; next-base/synthetic: `train --task lm --help`; audio: `train --data MANIFEST --help`).",
        discussion: """
        The data kind is chosen from the input: `--task classify` with FASTA data (or a Genomic Benchmarks folder) \
        selects the DNA classifier trainer (`mambakit train --task classify --data X.fa.gz --out DIR --help`); \
        `--task classify` or `--task next-sample` with other data, or a `--data` path that is not FASTA (an audio \
        manifest .tsv/.csv or a folder of class folders), selects the audio trainer; FASTA data without a task \
        (next-base pre-training, `--task lm`) and the synthetic tasks select the sequence trainer.
        """
    )

    @Argument(parsing: .captureForPassthrough, help: "Options of the chosen trainer.") var arguments: [String] = []

    /// Whether `arguments` ask for the DNA classifier trainer: `--task classify` with FASTA data or a Genomic
    /// Benchmarks folder.
    static func isDNAClassification(_ arguments: [String]) -> Bool {
        let data = optionValues("--data", in: arguments)
        return optionValues("--task", in: arguments).contains("classify") && !data.isEmpty
            && data.allSatisfy { DataKind.of($0) == .fasta || DNADataSource.isGenomicBenchmarksFolder($0) }
    }

    /// Whether `arguments` ask for the audio trainer.
    static func isAudio(_ arguments: [String]) -> Bool {
        func values(of name: String) -> [String] { optionValues(name, in: arguments) }
        let tasks = values(of: "--task")
        if tasks.contains(where: { $0 == "classify" || $0 == "next-sample" }) { return true }
        if !tasks.isEmpty { return false }
        let data = values(of: "--data")
        return !data.isEmpty && data.allSatisfy { DataKind.of($0) == .audio }
    }

    mutating func run() throws {
        // main(_:) parses, prints help or a usage error the usual way, runs, and exits with the command's status.
        if Self.isDNAClassification(arguments) {
            DNATrainCommand.main(arguments)
        } else if Self.isAudio(arguments) {
            AudioTrainCommand.main(arguments)
        } else {
            TrainCommand.main(arguments)
        }
    }
}

/// The values given to option `name` (`--name VALUE` or `--name=VALUE`) in raw arguments.
func optionValues(_ name: String, in arguments: [String]) -> [String] {
    var found: [String] = []
    for (index, argument) in arguments.enumerated() {
        if argument == name, index + 1 < arguments.count { found.append(arguments[index + 1]) }
        if argument.hasPrefix(name + "=") { found.append(String(argument.dropFirst(name.count + 1))) }
    }
    return found
}

/// Whether `eval` / `predict` arguments are for a DNA model: `--model` names a DNA model folder, or (when the
/// folder says nothing) the data or input is FASTA.
func isDNARequest(_ arguments: [String]) -> Bool {
    if let model = optionValues("--model", in: arguments).last,
       FileManager.default.fileExists(atPath: (model as NSString).appendingPathComponent("config.json"))
        || FileManager.default.fileExists(atPath: (model as NSString).appendingPathComponent("checkpoints")) {
        return isDNAModelFolder(model)
    }
    let data = optionValues("--data", in: arguments)
    if !data.isEmpty { return data.allSatisfy { DataKind.of($0) == .fasta || DNADataSource.isGenomicBenchmarksFolder($0) } }
    let positional = arguments.filter { !$0.hasPrefix("-") }
    return !positional.isEmpty && positional.contains { DataKind.of($0) == .fasta }
}

/// `mambakit eval ...`: DNA models and FASTA data to DNAEvalCommand, the rest to AudioEvalCommand.
struct EvalDispatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model (DNA: `mambakit eval --model DIR --data X.fa.gz --help`; audio: `--data MANIFEST`).",
        discussion: "A DNA model folder (tokenizer dna-char) or FASTA data selects the DNA evaluation; audio otherwise."
    )

    @Argument(parsing: .captureForPassthrough, help: "Options of the chosen command.") var arguments: [String] = []

    mutating func run() throws {
        if isDNARequest(arguments) { DNAEvalCommand.main(arguments) } else { AudioEvalCommand.main(arguments) }
    }
}

/// `mambakit predict ...`: DNA models and FASTA inputs to DNAPredictCommand, the rest to AudioPredictCommand.
struct PredictDispatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify inputs (DNA: `mambakit predict --model DIR IN.fa.gz [--out P.tsv]`; audio: files).",
        discussion: "A DNA model folder (tokenizer dna-char) or a FASTA input selects the DNA predictor; audio otherwise."
    )

    @Argument(parsing: .captureForPassthrough, help: "Options of the chosen command.") var arguments: [String] = []

    mutating func run() throws {
        if isDNARequest(arguments) { DNAPredictCommand.main(arguments) } else { AudioPredictCommand.main(arguments) }
    }
}
