// Fused scan kernels against their plain references: ns per (l, d, n) element, medians of repeated runs, on 1 and 2
// threads, and the ratio fused / reference measured in the same process. Then the backward kernels against the
// forward measured in the same run (backward / forward), and against their Double references.
import Foundation
import MambaKit

struct Settings {
    var length = 4096, channels = 512, state = 16, batch = 1
    var fusedRepeats = 15, referenceRepeats = 3
    var threads = [1, 2]
    var chunkLength = 64
    var sections: Set<String> = ["forward", "backward"]

    init(arguments: [String]) {
        var index = 1
        func value(minimum: Int = 1) -> Int {
            index += 1
            guard index < arguments.count, let number = Int(arguments[index]), number >= minimum else {
                FileHandle.standardError.write(Data("expected an integer >= \(minimum) after \(arguments[index - 1])\n".utf8))
                exit(2)
            }
            return number
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--length": length = value()
            case "--channels": channels = value()
            case "--state": state = value()
            case "--batch": batch = value()
            case "--repeats": fusedRepeats = value()
            case "--reference-repeats": referenceRepeats = value(minimum: 0)
            case "--threads": threads = [value()]
            case "--chunk": chunkLength = value()
            case "--forward-only": sections = ["forward"]
            case "--backward-only": sections = ["backward"]
            default:
                FileHandle.standardError.write(Data("""
                    usage: ScanBenchmark [--length L] [--channels D] [--state N] [--batch B] [--repeats R]
                                         [--reference-repeats R] [--threads T] [--chunk C]
                                         [--forward-only | --backward-only]

                    """.utf8))
                exit(2)
            }
            index += 1
        }
    }
}

/// Wall-clock and process CPU seconds of `body`. On a shared machine the CPU time of a single-threaded run is the
/// steadier figure (it does not count time slices given to other processes).
func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
    func cpuNow() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
    let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuNow()
    body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, cpuNow() - cpuStart)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func randomTensor(_ shape: [Int], _ generator: inout Xoshiro256StarStar, _ value: (inout Xoshiro256StarStar) -> Float) -> Tensor {
    let tensor = Tensor(zeros: shape)
    for index in 0..<tensor.count { tensor.pointer[index] = value(&generator) }
    return tensor
}

func relativeDifference(_ a: Tensor, _ b: Tensor) -> Double {
    var num = 0.0, den = 0.0
    for index in 0..<a.count {
        let difference = Double(a.pointer[index]) - Double(b.pointer[index])
        num += difference * difference
        den += Double(b.pointer[index]) * Double(b.pointer[index])
    }
    return (num / max(den, .leastNormalMagnitude)).squareRoot()
}

let settings = Settings(arguments: CommandLine.arguments)
let dims = ScanDimensions(batch: settings.batch, length: settings.length, channels: settings.channels,
                          state: settings.state)
let (b, l, d, n) = (dims.batch, dims.length, dims.channels, dims.state)
let elements = Double(b * l * d * n)
var generator = Xoshiro256StarStar(seed: 1)
let u = randomTensor([b, l, d], &generator) { $0.nextNormal() }
let rawDelta = randomTensor([b, l, d], &generator) { $0.nextNormal() - 3 }
let positiveDelta = randomTensor([b, l, d], &generator) { 0.001 + 0.099 * $0.nextUniform() }
let A = randomTensor([d, n], &generator) { -0.5 * VectorMath.exp($0.nextUniform() * 3.5) }
let B = randomTensor([b, l, n], &generator) { $0.nextNormal() }
let C = randomTensor([b, l, n], &generator) { $0.nextNormal() }
let D = randomTensor([d], &generator) { $0.nextNormal() }
let z = randomTensor([b, l, d], &generator) { $0.nextNormal() }
let bias = randomTensor([d], &generator) { $0.nextNormal() * 0.5 }
let s4dDelta = randomTensor([d], &generator) { 0.001 + 0.099 * $0.nextUniform() }
let s4dB = randomTensor([d, n], &generator) { $0.nextNormal() }
let s4dC = randomTensor([d, n], &generator) { $0.nextNormal() }
let yFused = Tensor(zeros: [b, l, d]), yReference = Tensor(zeros: [b, l, d])

/// One configuration: a closure running the scan into `y` with the fused (true) or reference (false) kernel.
struct Case {
    let name: String
    let run: (_ fused: Bool, _ y: Tensor) -> Void
}

