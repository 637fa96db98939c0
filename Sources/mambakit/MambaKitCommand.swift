import ArgumentParser
import Foundation
import MambaKit

@main
struct MambaKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mambakit",
        abstract: "Selective state space models (Mamba S6, S4D) for DNA and audio.",
        discussion: """
        Start with `mambakit demo` (a tour on the shipped data, a few minutes). Every command reads its inputs \
        as they are (FASTA/FASTA.gz, any audio format libsndfile reads, at its own sample rate) and writes its \
        outputs atomically. Exit status: 0 success; 1 bad input or failure (one line on standard error naming \
        the file and the problem; no partial output is left behind); 64 bad command-line usage; 130 training \
        stopped by Ctrl-C after saving a checkpoint.
        """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, InspectCommand.self, TrainDispatchCommand.self, EvalDispatchCommand.self,
                      PredictDispatchCommand.self, DNAEmbedCommand.self, DNAEnsembleCommand.self,
                      AudioGenerateCommand.self, SyntheticCommand.self, DebugCommand.self, BenchCommand.self]
    )

    static func main() {
        // Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs it does not know (Zen 4/5): 2-3x slower matrix
        // products. This restarts the tool once with OPENBLAS_CORETYPE set where that is the case.
        OpenBLASKernels.restartWithBetterKernelsIfNeeded()
        Self.main(nil)
    }
}
