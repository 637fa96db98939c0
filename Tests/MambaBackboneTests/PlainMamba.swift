// A plain, loop-by-loop Mamba in Double, one unpadded sequence at a time: the oracle for MambaModel's batched,
// chunked, padded forward. Written from the formulas in Layers/MambaMixer.swift and MambaModel.swift, sharing no code
// with them except reading parameters by name.
import Foundation
import MambaBackbone
import MambaTensor

struct PlainMamba {
    let configuration: MambaConfiguration
    let parameter: (String) -> [Double]
    /// ρ = trained rate / input rate: Δ ·= ρ, and the convolution is the continuous kernel through the learned taps
    /// (hat functions on lags 0 ... k − 1 in trained periods), sampled every ρ and multiplied by ρ.
    var timeScale = 1.0

    init(_ model: MambaModel) {
        configuration = model.configuration
        parameter = { name in model.parameter(name)!.array.map(Double.init) }
    }

    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
    static func softplus(_ x: Double) -> Double { x > 20 ? x : log1p(exp(x)) }

    /// (rows, in) · (out, in)ᵀ + bias
    static func linear(_ x: [[Double]], _ w: [Double], out: Int, bias: [Double]?) -> [[Double]] {
        x.map { row in
            (0..<out).map { o in
                var sum = bias?[o] ?? 0
                for i in 0..<row.count { sum += row[i] * w[o * row.count + i] }
                return sum
            }
        }
    }

