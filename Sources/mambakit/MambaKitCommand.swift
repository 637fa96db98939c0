import ArgumentParser
import Foundation
import MambaKit

@main
struct MambaKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mambakit",
        abstract: "Selective state space models (Mamba S6, S4D) for DNA and audio.",
        version: "0.1.0",
        subcommands: [InspectCommand.self, TrainDispatchCommand.self, AudioEvalCommand.self, AudioPredictCommand.self,
                      AudioGenerateCommand.self, SyntheticCommand.self, DebugCommand.self, BenchCommand.self]
    )
}
