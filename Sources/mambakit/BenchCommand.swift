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
        subcommands: [BenchForward.self, BenchStep.self, BenchGrads.self, BenchTrain.self]
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

    @Option(help: "Sequences per batch B (typical 1-64).") var batch = 2
    @Option(help: "Tokens per sequence L (typical 256-65,536).") var length = 1024
    @Option(name: .customLong("d-model"), help: "Hidden size d_model (typical 64-1024).") var dModel = 256
    @Option(help: "Number of Mamba layers.") var layers = 4
    @Option(name: .customLong("d-state"), help: "SSM state size n (typical 8-64).") var dState = 16
    @Option(help: "Expansion factor: d_inner = expand · d_model (typical 2).") var expand = 2
    @Option(help: "Worker threads (Parallel and OpenBLAS); default: all cores.") var threads: Int?
    @Option(help: "Vocabulary size (12 for DNA, 256 for mu-law audio, up to 50,280 for text checkpoints).") var vocab = 256
    @Option(help: "Mixer of every layer: s6 or s4d.") var mixer = "s6"
    @Option(help: "Untimed passes first (typical 1-3).") var warmup = 1
    @Option(help: "Timed passes, the median is reported (typical 3-10).") var repeats = 5
    @Flag(help: "Print one JSON object (tokens_per_second, peak_rss_bytes, ...).") var json = false
    @Flag(help: "Also print the time spent in each kernel over the timed passes.") var profile = false

    func validate() throws {
        guard batch >= 1, length >= 1, repeats >= 1, warmup >= 0 else {
            throw ValidationError("--batch, --length and --repeats must be >= 1, --warmup >= 0")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1, found \(threads)") }
        guard MixerKind(rawValue: mixer) != nil else { throw ValidationError("--mixer must be s6 or s4d, found \(mixer)") }
    }

    func run() throws {
        AllocatorSettings.returnLargeBuffersToTheSystem()
        if let threads { Parallel.threadCount = threads }
        var configuration = MambaConfiguration(vocabSize: vocab, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers, expand: expand)
        configuration.layerMixers = Array(repeating: MixerKind(rawValue: mixer)!, count: layers)
        let profiler = profile ? ProfilingBackend() : nil
        let model: MambaModel
        do { model = try MambaModel(configuration: configuration, seed: 1, backend: profiler ?? CPUBackend()) } catch {
            throw commandFailure("bench forward", error)
        }
        var generator = Xoshiro256StarStar(seed: 2)
        let ids = (0..<(batch * length)).map { _ in Int32(generator.next() % UInt64(vocab)) }
        let tokens = try TokenBatch(ids: ids, batch: batch, length: length)
        for _ in 0..<warmup { _ = try model.forward(tokens) }
        profiler?.reset()
        var seconds: [Double] = []
        let cpuBefore = Self.cpuSeconds()
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let output = try model.forward(tokens)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            withExtendedLifetime(output) {}
        }
        let cpuPerPass = (Self.cpuSeconds() - cpuBefore) / Double(repeats)
        seconds.sort()
        let median = seconds.count % 2 == 1 ? seconds[seconds.count / 2]
            : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        let tokensPerSecond = Double(batch * length) / median
        let peak = peakResidentBytes()
        let flopsPerToken = Self.flopsPerToken(model.configuration)
        let baseline = gemmBaseline(rows: batch * length, configuration: model.configuration)
        if json {
            let object: [String: Any] = [
                "tokens_per_second": tokensPerSecond, "peak_rss_bytes": peak, "median_seconds": median,
                "seconds": seconds, "batch": batch, "length": length, "d_model": dModel, "layers": layers,
                "d_state": dState, "expand": expand, "vocab": vocab, "mixer": mixer, "threads": Parallel.threadCount,
                "parameters": model.layout.totalCount, "gemm_flops_per_token": flopsPerToken,
                "gemm_baseline_gflops": baseline, "model_gemm_gflops": flopsPerToken * tokensPerSecond / 1e9,
                "cpu_seconds_per_pass": cpuPerPass,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "forward B=%d L=%d d_model=%d layers=%d d_state=%d expand=%d mixer=%@ threads=%d",
                         batch, length, dModel, layers, dState, expand, mixer, Parallel.threadCount)
                  + " openblas=\(OpenBLASKernels.coreName ?? "none")")
            print(String(format: "median %.4f s of %d passes: %.0f tokens/s; peak RSS %d bytes (%.1f MiB)",
                         median, repeats, tokensPerSecond, peak, Double(peak) / 1_048_576))
            print(String(format: "CPU time %.4f s per pass (user + system, all threads): %.0f tokens per CPU-second",
                         cpuPerPass, Double(batch * length) / cpuPerPass))
            print(String(format: "GEMM work %.2f MFLOP/token = %.1f GFLOP/s; baseline: one in_proj-shaped GEMM alone runs at %.1f GFLOP/s now (ratio %.2f)",
                         flopsPerToken / 1e6, flopsPerToken * tokensPerSecond / 1e9, baseline,
                         flopsPerToken * tokensPerSecond / 1e9 / baseline))
        }
        if let profiler {
            let total = seconds.reduce(0, +)
            for (kernel, time, calls) in profiler.report {
                let padded = kernel.padding(toLength: 24, withPad: " ", startingAt: 0)
                print(padded + String(format: " %8.2f ms/pass  %5.1f%%  %6d calls",
                                      time / Double(repeats) * 1000, 100 * time / total, calls))
            }
        }
    }

    /// The matrix-multiply work of one token: in_proj, x_proj, dt_proj, out_proj per S6 layer (in_proj and out_proj
    /// per S4D layer) and the LM head, 2 FLOP per multiply-add.
    static func flopsPerToken(_ c: MambaConfiguration) -> Double {
        let d = Double(c.hiddenSize), e = Double(c.intermediateSize), n = Double(c.stateSize)
        let r = Double(c.resolvedTimeStepRank)
        var total = 2 * d * Double(c.paddedVocabSize)
        for layer in 0..<c.numHiddenLayers {
            total += 2 * (d * 2 * e + e * d)
            if c.mixer(ofLayer: layer) == .s6 { total += 2 * (e * (r + 2 * n) + r * e) }
        }
        return total
    }

    /// GFLOP/s of `BLAS.gemm` on the in_proj shape (rows, d_model) · (d_model, 2·d_inner) right now: the machine's
    /// current matrix-multiply speed, to read the forward's figure against (median of 5).
    private func gemmBaseline(rows: Int, configuration c: MambaConfiguration) -> Double {
        let m = rows, k = c.hiddenSize, n = 2 * c.intermediateSize
        let a = Tensor(shape: [m, k], repeating: 0.5), b = Tensor(shape: [n, k], repeating: 0.25)
        let out = Tensor(zeros: [m, n])
        var times: [Double] = []
        withExtendedLifetime((a, b, out)) {
            for _ in 0..<6 {
                let start = DispatchTime.now().uptimeNanoseconds
                BLAS.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                          b: b.pointer, ldb: k, beta: 0, c: out.pointer, ldc: n)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        times = Array(times.dropFirst()).sorted()
        return 2 * Double(m) * Double(n) * Double(k) / times[times.count / 2] / 1e9
    }

    /// User + system CPU seconds of the process so far (all threads).
    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
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

/// `mambakit bench step`: recurrent inference, one token per sequence per step, after prompts of two lengths, to
/// show that a step's cost does not depend on how many tokens came before.
struct BenchStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time recurrent steps (one token per sequence) after a short and a long prompt.",
        discussion: "Prefills --short-prompt and then --long-prompt tokens, then times --steps steps after each; "
            + "the two medians should match (O(1) per step)."
    )

    @Option(help: "Sequences stepped together B (typical 1-64).") var batch = 1
    @Option(name: .customLong("d-model"), help: "Hidden size d_model (typical 64-1024).") var dModel = 256
    @Option(help: "Number of Mamba layers.") var layers = 4
    @Option(name: .customLong("d-state"), help: "SSM state size n (typical 8-64).") var dState = 16
    @Option(help: "Expansion factor: d_inner = expand · d_model (typical 2).") var expand = 2
    @Option(help: "Worker threads; default: all cores.") var threads: Int?
    @Option(help: "Vocabulary size (12 for DNA, 256 for mu-law audio, up to 50,280 for text checkpoints).") var vocab = 256
    @Option(name: .customLong("short-prompt"), help: "Tokens before the first timed steps.") var shortPrompt = 16
    @Option(name: .customLong("long-prompt"), help: "Tokens before the second timed steps.") var longPrompt = 16_384
    @Option(help: "Timed steps after each prompt.") var steps = 200
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print the time spent in each kernel per step (over the timed steps).") var profile = false

    func validate() throws {
        guard batch >= 1, shortPrompt >= 1, longPrompt >= 1, steps >= 1 else {
            throw ValidationError("--batch, --short-prompt, --long-prompt and --steps must be >= 1")
        }
    }

    func run() throws {
        AllocatorSettings.returnLargeBuffersToTheSystem()
        if let threads { Parallel.threadCount = max(1, threads) }
        let configuration = MambaConfiguration(vocabSize: vocab, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers, expand: expand)
        let profiler = profile ? ProfilingBackend() : nil
        let model: MambaModel
        do { model = try MambaModel(configuration: configuration, seed: 1, backend: profiler ?? CPUBackend()) } catch {
            throw commandFailure("bench step", error)
        }
        var generator = Xoshiro256StarStar(seed: 3)
        func medianStep(after prompt: Int) throws -> Double {
            let ids = (0..<(batch * prompt)).map { _ in Int32(generator.next() % UInt64(vocab)) }
            let (_, state) = try model.prefill(try TokenBatch(ids: ids, batch: batch, length: prompt))
            profiler?.reset()
            var times: [Double] = []
            var tokens = [Int32](repeating: 1, count: batch)
            for _ in 0..<steps {
                let start = DispatchTime.now().uptimeNanoseconds
                let logits = try model.step(tokens, state: state).logits.array
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                tokens = (0..<batch).map { i in Int32(logits[(i * vocab)..<((i + 1) * vocab)].indices.max { logits[$0] < logits[$1] }! - i * vocab) }
            }
            times.sort()
            return times[times.count / 2]
        }
        let short = try medianStep(after: shortPrompt), long = try medianStep(after: longPrompt)
        if json {
            let object: [String: Any] = ["seconds_per_step_short": short, "seconds_per_step_long": long,
                                         "short_prompt": shortPrompt, "long_prompt": longPrompt, "batch": batch,
                                         "threads": Parallel.threadCount]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "step B=%d d_model=%d layers=%d: %.3f ms/step after %d tokens, %.3f ms/step after %d tokens (ratio %.2f)",
                         batch, dModel, layers, short * 1000, shortPrompt, long * 1000, longPrompt, long / short))
        }
        if let profiler {
            for (kernel, time, calls) in profiler.report {
                print(kernel.padding(toLength: 24, withPad: " ", startingAt: 0)
                      + String(format: " %8.1f µs/step  %6d calls", time / Double(steps) * 1e6, calls))
            }
        }
    }
}

