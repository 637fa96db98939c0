// Fused scan kernels against their plain references: ns per (l, d, n) element, medians of repeated runs, on 1 and 2
// threads, and the ratio fused / reference measured in the same process.
import Foundation
import MambaKit

struct Settings {
    var length = 4096, channels = 512, state = 16, batch = 1
    var fusedRepeats = 15, referenceRepeats = 3
    var threads = [1, 2]

    init(arguments: [String]) {
        var index = 1
        func value() -> Int {
            index += 1
            guard index < arguments.count, let number = Int(arguments[index]), number > 0 else {
                FileHandle.standardError.write(Data("expected a positive integer after \(arguments[index - 1])\n".utf8))
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
            case "--reference-repeats": referenceRepeats = value()
            case "--threads": threads = [value()]
            default:
                FileHandle.standardError.write(Data("""
                    usage: ScanBenchmark [--length L] [--channels D] [--state N] [--batch B] [--repeats R]
                                         [--reference-repeats R] [--threads T]

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
for benchmarkCase in cases {
    print("\n\(benchmarkCase.name)")
    let referenceRuns = (0..<settings.referenceRepeats).map { _ in measure { benchmarkCase.run(false, yReference) } }
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
