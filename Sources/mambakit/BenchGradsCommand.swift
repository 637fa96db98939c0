// `mambakit bench grads`: the speed and peak memory of MambaModel.lossAndGradients (forward + backward of the mean
// next-token cross-entropy, no optimizer) on a random model, beside the inference forward measured in the same run.
import ArgumentParser
import Foundation
import MambaKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mambakit bench grads --batch B --length L --d-model D --layers N --d-state S --expand E`.
struct BenchGrads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grads",
        abstract: "Time forward + backward (loss and every gradient) of a random Mamba LM.",
        discussion: """
        Builds a random model, runs --warmup untimed steps, then --repeats timed lossAndGradients calls (the median \
        wall time and the mean CPU time, user + system over all threads, are reported), then as many inference \
        forwards as the baseline. Peak RSS is getrusage's ru_maxrss for the whole process (model, gradients, \
        activations). --forward-repeats 0 skips the baseline (for memory measurements).
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
    @Option(help: "Mixer activations: save, recompute or automatic.") var activations = "automatic"
    @Option(name: .customLong("scan-chunk-length"), help: "Scan steps between kept scan states (default: the scan's recommendation).") var scanChunkLength: Int?
    @Option(help: "Untimed steps first.") var warmup = 1
    @Option(help: "Timed steps (the median is reported).") var repeats = 5
    @Option(name: .customLong("forward-repeats"), help: "Timed inference forwards for the baseline (typical 3-10).") var forwardRepeats = 5
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also print the time spent in each kernel per step.") var profile = false

    func validate() throws {
        guard batch >= 1, length >= 2, repeats >= 1, warmup >= 0, forwardRepeats >= 0, (scanChunkLength ?? 1) >= 1 else {
            throw ValidationError("--batch, --repeats, --scan-chunk-length must be >= 1, --length >= 2, --warmup and --forward-repeats >= 0")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be >= 1, found \(threads)") }
        guard MixerKind(rawValue: mixer) != nil else { throw ValidationError("--mixer must be s6 or s4d, found \(mixer)") }
        guard ["save", "recompute", "automatic"].contains(activations) else {
            throw ValidationError("--activations must be save, recompute or automatic, found \(activations)")
        }
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
            throw commandFailure("bench grads", error)
        }
        var generator = Xoshiro256StarStar(seed: 2)
        let ids = (0..<(batch * length)).map { _ in Int32(generator.next() % UInt64(vocab)) }
        let tokens = try TokenBatch(ids: ids, batch: batch, length: length)
        let policy: TrainingOptions.Activations = activations == "save" ? .save
            : activations == "recompute" ? .recompute : .automatic
        let options = TrainingOptions(activations: policy, scanChunkLength: scanChunkLength)
        let gradients = Tensor(zeros: [model.layout.totalCount])

        func measure(_ count: Int, _ body: () throws -> Void) rethrows -> (median: Double, cpu: Double) {
            var seconds: [Double] = []
            let cpuBefore = BenchForward.cpuSeconds()
            for _ in 0..<count {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            seconds.sort()
            guard !seconds.isEmpty else { return (0, 0) }
            let median = seconds.count % 2 == 1 ? seconds[seconds.count / 2]
                : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
            return (median, (BenchForward.cpuSeconds() - cpuBefore) / Double(max(count, 1)))
        }
        var loss = 0.0
        for _ in 0..<warmup {
            loss = try model.lossAndGradients(tokens, objective: .nextToken, gradients: gradients, options: options).loss
        }
        profiler?.reset()
        let step = try measure(repeats) {
            loss = try model.lossAndGradients(tokens, objective: .nextToken, gradients: gradients, options: options).loss
        }
        let kernels = profiler?.report ?? []
        let kernelCPU = Dictionary(uniqueKeysWithValues: (profiler?.cpuReport ?? []).map { ($0.kernel, $0.seconds) })
        let peak = Self.peakResidentBytes()
        let forward = try measure(forwardRepeats) { withExtendedLifetime(try model.forward(tokens)) {} }
        let tokenCount = Double(batch * length)
        let gemmRate = Self.gemmCPURate(rows: batch * length, configuration: model.configuration)
        // The matrix-multiply bound: the step's GEMM work at the baseline's rate, in tokens per CPU-second.
        let gemmBound = gemmRate * 1e9 / (3 * BenchForward.flopsPerToken(model.configuration))
        // GEMM work: the forward's, twice more for the backward (dX and dW), plus the recomputed forward (all but
        // out_proj and the head) when activations are recomputed.
        let forwardFlops = BenchForward.flopsPerToken(model.configuration)
        let stepFlops = 3 * forwardFlops
        if json {
            var object: [String: Any] = [
                "tokens_per_second": tokenCount / step.median, "median_seconds": step.median,
                "cpu_seconds_per_step": step.cpu, "tokens_per_cpu_second": tokenCount / step.cpu,
                "peak_rss_bytes": peak, "loss": loss, "batch": batch, "length": length, "d_model": dModel,
                "layers": layers, "d_state": dState, "expand": expand, "vocab": vocab, "mixer": mixer,
                "activations": activations, "threads": Parallel.threadCount, "parameters": model.layout.totalCount,
                "gemm_flops_per_token": stepFlops, "gemm_gflops": stepFlops * tokenCount / step.median / 1e9,
                "gemm_baseline_gflops_per_cpu_second": gemmRate, "gemm_bound_tokens_per_cpu_second": gemmBound,
            ]
            if forwardRepeats > 0 {
                object["forward_tokens_per_second"] = tokenCount / forward.median
                object["forward_cpu_seconds"] = forward.cpu
                object["step_over_forward"] = step.median / forward.median
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "grads B=%d L=%d d_model=%d layers=%d d_state=%d expand=%d mixer=%@ activations=%@ threads=%d",
                         batch, length, dModel, layers, dState, expand, mixer, activations, Parallel.threadCount))
            print(String(format: "forward+backward: median %.4f s of %d: %.0f tokens/s; CPU %.4f s per step (%.0f tokens per CPU-second); loss %.4f",
                         step.median, repeats, tokenCount / step.median, step.cpu, tokenCount / step.cpu, loss))
            print(String(format: "peak RSS %d bytes (%.1f MiB); GEMM work %.2f MFLOP/token = %.1f GFLOP/s",
                         peak, Double(peak) / 1_048_576, stepFlops / 1e6, stepFlops * tokenCount / step.median / 1e9))
            print(String(format: "baseline: an in_proj-shaped GEMM alone runs at %.1f GFLOP per CPU-second now, so the step's GEMM work alone would allow %.0f tokens per CPU-second (measured: %.0f%% of that)",
                         gemmRate, gemmBound, 100 * tokenCount / step.cpu / gemmBound))
            if forwardRepeats > 0 {
                print(String(format: "inference forward: median %.4f s: %.0f tokens/s; CPU %.4f s; step / forward = %.2f (wall), %.2f (CPU)",
                             forward.median, tokenCount / forward.median, forward.cpu, step.median / forward.median,
                             step.cpu / forward.cpu))
            }
        }
        if profiler != nil {
            let totalCPU = kernelCPU.values.reduce(0, +)
            print("kernel                        wall ms/step   CPU ms/step  CPU share  calls/step")
            for (kernel, time, calls) in kernels.sorted(by: { kernelCPU[$0.kernel, default: 0] > kernelCPU[$1.kernel, default: 0] }) {
                let cpu = kernelCPU[kernel, default: 0]
                let padded = kernel.padding(toLength: 28, withPad: " ", startingAt: 0)
                print(padded + String(format: " %12.2f  %12.2f  %8.1f%%  %10d", time / Double(repeats) * 1000,
                                      cpu / Double(repeats) * 1000, 100 * cpu / totalCPU, calls / repeats))
            }
        }
    }

    /// GFLOP per CPU-second of `BLAS.gemm` on the in_proj shape (rows, d_model) · (d_model, 2·d_inner), measured in
    /// process CPU time (median of 5 after one warm-up): the machine's matrix-multiply speed now, which on a shared
    /// machine wall time does not show.
    static func gemmCPURate(rows: Int, configuration c: MambaConfiguration) -> Double {
        let m = rows, k = c.hiddenSize, n = 2 * c.intermediateSize
        let a = Tensor(shape: [m, k], repeating: 0.5), b = Tensor(shape: [n, k], repeating: 0.25)
        let out = Tensor(zeros: [m, n])
        var times: [Double] = []
        withExtendedLifetime((a, b, out)) {
            for _ in 0..<6 {
                let start = BenchForward.cpuSeconds()
                BLAS.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                          b: b.pointer, ldb: k, beta: 0, c: out.pointer, ldc: n)
                times.append(BenchForward.cpuSeconds() - start)
            }
        }
        times = Array(times.dropFirst()).sorted()
        return 2 * Double(m) * Double(n) * Double(k) / max(times[times.count / 2], 1e-9) / 1e9
    }

    /// getrusage's ru_maxrss in bytes (kilobytes on Linux, bytes on macOS).
    static func peakResidentBytes() -> Int {
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