/// glibc's malloc raises its mmap threshold (up to 32 MB) each time a large mmapped block is freed; buffers between
/// 1 and 32 MB (a 16 k-token pass's residual stream and logits) then come from the heap and are not given back when
/// freed, so repeated passes grew the peak RSS from 115 MB (one pass at L = 16384) to 280 MB (nine passes), while at
/// L = 32768 (32 MB buffers, always mmapped) it stayed at 149 MB. A fixed threshold of 1 MB (`mallopt`, found with
/// dlsym since Swift's Glibc module does not export it) keeps every large buffer mmapped and returned on free.
enum AllocatorSettings {
    static func returnLargeBuffersToTheSystem() {
        #if os(Linux)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in <malloc.h>
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {  // RTLD_DEFAULT
            _ = unsafeBitCast(symbol, to: MallOpt.self)(mmapThreshold, 1 << 20)
        }
        #endif
    }
}

/// `mambakit bench train`: one full training step (forward, backward, gradient norm, AdamW) on a random model, with
/// the same flags as `bench forward`.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time full training steps (forward, backward, AdamW) of a random Mamba LM.",
        discussion: """
        Builds a random model of the given shape and a batch of random tokens, runs --warmup untimed steps, then \
        --repeats timed steps (zero the gradients, loss and gradients of the next-token objective, global gradient \
        norm, AdamW update), and prints the median's tokens per second (batch · length / seconds) and the process's \
        peak resident memory (getrusage ru_maxrss, in bytes): model, gradients, AdamW moments and activations.
        """
    )

    @Option(help: "Sequences per batch B (typical 1-64).") var batch = 2
    @Option(help: "Tokens per sequence L (typical 256-65,536).") var length = 1024
    @Option(name: .customLong("d-model"), help: "Hidden size d_model (typical 64-1024).") var dModel = 256
    @Option(help: "Number of Mamba layers.") var layers = 4
    @Option(name: .customLong("d-state"), help: "SSM state size n (typical 8-64).") var dState = 16
    @Option(help: "Expansion factor: d_inner = expand · d_model (typical 2).") var expand = 2
    @Option(help: "Worker threads (Parallel and OpenBLAS); default: all cores.") var threads: Int?
    @Option(help: "Vocabulary size (12 for DNA, 256 for mu-law audio, up to 50,280 for text checkpoints).") var vocab = 256
    @Option(help: "Mixer of every layer: s6 or s4d.") var mixer = "s6"
    @Option(help: "Untimed steps first.") var warmup = 1
    @Option(help: "Timed steps (the median is reported).") var repeats = 5
    @Flag(help: "Print one JSON object (tokens_per_second, peak_rss_bytes, ...).") var json = false
    @Flag(help: "Also print the time spent in each kernel over the timed steps.") var profile = false

    func validate() throws {
        guard batch >= 1, length >= 2, repeats >= 1, warmup >= 0 else {
            throw ValidationError("--batch and --repeats must be >= 1, --length >= 2, --warmup >= 0")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1, found \(threads)") }
        guard MixerKind(rawValue: mixer) != nil else { throw ValidationError("--mixer must be s6 or s4d, found \(mixer)") }
    }

    func run() throws {
        AllocatorSettings.returnLargeBuffersToTheSystem()
        if let threads { Parallel.threadCount = threads }
        var configuration = MambaConfiguration(vocabSize: vocab, hiddenSize: dModel, stateSize: dState,
                                               numHiddenLayers: layers, expand: expand)
        configuration.layerMixers = Array(repeating: MixerKind(rawValue: mixer)!, count: layers)
        let profiler = profile ? ProfilingBackend() : nil
        let model: MambaModel
        do { model = try MambaModel(configuration: configuration, seed: 1, backend: profiler ?? CPUBackend()) } catch {
            throw commandFailure("bench train", error)
        }
        var generator = Xoshiro256StarStar(seed: 2)
        let ids = (0..<(batch * length)).map { _ in Int32(generator.next() % UInt64(vocab)) }
        let tokens = TrainingBatch(tokens: try TokenBatch(ids: ids, batch: batch, length: length), objective: .nextToken)
        let optimizer = try AdamW(configuration: AdamWConfiguration(), model: model)
        let gradients = Tensor(zeros: [model.parameters.count])
        var losses: [Double] = []
        func step() throws {
            gradients.fill(0)
            let statistics = try model.lossAndGradients(tokens, gradients: gradients, lossScale: 1)
            let norm = optimizer.gradientNorm(gradients)
            optimizer.update(parameters: model.parameters, gradients: gradients, learningRate: 1e-4,
                             gradientScale: AdamW.clippingScale(norm: norm, maxNorm: 1))
            losses.append(statistics.loss)
        }
        for _ in 0..<warmup { try step() }
        profiler?.reset()
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        seconds.sort()
        let median = seconds.count % 2 == 1 ? seconds[seconds.count / 2]
            : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        let tokensPerSecond = Double(batch * length) / median
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peak = Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        let peak = Int(usage.ru_maxrss)
        #endif
        if json {
            let object: [String: Any] = [
                "tokens_per_second": tokensPerSecond, "peak_rss_bytes": peak, "median_seconds": median,
                "seconds": seconds, "batch": batch, "length": length, "d_model": dModel, "layers": layers,
                "d_state": dState, "expand": expand, "vocab": vocab, "mixer": mixer, "threads": Parallel.threadCount,
                "parameters": model.layout.totalCount, "losses": losses,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "train B=%d L=%d d_model=%d layers=%d d_state=%d expand=%d mixer=%@ threads=%d",
                         batch, length, dModel, layers, dState, expand, mixer, Parallel.threadCount))
            print(String(format: "median %.4f s of %d steps: %.0f tokens/s; peak RSS %d bytes (%.1f MiB)",
                         median, repeats, tokensPerSecond, peak, Double(peak) / 1_048_576))
        }
        if let profiler {
            let total = seconds.reduce(0, +)
            for (kernel, time, calls) in profiler.report {
                let padded = kernel.padding(toLength: 24, withPad: " ", startingAt: 0)
                print(padded + String(format: " %8.2f ms/step  %5.1f%%  %6d calls",
                                      time / Double(repeats) * 1000, 100 * time / total, calls))
            }
        }
    }
}
