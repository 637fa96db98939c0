// Audio tokens: μ-law and linear quantization against their closed formulas (evaluated here in Double, written
// independently of the module), round-trip error bounds, and per-clip normalization.
import Foundation
import Testing
import _MambaTestSupport
@testable import MambaTokenizers

/// Test inputs: a dense uniform grid over [-1.2, 1.2] (beyond full scale, to see saturation), points around
/// `extra` (the bin edges) one Float step either side, and special values.
func sampleGrid(extra: [Float] = []) -> [Float] {
    var xs = (0...240_000).map { Float(-1.2 + 2.4 * Double($0) / 240_000) }
    for e in extra { xs += [e.nextDown, e, e.nextUp] }
    xs += [0, -0.0, 1, -1, Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude, 1e-30, -1e-30, 1e30, -1e30]
    return xs
}

/// μ-law closed formula (torchaudio's mu_law_encoding) in Double; also how far the scaled value lies from the
/// nearest integer, since Double rounding can only decide the bin when that distance is not tiny.
func muLawReference(_ x: Float, mu: Double) -> (q: Int32, margin: Double) {
    let v = min(max(Double(x), -1), 1)
    let f = (v < 0 ? -1.0 : (v > 0 ? 1.0 : 0.0)) * Foundation.log1p(mu * abs(v)) / Foundation.log1p(mu)
    let scaled = (f + 1) / 2 * mu + 0.5
    return (Int32(scaled.rounded(.down)), abs(scaled - scaled.rounded()))
}

func muLawExpand(_ q: Int32, mu: Double) -> Double {
    let y = 2 * Double(q) / mu - 1
    return (y < 0 ? -1.0 : 1.0) * (Foundation.pow(1 + mu, abs(y)) - 1) / mu
}

@Suite("Audio tokenizers")
struct AudioTokenizerTests {
    @Test("mu-law encode equals the closed formula wherever Double can tell the bin")
    func muLawEncodeMatchesFormula() throws {
        let tokenizer = try MuLawTokenizer()
        #expect(tokenizer.levels == 256 && tokenizer.mu == 255)
        let edges = (1...255).map { Float(referenceEdge($0, mu: 255)) }
        let xs = sampleGrid(extra: edges)
        let tokens = try tokenizer.encode(xs)
        var ambiguous = 0
        for (x, q) in zip(xs, tokens) {
            let reference = muLawReference(x, mu: 255)
            if reference.margin < 1e-9 { ambiguous += 1; continue }
            #expect(q == reference.q, "x = \(x)")
        }
        #expect(ambiguous < 20)  // only points sitting on an edge
        // Short inputs take the one-at-a-time search, long ones eight at a time: both must agree.
        for k in stride(from: 0, to: xs.count, by: 97) {
            #expect(try tokenizer.encode([xs[k]]) == [tokens[k]], "x = \(xs[k])")
            #expect(try tokenizer.encode(Array(xs[k..<min(k + 11, xs.count)])) == Array(tokens[k..<min(k + 11, xs.count)]))
        }
        #expect(try tokenizer.encode([0, -0.0, 1, -1, 2, -5, 1e-30, -1e-30]) == [128, 128, 255, 0, 255, 0, 128, 127])
    }

    @Test("mu-law decode returns the bin centre of the closed formula; every centre encodes to its own token")
    func muLawDecode() throws {
        let tokenizer = try MuLawTokenizer()
        let all = (0..<256).map(Int32.init)
        let decoded = try tokenizer.decode(all)
        for (q, x) in zip(all, decoded) {
            #expect(abs(Double(x) - muLawExpand(q, mu: 255)) <= 1e-7 * max(1, abs(Double(x))), "q = \(q)")
        }
        #expect(decoded[255] == 1 && decoded[0] == -1)
        #expect(decoded[128] == -decoded[127] && decoded[128] > 0 && decoded[128] < 1e-4)
        #expect(try tokenizer.encode(decoded) == all)
    }

    @Test("mu-law round trip error is within half a companded bin, for several level counts")
    func muLawRoundTrip() throws {
        for levels in [256, 16, 1024] {
            let tokenizer = try MuLawTokenizer(levels: levels)
            let mu = Double(levels - 1)
            let xs = sampleGrid().filter { abs($0) <= 1 }
            let back = try tokenizer.decode(try tokenizer.encode(xs))
            let step = Foundation.pow(1 + mu, 1 / mu) - 1
            for (x, y) in zip(xs, back) {
                let bound = (abs(Double(x)) + 1 / mu) * step * (1 + 1e-6) + 1e-7
                #expect(abs(Double(y) - Double(x)) <= bound, "levels \(levels), x = \(x), decoded \(y)")
            }
        }
    }