let cases = [
    Case(name: "selective, plain (delta > 0, no D/z/softplus)") { fused, y in
        let scan = fused ? SelectiveScan.forward : SelectiveScan.reference
        scan(dims, u.pointer, positiveDelta.pointer, A.pointer, B.pointer, C.pointer, nil, nil, nil, false, 1,
             nil, nil, y.pointer, nil, 0, nil)
    },
    Case(name: "selective, Mamba block (softplus(delta + bias), D, z)") { fused, y in
        let scan = fused ? SelectiveScan.forward : SelectiveScan.reference
        scan(dims, u.pointer, rawDelta.pointer, A.pointer, B.pointer, C.pointer, D.pointer, z.pointer,
             bias.pointer, true, 1, nil, nil, y.pointer, nil, 0, nil)
    },
    Case(name: "S4D (D, z)") { fused, y in
        let scan = fused ? S4DScan.forward : S4DScan.reference
        scan(dims, u.pointer, s4dDelta.pointer, A.pointer, s4dB.pointer, s4dC.pointer, D.pointer, z.pointer,
             nil, nil, y.pointer, nil, 0, nil)
    },
]

print("scan benchmark: \(dims), \(settings.fusedRepeats) fused / \(settings.referenceRepeats) reference runs, medians")
print("ns per (l, d, n) element; reference = plain loops in Double with libm exp, single-threaded")
for benchmarkCase in cases where settings.sections.contains("forward") {
    print("\n\(benchmarkCase.name)")
    // At least once: the ratio needs it (0 only skips the backward references).
    let referenceRuns = (0..<max(settings.referenceRepeats, 1)).map { _ in measure { benchmarkCase.run(false, yReference) } }
    let reference = median(referenceRuns.map(\.wall)), referenceCPU = median(referenceRuns.map(\.cpu))
    print(String(format: "  reference            wall %8.3f ns/element   cpu %8.3f", reference / elements * 1e9,
                 referenceCPU / elements * 1e9))
    for threads in settings.threads {
        Parallel.threadCount = threads
        benchmarkCase.run(true, yFused)   // warm-up (pages, pool threads)
        let runs = (0..<settings.fusedRepeats).map { _ in measure { benchmarkCase.run(true, yFused) } }
        let fused = median(runs.map(\.wall)), fusedCPU = median(runs.map(\.cpu))
        print(String(format: "  fused, %d thread(s)   wall %8.3f ns/element   cpu %8.3f   fused/reference wall %.4f, cpu %.4f",
                     threads, fused / elements * 1e9, fusedCPU / elements * 1e9, fused / reference,
                     fusedCPU / referenceCPU))
    }
    print(String(format: "  relative difference fused vs reference: %.2e", relativeDifference(yFused, yReference)))
}

// MARK: - Backward

/// One backward configuration: the forward without chunk states, the forward writing them, the fused backward and
/// the reference backward, each a closure over the shared buffers.
struct BackwardCase {
    let name: String
    let forward: (_ chunkStates: Tensor?) -> Void
    let backward: (_ fused: Bool, _ chunkStates: Tensor, _ du: Tensor) -> Void
}

