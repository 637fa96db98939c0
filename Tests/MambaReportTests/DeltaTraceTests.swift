// MambaModel.deltaTrace against a plain recomputation in Double from the parameters (by name) and each layer's
// input (the forward's hidden states): rmsnorm, in_proj, causal conv + SiLU, x_proj, dt_proj, softplus.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
@testable import MambaReport
import _MambaTestSupport

private func softplus(_ x: Double) -> Double { x > 20 ? x : log1p(exp(x)) }

/// Δ {l, d_inner} of mixer `prefix` of `model` for the layer input rows `input` {l, d_model}.
private func plainDelta(_ model: MambaModel, layer: Int, mixer: String, input: [[Double]], reverse: Bool) -> [[Double]] {
    let c = model.configuration
    let d = c.hiddenSize, e = c.intermediateSize, n = c.stateSize, r = c.resolvedTimeStepRank, k = c.convKernel
    func p(_ name: String) -> [Double] { model.parameter("backbone.layers.\(layer).\(name)")!.array.map(Double.init) }
    let norm = p("norm.weight")
    var rows = input.map { row -> [Double] in
        let scale = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(d) + c.layerNormEpsilon).squareRoot()
        return row.indices.map { row[$0] * scale * norm[$0] }
    }
    if reverse { rows.reverse() }
    let l = rows.count
    if c.mixer(ofLayer: layer) == .s4d {
        let bias = p("\(mixer).dt_bias")
        let delta = (0..<e).map { softplus(bias[$0]) }
        let result = [[Double]](repeating: delta, count: l)
        return result
    }
    let inProj = p("\(mixer).in_proj.weight")
    let inBias = c.useBias ? p("\(mixer).in_proj.bias") : [Double](repeating: 0, count: 2 * e)
    let x = rows.map { row in (0..<e).map { o in (0..<d).reduce(inBias[o]) { $0 + row[$1] * inProj[o * d + $1] } } }
    let convW = p("\(mixer).conv1d.weight")
    let convB = c.useConvBias ? p("\(mixer).conv1d.bias") : [Double](repeating: 0, count: e)
    let u = (0..<l).map { t in
        (0..<e).map { ch -> Double in
            var acc = convB[ch]
            for j in 0..<k where t - (k - 1) + j >= 0 { acc += convW[ch * k + j] * x[t - (k - 1) + j][ch] }
            return acc / (1 + exp(-acc))
        }
    }
    let xProj = p("\(mixer).x_proj.weight"), dtW = p("\(mixer).dt_proj.weight"), dtB = p("\(mixer).dt_proj.bias")
    _ = n
    var delta = u.map { row in
        let low = (0..<r).map { o in (0..<e).reduce(0.0) { $0 + row[$1] * xProj[o * e + $1] } }
        return (0..<e).map { ch in softplus((0..<r).reduce(dtB[ch]) { $0 + low[$1] * dtW[ch * r + $1] }) }
    }
    if reverse { delta.reverse() }
    return delta
}

private func rows(_ tensor: Tensor, length: Int, width: Int) -> [[Double]] {
    let values = tensor.array.map(Double.init)
    return (0..<length).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
}

private func configuration(mixers: [MixerKind], bidirectional: Bool = false, tied: Bool = true) -> MambaConfiguration {
    var c = MambaConfiguration(vocabSize: 11, hiddenSize: 20, stateSize: 5, numHiddenLayers: mixers.count)
    c.layerMixers = mixers
    c.layerNormEpsilon = 1e-5
    c.bidirectional = bidirectional
    c.bidirectionalWeightTie = tied
    return c
}

/// Random parameters with a visible spread of Δ: dt_proj biases and weights scaled up from the initialisation.
private func model(_ c: MambaConfiguration, seed: UInt64) throws -> MambaModel {
    try MambaModel(configuration: c, seed: seed)
}

@Test(arguments: [("s6+s4d", [MixerKind.s6, .s4d], false, true), ("bidirectional untied", [.s6, .s6], true, false),
                  ("bidirectional tied", [.s4d, .s6], true, true)])
