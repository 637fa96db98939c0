// `mambakit train` serves several kinds of data: the data kind is chosen from the input. Audio (a clip manifest or a
// folder, or `--task classify|next-sample`) goes to AudioTrainCommand (AudioCommands.swift); everything else (FASTA
// language models, the synthetic tasks) to TrainCommand (TrainCommand.swift). The arguments are passed through
// unchanged, so each command keeps its own options, help and errors.
import ArgumentParser
import Foundation

/// `mambakit train ...`: dispatches to the audio or the sequence trainer by the `--data` path and `--task`.
struct TrainDispatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (DNA/synthetic: see `mambakit train --task lm --help`; audio: `mambakit train --task classify --help`).",
        discussion: """
        The data kind is chosen from the input: `--task classify` or `--task next-sample`, or a `--data` path that \
        is not FASTA (an audio manifest .tsv/.csv or a folder of class folders), selects the audio trainer; \
        FASTA data and the synthetic tasks select the sequence trainer.
        """
    )

    @Argument(parsing: .captureForPassthrough, help: "Options of the chosen trainer.") var arguments: [String] = []

    /// Whether `arguments` ask for the audio trainer.
    static func isAudio(_ arguments: [String]) -> Bool {
        func values(of name: String) -> [String] {
            var found: [String] = []
            for (index, argument) in arguments.enumerated() {
                if argument == name, index + 1 < arguments.count { found.append(arguments[index + 1]) }
                if argument.hasPrefix(name + "=") { found.append(String(argument.dropFirst(name.count + 1))) }
            }
            return found
        }
        let tasks = values(of: "--task")
        if tasks.contains(where: { $0 == "classify" || $0 == "next-sample" }) { return true }
        if !tasks.isEmpty { return false }
        let data = values(of: "--data")
        return !data.isEmpty && data.allSatisfy { DataKind.of($0) == .audio }
    }

    mutating func run() throws {
        // main(_:) parses, prints help or a usage error the usual way, runs, and exits with the command's status.
        if Self.isAudio(arguments) {
            AudioTrainCommand.main(arguments)
        } else {
            TrainCommand.main(arguments)
        }
    }
}
