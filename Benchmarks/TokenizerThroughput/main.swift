// Tokenizer throughput against the plain definitions they are tested against, measured in the same run:
//   DNA:    DNATokenizer.encode (256-entry table, branch-free error flag) vs a map over DNATokenizer.token(forByte:)
//           (the switch the table is built from);
//   mu-law: MuLawTokenizer.encode (exact edges, branch-free binary search) vs the closed formula in Float
//           (log1p per sample, as torchaudio computes it) and in Double;
//   linear: LinearTokenizer.encode vs the closed formula in Double.
//
//   swift run -c release tokenizer-throughput [--repetitions N (7)] [--megabytes N (64)]
//
// Reported: medians over the repetitions (fast path and baseline alternate, so drift hits both), ns per element, and
// the ratio baseline time / fast time (above 1: the fast path is faster).
import Foundation
import MambaKit

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// Runs `fast` and `baseline` alternately `repetitions` times; prints medians and the ratio.
func compare(_ name: String, elements: Int, repetitions: Int, fast: () throws -> Int, baseline: () throws -> Int)
    rethrows
{
    var fastTimes: [Double] = [], baseTimes: [Double] = []
    var sink = 0
    for _ in 0..<repetitions {
        fastTimes.append(try seconds { sink &+= try fast() })
        baseTimes.append(try seconds { sink &+= try baseline() })
    }
    let f = median(fastTimes), b = median(baseTimes)
    let perF = f / Double(elements) * 1e9, perB = b / Double(elements) * 1e9
    print(String(format: "%@: fast %.3f ns/element, baseline %.3f ns/element, ratio %.2f (checksum %d)",
                 name, perF, perB, b / f, sink & 0xFF))
}

var repetitions = 7
var megabytes = 64
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let flag = args.removeFirst()
    guard let value = args.first.flatMap(Int.init), value > 0 else {
        print("usage: tokenizer-throughput [--repetitions N] [--megabytes N]"); exit(2)
    }
    args.removeFirst()
    switch flag {
    case "--repetitions": repetitions = value
    case "--megabytes": megabytes = value
    default: print("unknown argument \(flag)"); exit(2)
    }
}

var rng = SplitMix64(state: 7)
let alphabet = Array("ACGTACGTACGTacgtN".utf8)
let bases = (0..<(megabytes << 20)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
let dna = DNATokenizer()
// The plain definition must agree before it is timed against.
let check = try dna.encode(bases.prefix(100_000))
precondition(check == bases.prefix(100_000).map { DNATokenizer.token(forByte: $0)! })
try compare("DNA encode", elements: bases.count, repetitions: repetitions,
            fast: { try dna.encode(bases).count },
            baseline: { bases.map { DNATokenizer.token(forByte: $0)! }.count })

// The loop alone: 1 MiB blocks into one reused output buffer, so page faults of fresh arrays are not counted.
var reused = [Int32](repeating: 0, count: 1 << 20)
try compare("DNA encode into a reused buffer", elements: bases.count, repetitions: repetitions,
            fast: {
                var total = 0
                bases.withUnsafeBufferPointer { all in
                    reused.withUnsafeMutableBufferPointer { out in
                        var start = 0
                        while start < all.count {
                            let block = UnsafeBufferPointer(rebasing: all[start..<min(start + out.count, all.count)])
                            if dna.encode(block, into: out) == nil { total &+= Int(out[0]) }
                            start += block.count
                        }
                    }
                }
                return total
            },
            baseline: {
                var total = 0
                bases.withUnsafeBufferPointer { all in
                    reused.withUnsafeMutableBufferPointer { out in
                        var start = 0
                        while start < all.count {
                            let end = min(start + out.count, all.count)
                            for i in start..<end { out[i - start] = DNATokenizer.token(forByte: all[i])! }
                            total &+= Int(out[0])
                            start = end
                        }
                    }
                }
                return total
            })

let sampleCount = megabytes << 18  // 4 bytes per sample: the same memory as the bases
let samples = (0..<sampleCount).map { _ in Float(Double(rng.next() >> 11) * 0x1p-53 * 2 - 1) * 0.8 }
let muLaw = try MuLawTokenizer()
let mu: Float = 255
let logMu = Foundation.log1p(mu)
let muD = 255.0
let logMuD = Foundation.log1p(muD)
try compare("mu-law encode vs Float formula", elements: samples.count, repetitions: repetitions,
            fast: { try muLaw.encode(samples).count },
            baseline: {
                samples.map { x -> Int32 in
                    let f = (x < 0 ? -1 : 1) * Foundation.log1p(mu * abs(x)) / logMu
                    return Int32(((f + 1) / 2 * mu + 0.5).rounded(.down))
                }.count
            })
try compare("mu-law encode vs Double formula", elements: samples.count, repetitions: repetitions,
            fast: { try muLaw.encode(samples).count },
            baseline: {
                samples.map { x -> Int32 in
                    let v = Double(x)
                    let f = (v < 0 ? -1 : 1) * Foundation.log1p(muD * abs(v)) / logMuD
                    return Int32(((f + 1) / 2 * muD + 0.5).rounded(.down))
                }.count
            })
let linear = try LinearTokenizer()
try compare("linear encode vs Double formula", elements: samples.count, repetitions: repetitions,
            fast: { try linear.encode(samples).count },
            baseline: {
                samples.map { x -> Int32 in Int32(min(max(((Double(x) + 1) * 128).rounded(.down), 0), 255)) }.count
            })
let tokens = try muLaw.encode(samples)
try compare("mu-law decode vs Double formula", elements: tokens.count, repetitions: repetitions,
            fast: { try muLaw.decode(tokens).count },
            baseline: {
                tokens.map { q -> Float in
                    let y = 2 * Double(q) / muD - 1
                    return Float((y < 0 ? -1 : 1) * (Foundation.pow(1 + muD, abs(y)) - 1) / muD)
                }.count
            })