func deltaTraceMatchesAPlainRecomputation(_ name: String, _ mixers: [MixerKind], _ bidirectional: Bool,
                                          _ tied: Bool) throws {
    let c = configuration(mixers: mixers, bidirectional: bidirectional, tied: tied)
    let m = try model(c, seed: 3)
    let ids: [Int32] = [1, 5, 2, 9, 9, 0, 3, 7, 4, 10, 6, 2, 8]
    let l = ids.count, d = c.hiddenSize, e = c.intermediateSize
    // Chunks of 5 positions: the convolution window and state are carried between chunks as in the forward.
    let trace = try m.deltaTrace(ids: ids, chunkRows: 5)
    #expect(trace.length == l && trace.channels == e)
    #expect(trace.layers.count == mixers.count * (bidirectional ? 2 : 1))
    let output = try m.forward(TokenBatch(ids: ids, batch: 1, length: l), options: ForwardOptions(outputHiddenStates: true))
    let table = m.parameter("backbone.embeddings.weight")!.array.map(Double.init)
    var input = ids.map { Array(table[(Int($0) * d)..<((Int($0) + 1) * d)]) }
    var k = 0
    for layer in 0..<mixers.count {
        for reverse in bidirectional ? [false, true] : [false] {
            let got = trace.layers[k]
            #expect(got.layer == layer && got.direction == (reverse ? .reverse : .forward))
            #expect(got.selective == (mixers[layer] == .s6) && got.channels == e && got.length == l)
            let mixer = reverse && !tied ? "mixer_reverse" : "mixer"
            let expected = plainDelta(m, layer: layer, mixer: mixer, input: input, reverse: reverse)
            let error = relativeError(got.values.map(Double.init), reference: expected.flatMap { $0 })
            #expect(error < 1e-5, "\(name) layer \(layer) \(reverse ? "reverse" : "forward"): relative error \(error)")
            k += 1
        }
        input = rows(output.hiddenStates[layer], length: l, width: d)
    }
    // One chunk gives the same Δ as chunks of 5 (to rounding: the GEMMs see other row counts).
    let whole = try m.deltaTrace(ids: ids)
    #expect(maxAbsoluteDifference(whole.layers.flatMap(\.values), trace.layers.flatMap(\.values)) < 1e-6)
}

@Test func deltaTraceOfEmbeddingsEqualsThatOfTheirTokens() throws {
    let c = configuration(mixers: [.s6, .s6])
    let m = try model(c, seed: 11)
    let ids: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
    let d = c.hiddenSize
    let table = m.parameter("backbone.embeddings.weight")!.array
    let embeddings = Tensor(shape: [ids.count, d], values: ids.flatMap { Array(table[(Int($0) * d)..<((Int($0) + 1) * d)]) })
    let fromIDs = try m.deltaTrace(ids: ids)
    let fromEmbeddings = try m.deltaTrace(embeddings: embeddings)
    #expect(maxAbsoluteDifference(fromIDs.layers.flatMap(\.values), fromEmbeddings.layers.flatMap(\.values)) < 1e-6)
    let batched = try m.deltaTrace(embeddings: embeddings.reshaped([1, ids.count, d]))
    #expect(batched == fromEmbeddings)
    // Δ is input-dependent in an S6 layer: different tokens, different Δ.
    let other = try m.deltaTrace(ids: ids.reversed())
    #expect(other.layers[0].values != fromIDs.layers[0].values)
}

@Test func deltaTraceRefusesBadInput() throws {
    let m = try model(configuration(mixers: [.s6]), seed: 1)
    #expect(throws: ModelInputError.self) { try m.deltaTrace(ids: []) }
    #expect(throws: ModelInputError.self) { try m.deltaTrace(ids: [0, 11]) }
    #expect(throws: ModelInputError.self) { try m.deltaTrace(embeddings: Tensor(zeros: [4, 7])) }
    #expect(throws: ModelInputError.self) { try m.deltaTrace(embeddings: Tensor(zeros: [2, 4, 20])) }
}

