// `mambakit bench forward`: the forward pass's speed and peak memory on a random model of a given shape.
import ArgumentParser
import Foundation
import MambaKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Benchmarks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed and memory on random models.",
        subcommands: [BenchForward.self]
    )
}

/// `mambakit bench forward --batch B --length L --d-model D --layers N --d-state S --expand E --threads T`.
struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Time the full forward pass (inference, logits included) of a random Mamba LM.",
        discussion: """
        Builds a random model of the given shape, runs --warmup untimed passes, then --repeats timed passes, and \
        prints the median's tokens per second (batch · length / seconds) and the process's peak resident memory \
        (getrusage ru_maxrss, in bytes), which includes the model, the tokens and the outputs.
        """
    )

    @Option(help: "Sequences per batch (B).") var batch = 2
    @Option(help: "Tokens per sequence (L).") var length = 1024
    @Option(name: .customLong("d-model"), help: "Hidden size d_model.") var dModel = 256
    @Option(help: "Number of Mamba layers.") var layers = 4
    @Option(name: .customLong("d-state"), help: "SSM state size n.") var dState = 16
    @Option(help: "Expansion factor: d_inner = expand · d_model.") var expand = 2
    @Option(help: "Worker threads (Parallel and OpenBLAS); default: all cores.") var threads: Int?
    @Option(help: "Vocabulary size.") var vocab = 256
    @Option(help: "Mixer of every layer: s6 or s4d.") var mixer = "s6"
    @Option(help: "Untimed passes first.") var warmup = 1
    @Option(help: "Timed passes (the median is reported).") var repeats = 5
    @Flag(help: "Print one JSON object (tokens_per_second, peak_rss_bytes, ...).") var json = false

    func validate() throws {
        guard batch >= 1, length >= 1, repeats >= 1, warmup >= 0 else {
            throw ValidationError("--batch, --length and --repeats must be >= 1, --warmup >= 0")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1, found \(threads)") }
        guard MixerKind(rawValue: mixer) != nil else { throw ValidationError("--mixer must be s6 or s4d, found \(mixer)") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var configuration = MambaConfiguration(vocabSize: vocab, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers, expand: expand)
        configuration.layerMixers = Array(repeating: MixerKind(rawValue: mixer)!, count: layers)
        let model: MambaModel
        do { model = try MambaModel(configuration: configuration, seed: 1) } catch {
            throw ValidationError("\(error)")
        }
        var generator = Xoshiro256StarStar(seed: 2)
        let ids = (0..<(batch * length)).map { _ in Int32(generator.next() % UInt64(vocab)) }
        let tokens = try TokenBatch(ids: ids, batch: batch, length: length)
        for _ in 0..<warmup { _ = try model.forward(tokens) }
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let output = try model.forward(tokens)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            withExtendedLifetime(output) {}
        }
        seconds.sort()
        let median = seconds.count % 2 == 1 ? seconds[seconds.count / 2]
            : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        let tokensPerSecond = Double(batch * length) / median
        let peak = peakResidentBytes()
        if json {
            let object: [String: Any] = [
                "tokens_per_second": tokensPerSecond, "peak_rss_bytes": peak, "median_seconds": median,
                "seconds": seconds, "batch": batch, "length": length, "d_model": dModel, "layers": layers,
                "d_state": dState, "expand": expand, "vocab": vocab, "mixer": mixer, "threads": Parallel.threadCount,
                "parameters": model.layout.totalCount,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "forward B=%d L=%d d_model=%d layers=%d d_state=%d expand=%d mixer=%@ threads=%d",
                         batch, length, dModel, layers, dState, expand, mixer, Parallel.threadCount))
            print(String(format: "median %.4f s of %d passes: %.0f tokens/s; peak RSS %d bytes (%.1f MiB)",
                         median, repeats, tokensPerSecond, peak, Double(peak) / 1_048_576))
        }
    }

    /// getrusage's ru_maxrss: kilobytes on Linux, bytes on macOS.
    private func peakResidentBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}