    func rmsNorm(_ x: [[Double]], _ weight: [Double]) -> [[Double]] {
        x.map { row in
            let scale = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(row.count) + configuration.layerNormEpsilon).squareRoot()
            return row.indices.map { row[$0] * scale * weight[$0] }
        }
    }

    func mixer(_ input: [[Double]], prefix p: String, kind: MixerKind) -> [[Double]] {
        let c = configuration
        let e = c.intermediateSize, n = c.stateSize, r = c.resolvedTimeStepRank, k = c.convKernel
        let l = input.count
        let xz = Self.linear(input, parameter("\(p).in_proj.weight"), out: 2 * e,
                             bias: c.useBias ? parameter("\(p).in_proj.bias") : nil)
        let convW = parameter("\(p).conv1d.weight")
        let convB = c.useConvBias ? parameter("\(p).conv1d.bias") : [Double](repeating: 0, count: e)
        var u = [[Double]](repeating: [Double](repeating: 0, count: e), count: l)
        let rho = timeScale
        // The continuous kernel of channel ch at lag s (trained periods): tap j has lag k − 1 − j.
        func kernel(_ ch: Int, _ s: Double) -> Double {
            (0..<k).reduce(0.0) { $0 + convW[ch * k + k - 1 - $1] * max(0, 1 - abs(s - Double($1))) }
        }
        for t in 0..<l {
            for ch in 0..<e {
                var acc = convB[ch]
                if rho == 1 {
                    for j in 0..<k where t - (k - 1) + j >= 0 { acc += convW[ch * k + j] * xz[t - (k - 1) + j][ch] }
                } else {
                    var m = 0
                    while Double(m) * rho <= Double(k - 1) + 1e-9 && t - m >= 0 {
                        acc += rho * kernel(ch, min(Double(m) * rho, Double(k - 1))) * xz[t - m][ch]
                        m += 1
                    }
                }
                u[t][ch] = Self.silu(acc)
            }
        }
        let aLog = parameter("\(p).A_log"), dSkip = parameter("\(p).D")
        var delta = [[Double]](), bs = [[Double]](), cs = [[Double]]()
        switch kind {
        case .s6:
            let xdbl = Self.linear(u, parameter("\(p).x_proj.weight"), out: r + 2 * n, bias: nil)
            let low = xdbl.map { Array($0[0..<r]) }
            delta = Self.linear(low, parameter("\(p).dt_proj.weight"), out: e, bias: parameter("\(p).dt_proj.bias"))
                .map { $0.map { rho * Self.softplus($0) } }
            bs = xdbl.map { Array($0[r..<r + n]) }
            cs = xdbl.map { Array($0[(r + n)...]) }
        case .s4d:
            let dt = parameter("\(p).dt_bias").map { rho * Self.softplus($0) }
            delta = Array(repeating: dt, count: l)
        }
        let s4dB = kind == .s4d ? parameter("\(p).B") : [], s4dC = kind == .s4d ? parameter("\(p).C") : []
        var y = [[Double]](repeating: [Double](repeating: 0, count: e), count: l)
        for ch in 0..<e {
            var h = [Double](repeating: 0, count: n)
            for t in 0..<l {
                var sum = 0.0
                for s in 0..<n {
                    let a = -exp(aLog[ch * n + s])
                    let bValue = kind == .s6 ? bs[t][s] : s4dB[ch * n + s]
                    let cValue = kind == .s6 ? cs[t][s] : s4dC[ch * n + s]
                    h[s] = exp(delta[t][ch] * a) * h[s] + delta[t][ch] * bValue * u[t][ch]
                    sum += cValue * h[s]
                }
                y[t][ch] = (sum + dSkip[ch] * u[t][ch]) * Self.silu(xz[t][e + ch])
            }
        }
        return Self.linear(y, parameter("\(p).out_proj.weight"), out: c.hiddenSize,
                           bias: c.useBias ? parameter("\(p).out_proj.bias") : nil)
    }

    /// (last hidden state (l, d_model), logits: (l, V) for a causal LM, (1, classes) for a classifier).
    func forward(_ ids: [Int32]) -> (hidden: [[Double]], logits: [[Double]]) {
        let c = configuration
        let d = c.hiddenSize
        let table = parameter("backbone.embeddings.weight")
        var h = ids.map { id in (0..<d).map { table[Int(id) * d + $0] } }
        if let ngram = c.ngramEmbedding {
            // Position t adds the row of the k tokens ids[t-k+1 ... t] read as a base-A number (oldest digit
            // first), or the last row (A^k) when there are fewer than k or one is outside the alphabet.
            let grams = parameter("backbone.ngram_embeddings.weight")
            let a = ngram.alphabet.count
            let shared = Int(pow(Double(a), Double(ngram.order)))
            for t in ids.indices {
                var row = shared
                if t + 1 >= ngram.order {
                    let digits = ids[(t + 1 - ngram.order)...t].map { ngram.alphabet.firstIndex(of: Int($0)) }
                    if digits.allSatisfy({ $0 != nil }) { row = digits.reduce(0) { $0 * a + $1! } }
                }
                for j in 0..<d { h[t][j] += grams[row * d + j] }
            }
        }
        for layer in 0..<c.numHiddenLayers {
            let xn = rmsNorm(h, parameter("backbone.layers.\(layer).norm.weight"))
            var out = mixer(xn, prefix: "backbone.layers.\(layer).mixer", kind: c.mixer(ofLayer: layer))
            if c.bidirectional {
                let name = c.bidirectionalWeightTie ? "mixer" : "mixer_reverse"
                let reversed = mixer(xn.reversed(), prefix: "backbone.layers.\(layer).\(name)", kind: c.mixer(ofLayer: layer))
                for t in 0..<h.count { for j in 0..<d { out[t][j] += reversed[h.count - 1 - t][j] } }
            }
            for t in 0..<h.count { for j in 0..<d { h[t][j] += out[t][j] } }
        }
        h = rmsNorm(h, parameter("backbone.norm_f.weight"))
        switch c.headType {
        case .causalLM:
            let w = c.tieWordEmbeddings ? table : parameter("lm_head.weight")
            return (h, Self.linear(h, w, out: c.paddedVocabSize, bias: nil))
        case .sequenceClassification:
            var pooled = [Double](repeating: 0, count: d)
            if c.classifierPooling == .last {
                pooled = h.last ?? pooled
            } else if c.classifierPooling == .max, let first = h.first {
                pooled = first
                for row in h { for j in 0..<d { pooled[j] = Swift.max(pooled[j], row[j]) } }
            } else if !h.isEmpty {
                for row in h { for j in 0..<d { pooled[j] += row[j] / Double(h.count) } }
            }
            return (h, Self.linear([pooled], parameter("classifier.weight"), out: c.labels.count,
                                   bias: parameter("classifier.bias")))
        }
    }
}