@Test func relativeDeltaAndItsColourScale() {
    let layer = DeltaTrace.Layer(layer: 0, direction: .forward, selective: true, length: 3,
                                 values: [1, 0.01, 0.5, 1, 1, 0.5, 1, 100, 0.6])
    let relative = DeltaTraceChart.relativeDelta(layer)
    #expect(relative.rows == [1, 2, 0])
    for c in 0..<3 {
        let product = (0..<3).reduce(1.0) { $0 * relative.values[c * 3 + $1] }
        #expect(abs(product - 1) < 1e-12)
    }
    #expect(abs(relative.values[1 * 3 + 2] - 100) < 1e-4)  // channel 1: 0.01, 1, 100 around a mean of 1
    #expect(DeltaTraceChart.ratioAxis(limit: 120, pixels: 200).ticks.map(\.label) == ["0.01×", "0.1×", "1×", "10×", "100×"])
    #expect(DeltaTraceChart.ratioAxis(limit: 3, pixels: 200).ticks.map(\.label) == ["0.5×", "0.67×", "1×", "1.5×", "2×"])
    #expect(DeltaTraceChart.ratioAxis(limit: 1.3, pixels: 200).ticks.map(\.label) == ["0.8×", "0.9×", "1×", "1.1×", "1.25×"])
    // A short bar gets fewer ticks.
    #expect(DeltaTraceChart.ratioAxis(limit: 8, pixels: 80).ticks.map(\.label) == ["0.2×", "1×", "5×"])
    #expect(DeltaTraceChart.ratioAxis(limit: 1.05, pixels: 96).ticks.map(\.label) == ["0.95×", "1×", "1.05×"])
}

@Test func deltaTraceSummaries() {
    // Channel 1 varies most (log spread), channel 0 is constant.
    let layer = DeltaTrace.Layer(layer: 0, direction: .forward, selective: true, length: 3,
                                 values: [1, 0.01, 0.5, 1, 1, 0.5, 1, 100, 0.6])
    #expect(layer.channels == 3)
    #expect(layer.channel(1) == [0.01, 1, 100])
    #expect(layer.mostVaryingChannels(2) == [1, 2])
    let mean = layer.meanOverChannels
    #expect(abs(mean[0] - Float((1 + 0.01 + 0.5) / 3)) < 1e-6 && abs(mean[2] - Float(101.6 / 3)) < 1e-4)
}

@Test func deltaChartUnderBasesAndUnderAWaveform() throws {
    let c = configuration(mixers: [.s6, .s4d])
    let m = try model(c, seed: 5)
    let bases = "ACGTTGCAAC"
    let ids: [Int32] = bases.map { ["A": 7, "C": 8, "G": 9, "T": 10][$0]! }
    let trace = try m.deltaTrace(ids: ids)
    let chart = try DeltaTraceChart(title: "Δ along a DNA sequence", trace: trace, input: .bases(bases))
    let parsed = try parseValidSVG(chart.svg())
    #expect(parsed.hasText("Δ along a DNA sequence") && parsed.hasText("position in the sequence (bases)"))
    #expect(parsed.count("Δ (dimensionless)") == 2)
    #expect(parsed.hasText("layer 0 · S6 (selective)") && parsed.hasText("layer 1 · S4D (time-invariant: Δ constant)"))
    #expect(parsed.hasText("mean of \(c.intermediateSize) channels"))
    #expect(parsed.count("A") >= 3 && parsed.count("G") >= 2)  // tiles' letters and the colour key
    #expect(parsed.texts.filter { $0.hasPrefix("channel ") }.count == 3)
    // With the channel heatmaps: one image per selective layer, a ratio colour bar with round ticks.
    let withStrips = try parseValidSVG(DeltaTraceChart(title: "t", trace: trace, input: .bases(bases),
                                                       channelHeatmap: true).svg())
    #expect(withStrips.images.count == 1 && withStrips.hasText("ratio") && withStrips.hasText("1×"))
    #expect(throws: ReportError.self) { try DeltaTraceChart(title: "t", trace: trace, input: .bases("ACG")) }
    #expect(throws: ReportError.self) { try DeltaTraceChart(title: "t", trace: trace, input: .none, layers: [2]) }
    #expect(throws: ReportError.self) {
        try DeltaTraceChart(title: "t", trace: trace, input: .none, positions: 5..<11)
    }

    let rate = 8000.0
    let samples = (0..<8000).map { Float(0.5 * sin(2 * Double.pi * 300 * Double($0) / rate)) }
    let times = (0..<ids.count).map { 0.05 + 0.1 * Double($0) }
    let audio = try DeltaTraceChart(title: "Δ along a clip", trace: trace,
                                    input: .waveform(samples: samples, sampleRate: rate, positionTimes: times))
    let audioParsed = try parseValidSVG(audio.svg())
    #expect(audioParsed.hasText("time (s)") && audioParsed.hasText("input waveform") && audioParsed.hasText("amplitude"))
    #expect(audioParsed.hasText("0.2") && audioParsed.hasText("0.4"))
    #expect(throws: ReportError.self) {
        try DeltaTraceChart(title: "t", trace: trace,
                            input: .waveform(samples: samples, sampleRate: rate, positionTimes: times.reversed()))
    }
}
