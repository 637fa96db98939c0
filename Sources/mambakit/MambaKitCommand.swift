import ArgumentParser
import Foundation
import MambaKit

@main
struct MambaKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mambakit",
        abstract: "Selective state space models (Mamba S6, S4D) for DNA and audio.",
        version: "0.1.0",
        subcommands: [DemoCommand.self, InspectCommand.self, TrainDispatchCommand.self, EvalDispatchCommand.self,
                      PredictDispatchCommand.self, DNAEmbedCommand.self,
                      AudioGenerateCommand.self, SyntheticCommand.self, DebugCommand.self, BenchCommand.self]
    )

    static func main() {
        // Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs it does not know (Zen 4/5): 2-3x slower matrix
        // products. This restarts the tool once with OPENBLAS_CORETYPE set where that is the case.
        OpenBLASKernels.restartWithBetterKernelsIfNeeded()
        Self.main(nil)
    }
}