if settings.sections.contains("backward") {
    let chunk = settings.chunkLength
    let chunkStates = Tensor(zeros: [b, dims.chunkCount(chunkLength: chunk), d, n])
    let dy = randomTensor([b, l, d], &generator) { $0.nextNormal() }
    let duFused = Tensor(zeros: [b, l, d]), duReference = Tensor(zeros: [b, l, d])
    let ddelta = Tensor(zeros: [b, l, d]), dz = Tensor(zeros: [b, l, d])
    let dB = Tensor(zeros: [b, l, n]), dC = Tensor(zeros: [b, l, n])
    let dA = Tensor(zeros: [d, n]), dD = Tensor(zeros: [d]), ddeltaBias = Tensor(zeros: [d])
    let dInitial = Tensor(zeros: [b, d, n])
    let s4dGradients = (ddelta: Tensor(zeros: [d]), dB: Tensor(zeros: [d, n]), dC: Tensor(zeros: [d, n]))
    let backwardCases = [
        BackwardCase(name: "selective, Mamba block (softplus(delta + bias), D, z)", forward: { states in
            SelectiveScan.forward(dims, u: u.pointer, delta: rawDelta.pointer, A: A.pointer, B: B.pointer,
                                  C: C.pointer, D: D.pointer, z: z.pointer, deltaBias: bias.pointer,
                                  deltaSoftplus: true, lengths: nil, initialState: nil, y: yFused.pointer,
                                  finalState: nil, chunkLength: chunk, chunkStates: states?.pointer)
        }, backward: { fused, states, du in
            let kernel = fused ? SelectiveScan.backward : SelectiveScan.backwardReference
            kernel(dims, u.pointer, rawDelta.pointer, A.pointer, B.pointer, C.pointer, D.pointer, z.pointer,
                   bias.pointer, true, 1, nil, nil, states.pointer, chunk, dy.pointer, du.pointer, ddelta.pointer,
                   dA.pointer, dB.pointer, dC.pointer, dD.pointer, dz.pointer, ddeltaBias.pointer, dInitial.pointer,
                   nil)
        }),
        BackwardCase(name: "S4D (D, z)", forward: { states in
            S4DScan.forward(dims, u: u.pointer, delta: s4dDelta.pointer, A: A.pointer, B: s4dB.pointer,
                            C: s4dC.pointer, D: D.pointer, z: z.pointer, lengths: nil, initialState: nil,
                            y: yFused.pointer, finalState: nil, chunkLength: chunk, chunkStates: states?.pointer)
        }, backward: { fused, states, du in
            let kernel = fused ? S4DScan.backward : S4DScan.backwardReference
            kernel(dims, u.pointer, s4dDelta.pointer, A.pointer, s4dB.pointer, s4dC.pointer, D.pointer, z.pointer,
                   nil, nil, states.pointer, chunk, dy.pointer, du.pointer, s4dGradients.ddelta.pointer, dA.pointer,
                   s4dGradients.dB.pointer, s4dGradients.dC.pointer, dD.pointer, dz.pointer, dInitial.pointer, nil)
        }),
    ]
    print("\nbackward: \(dims), chunk length \(chunk), \(settings.fusedRepeats) runs of each kernel in alternation, medians")
    print("forward = fused forward without chunk states; forward+states = writing them (what training runs)")
    for benchmarkCase in backwardCases {
        print("\n\(benchmarkCase.name)")
        for threads in settings.threads {
            Parallel.threadCount = threads
            benchmarkCase.forward(chunkStates)    // warm-up
            benchmarkCase.backward(true, chunkStates, duFused)
            var forwardRuns: [(wall: Double, cpu: Double)] = [], statesRuns = forwardRuns, backwardRuns = forwardRuns
            for _ in 0..<settings.fusedRepeats {
                forwardRuns.append(measure { benchmarkCase.forward(nil) })
                statesRuns.append(measure { benchmarkCase.forward(chunkStates) })
                backwardRuns.append(measure { benchmarkCase.backward(true, chunkStates, duFused) })
            }
            func report(_ label: String, _ runs: [(wall: Double, cpu: Double)]) {
                let wall = median(runs.map(\.wall)), cpu = median(runs.map(\.cpu))
                let forwardWall = median(forwardRuns.map(\.wall)), forwardCPU = median(forwardRuns.map(\.cpu))
                let padded = label.padding(toLength: 15, withPad: " ", startingAt: 0)
                print("  \(threads) thread(s) \(padded)" + String(
                    format: " wall %8.3f ms %7.3f ns/element   cpu %7.3f ns/element   / forward: wall %.2f, cpu %.2f",
                    wall * 1e3, wall / elements * 1e9, cpu / elements * 1e9, wall / forwardWall, cpu / forwardCPU))
            }
            report("forward", forwardRuns)
            report("forward+states", statesRuns)
            report("backward", backwardRuns)
            let total = zip(statesRuns, backwardRuns).map { (wall: $0.wall + $1.wall, cpu: $0.cpu + $1.cpu) }
            report("fwd+states+bwd", total)
        }
        if settings.referenceRepeats > 0 {
            let referenceRuns = (0..<settings.referenceRepeats).map { _ in
                measure { benchmarkCase.backward(false, chunkStates, duReference) }
            }
            let fusedRun = measure { benchmarkCase.backward(true, chunkStates, duFused) }
            print(String(format: "  reference backward wall %7.3f ns/element (fused / reference, %d thread(s): %.4f); relative difference of du: %.2e",
                         median(referenceRuns.map(\.wall)) / elements * 1e9, Parallel.threadCount,
                         fusedRun.wall / median(referenceRuns.map(\.wall)), relativeDifference(duFused, duReference)))
        }
    }
}