    @Test("linear encode equals the formula exactly, edges included; round trip within 1/levels")
    func linear() throws {
        let tokenizer = try LinearTokenizer()
        let edges = (1..<256).map { Float(Double($0) / 128 - 1) }
        let xs = sampleGrid(extra: edges)
        let tokens = try tokenizer.encode(xs)
        for (x, q) in zip(xs, tokens) {
            // The token is the number of bin edges at or below x; the edges k/128 − 1 are exact Floats, so the
            // comparison is exact (tiny negative x belongs below the edge at 0, which x + 1 in Double cannot see).
            var lo = 0, hi = edges.count  // binary search for the count of edges <= x
            while lo < hi { let mid = (lo + hi) / 2; if edges[mid] <= x { lo = mid + 1 } else { hi = mid } }
            #expect(q == Int32(lo), "x = \(x)")
        }
        for (k, e) in edges.enumerated() {
            #expect(try tokenizer.encode([e, e.nextDown]) == [Int32(k + 1), Int32(k)])
        }
        let all = (0..<256).map(Int32.init)
        let centres = try tokenizer.decode(all)
        #expect(centres == all.map { Float((2 * Double($0) + 1) / 256 - 1) })
        #expect(try tokenizer.encode(centres) == all)
        let inRange = xs.filter { abs($0) <= 1 }
        let back = try tokenizer.decode(try tokenizer.encode(inRange))
        #expect(maxAbsoluteDifference(back, inRange) <= 1.0 / 256 + 1e-7)
        let four = try LinearTokenizer(levels: 4)
        #expect(try four.encode([-1, -0.5, Float(-0.5).nextDown, 0, 0.99, 1]) == [0, 1, 0, 2, 3, 3])
        #expect(try four.decode([0, 1, 2, 3]) == [-0.75, -0.25, 0.25, 0.75])
    }

    @Test("non-finite samples and out-of-range tokens are errors at their index")
    func badInput() throws {
        let quantizers: [any AudioQuantizer] = [try MuLawTokenizer(), try LinearTokenizer()]
        for quantizer in quantizers {
            #expect(throws: TokenizerError.nonFiniteSample(index: 2, value: .nan)) {
                try quantizer.encode([0, 0.5, .nan, .infinity])
            }
            #expect(throws: TokenizerError.nonFiniteSample(index: 0, value: -.infinity)) {
                try quantizer.encode([-.infinity])
            }
            #expect(throws: TokenizerError.tokenOutOfRange(index: 1, token: 256, vocabularySize: 256)) {
                try quantizer.decode([3, 256, -1])
            }
            #expect(throws: TokenizerError.tokenOutOfRange(index: 0, token: -1, vocabularySize: 256)) {
                try quantizer.decode([-1])
            }
            #expect(try quantizer.encode([]) == [] && quantizer.decode([]) == [])
        }
        #expect(throws: TokenizerError.self) { try MuLawTokenizer(levels: 1) }
        #expect(throws: TokenizerError.self) { try LinearTokenizer(levels: 65537) }
    }

    @Test("normalization reaches its target and restore inverts it")
    func normalization() throws {
        var rng = SplitMix(seed: 5)
        let clip = (0..<4000).map { _ in 0.3 * rng.uniform() - 0.1 }  // mean 0.05: a DC offset
        let n = Double(clip.count)
        for mode in AudioNormalizer.Mode.allCases {
            let normalizer = try AudioNormalizer(mode: mode, target: 0.5)
            let result = try normalizer.normalize(clip)
            let y = result.samples.map(Double.init)
            let mean = y.reduce(0, +) / n
            switch mode {
            case .none:
                #expect(result.samples == clip && result.gain == 1 && result.offset == 0)
            case .peak:
                #expect(abs(y.map(abs).max()! - 0.5) < 1e-6)
            case .rms:
                #expect(abs((y.map { $0 * $0 }.reduce(0, +) / n).squareRoot() - 0.5) < 1e-6)
                #expect(result.offset == 0)
            case .standardize:
                #expect(abs(mean) < 1e-6)
                #expect(abs((y.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot() - 0.5) < 1e-6)
            }
            let restored = AudioNormalizer.restore(result.samples, gain: result.gain, offset: result.offset)
            #expect(maxAbsoluteDifference(restored, clip) < 1e-6, "\(mode)")
        }
    }

    @Test("silent clips keep gain 1; bad arguments and samples are errors")
    func normalizationEdgeCases() throws {
        for mode in AudioNormalizer.Mode.allCases {
            let result = try AudioNormalizer(mode: mode).normalize([0, 0, 0])
            #expect(result.samples == [0, 0, 0] && result.gain == 1)
            #expect(try AudioNormalizer(mode: mode).normalize([]).samples.isEmpty)
        }
        let dc = try AudioNormalizer(mode: .standardize).normalize([0.25, 0.25])
        #expect(dc.samples == [0, 0] && dc.gain == 1 && dc.offset == 0.25)
        #expect(throws: TokenizerError.nonFiniteSample(index: 1, value: .nan)) {
            try AudioNormalizer(mode: .none).normalize([0, .nan])
        }
        #expect(throws: TokenizerError.self) { try AudioNormalizer(mode: .peak, target: 0) }
        #expect(throws: TokenizerError.self) { try AudioNormalizer(mode: .peak, silenceThreshold: -1) }
        let saved = try JSONEncoder().encode(try AudioNormalizer(mode: .rms, target: 0.1))
        #expect(try JSONDecoder().decode(AudioNormalizer.self, from: saved) == (try AudioNormalizer(mode: .rms,
                                                                                                 target: 0.1)))
        let corrupt = Data(#"{"mode": "peak", "target": -1, "silenceThreshold": 0}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AudioNormalizer.self, from: corrupt) }
    }
}

/// The x where the μ-law token steps from k − 1 to k: F⁻¹((2k − 1)/μ − 1), in Double.
func referenceEdge(_ k: Int, mu: Double) -> Double {
    let y = (2 * Double(k) - 1) / mu - 1
    return (y < 0 ? -1.0 : 1.0) * (Foundation.pow(1 + mu, abs(y)) - 1) / mu
}
