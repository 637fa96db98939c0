// The time scale ρ = trained rate / input rate (TimeScale.swift): the resampling plan, the resampled convolution
// against its Double oracle (the continuous kernel as hat functions) and its adjoint; the model's forward against
// PlainMamba at ρ (chunked, padded, bidirectional); prefill and step at ρ against the parallel pass; the whole tiny
// model's gradients (conv taps, dt_proj, dt_bias, A_log, everything) against central differences in Double at
// ρ = 0.5, 1.5 and 3; and at ρ = 1 the time-scale machinery is bit for bit the plain block.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

struct TimeScaleTests {
    // MARK: - The plan

    @Test func tapCountsAndInterpolation() throws {
        // J = floor((K − 1) / ρ) + 1.
        for (ratio, taps) in [(1.0, 4), (0.5, 7), (1.5, 3), (2.0, 2), (3.0, 2), (4.0, 1), (8000.0 / 11025, 5),
                              (8000.0 / 48000, 19), (1.0 / 3, 10)] {
            let scale = try TimeScale(ratio: ratio, trainedKernel: 4)
            #expect(scale.kernel == taps, "ρ = \(ratio)")
            for m in 0..<scale.kernel {
                // Lag m lands at m·ρ trained periods, within the learned taps.
                #expect(abs(Double(scale.lowerLag[m]) + scale.fraction[m] - Double(m) * ratio) < 1e-9)
                #expect(scale.fraction[m] >= 0 && scale.fraction[m] < 1 && scale.lowerLag[m] <= 3)
            }
        }
        let third = try TimeScale(ratio: 1.0 / 3, trainedKernel: 4)
        #expect(third.lowerLag[3] == 1 && third.fraction[3] == 0 && third.lowerLag[9] == 3)
        let identity = TimeScale.identity(trainedKernel: 4)
        #expect(identity.isIdentity && identity.lowerLag == [0, 1, 2, 3] && identity.fraction == [0, 0, 0, 0])
        #expect(try TimeScale(trainedRate: 8000, inputRate: 16000, trainedKernel: 4).ratio == 0.5)
        for bad in [0.0, -1, .nan, .infinity, 1e-5] {
            #expect(throws: ModelInputError.self) { try TimeScale(ratio: bad, trainedKernel: 4) }
        }
        #expect(throws: ModelInputError.self) { try TimeScale(trainedRate: 0, inputRate: 8000, trainedKernel: 4) }
    }

    // MARK: - The resampled convolution

    @Test func resamplingAtOneIsTheIdentity() {
        var data = TestData(seed: 1)
        let weight = data.floats(5 * 4)
        var resampled = [Float](repeating: .nan, count: 5 * 4)
        CausalConv1d.resample(weight: weight, channels: 5, timeScale: .identity(trainedKernel: 4), into: &resampled)
        #expect(resampled == weight)
    }

    @Test(arguments: [0.5, 1.5, 3.0, 2.0, 8000.0 / 11025, 8000.0 / 48000])
    func resampledConvolutionMatchesTheContinuousKernel(_ ratio: Double) throws {
        let b = 2, l = 23, channels = 19, k = 4, stride = 21
        let scale = try TimeScale(ratio: ratio, trainedKernel: k)
        var data = TestData(seed: 2)
        let input = data.floats(b * l * stride), weight = data.floats(channels * k), bias = data.floats(channels)
        for silu in [true, false] {
            var resampled = [Float](repeating: 0, count: channels * scale.kernel)
            CausalConv1d.resample(weight: weight, channels: channels, timeScale: scale, into: &resampled)
            var fast = [Float](repeating: 0, count: b * l * channels)
            var oracle = [Float](repeating: 0, count: b * l * channels)
            CausalConv1d.forward(input: input, inputStride: stride, window: nil, sequences: b, length: l,
                                 channels: channels, kernel: scale.kernel, weight: resampled, bias: bias, silu: silu,
                                 output: &fast)
            CausalConv1d.timeScaledReference(input: input, inputStride: stride, sequences: b, length: l,
                                             channels: channels, kernel: k, weight: weight, bias: bias, silu: silu,
                                             ratio: ratio, output: &oracle)
            #expect(maxAbsoluteDifference(fast, oracle) < 2e-6, "ρ = \(ratio), silu \(silu)")
        }
    }

    @Test(arguments: [0.5, 1.5, 3.0, 8000.0 / 11025])
    func resampleBackwardIsTheAdjoint(_ ratio: Double) throws {
        // ⟨resample(w), v⟩ = ⟨w, resampleBackward(v)⟩, and resampleBackward accumulates.
        let channels = 6, k = 4
        let scale = try TimeScale(ratio: ratio, trainedKernel: k)
        var data = TestData(seed: 3)
        let weight = data.floats(channels * k), v = data.floats(channels * scale.kernel)
        let start = data.floats(channels * k)
        var resampled = [Float](repeating: 0, count: channels * scale.kernel)
        CausalConv1d.resample(weight: weight, channels: channels, timeScale: scale, into: &resampled)
        var adjoint = start
        CausalConv1d.resampleBackward(dResampled: v, channels: channels, timeScale: scale, into: &adjoint)
        let left = zip(resampled, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = (0..<(channels * k)).reduce(0.0) { $0 + Double(weight[$1]) * Double(adjoint[$1] - start[$1]) }
        #expect(abs(left - right) < 1e-5 * max(1, abs(left)), "ρ = \(ratio): \(left) vs \(right)")
    }

    // MARK: - The model at a time scale

    /// Logits of PlainMamba at ρ over each unpadded sequence, padded back to the batch's layout (b, l, V).
    static func plainLogits(_ model: MambaModel, _ tokens: [[Int32]], ratio: Double) -> [Double] {
        var plain = PlainMamba(model)
        plain.timeScale = ratio
        let l = tokens.map(\.count).max()!, v = model.configuration.paddedVocabSize
        var out = [Double](repeating: 0, count: tokens.count * l * v)
        for (i, sequence) in tokens.enumerated() {
            for (t, row) in plain.forward(sequence).logits.enumerated() {
                for j in 0..<v { out[(i * l + t) * v + j] = row[j] }
            }
        }
        return out
    }

    @Test(arguments: ["s6", "options", "mixed", "bidirectional-untied"])
    func forwardMatchesThePlainModelAtTimeScales(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 51)
        let tokens = sequences([9, 4, 7], vocabulary: 11, seed: 52)
        let batch = try TokenBatch(sequences: tokens, padding: 2)
        for ratio in [0.5, 1.5, 3.0, 8000.0 / 11025] {
            let expected = Self.plainLogits(model, tokens, ratio: ratio)
            // Whole and in chunks of 2 positions (the J − 1 row window carried across chunks shorter than it).
            for chunkRows in [4096, 6] {
                let logits = try model.forward(batch, options: ForwardOptions(chunkRows: chunkRows, timeScale: ratio))
                    .logits.array
                #expect(maxAbsoluteDifference(logits, expected) < 2e-5, "\(name) ρ = \(ratio), chunk rows \(chunkRows)")
            }
        }
        // ρ = 1 is the plain model.
        #expect(maxAbsoluteDifference(try model.forward(batch).logits.array, Self.plainLogits(model, tokens, ratio: 1)) < 2e-5)
        // Rate scaling changes the output (the test above could not tell otherwise).
        let other = try model.forward(batch, options: ForwardOptions(timeScale: 0.5)).logits.array
        #expect(maxAbsoluteDifference(other, try model.forward(batch).logits.array) > 1e-3)
    }

    @Test(arguments: ["s6", "options", "mixed"])
    func prefillAndStepAtTimeScalesEqualTheFullPass(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 53)
        let v = model.configuration.paddedVocabSize
        let prompts = sequences([6, 1, 4], vocabulary: 11, seed: 54)
        let continuations = sequences([8, 8, 8], vocabulary: 11, seed: 55)
        for ratio in [0.5, 1.5, 3.0] {
            let (_, state) = try model.prefill(try TokenBatch(sequences: prompts, padding: 3), timeScale: ratio)
            #expect(state.timeScale.ratio == ratio)
            var stepped: [[Float]] = [[], [], []]
            for t in 0..<8 {
                let logits = try model.step(continuations.map { $0[t] }, state: state).logits.array
                for i in 0..<3 { stepped[i] += logits[(i * v)..<((i + 1) * v)] }
            }
            for i in 0..<3 {
                let whole = prompts[i] + continuations[i]
                let full = try model.forward(try TokenBatch(sequences: [whole]),
                                             options: ForwardOptions(timeScale: ratio)).logits.array
                #expect(maxAbsoluteDifference(stepped[i], Array(full[(prompts[i].count * v)...])) < 1e-5,
                        "\(name) ρ = \(ratio), sequence \(i)")
            }
            // From a zero state, token by token.
            let zero = try model.makeRecurrentState(batch: 1, timeScale: ratio)
            let full = try model.forward(try TokenBatch(sequences: [continuations[0]]),
                                         options: ForwardOptions(timeScale: ratio)).logits.array
            for t in 0..<8 {
                let logits = try model.step([continuations[0][t]], state: zero).logits.array
                #expect(maxAbsoluteDifference(logits, Array(full[(t * v)..<((t + 1) * v)])) < 1e-5)
            }
        }
        #expect(throws: ModelInputError.self) { try model.prefill(try TokenBatch(sequences: prompts), timeScale: 0) }
        #expect(throws: ModelInputError.self) { try model.makeRecurrentState(batch: 1, timeScale: -2) }
    }

    @Test(arguments: [("mixed", 0.5), ("mixed", 1.5), ("mixed", 3.0), ("options", 1.5)])
    func wholeModelGradientsMatchDifferences(_ name: String, _ ratio: Double) throws {
        let configuration = Configurations.named(name)
        let model = try MambaModel(configuration: configuration, seed: 61)
        let tokens = sequences([7, 3, 5], vocabulary: configuration.vocabSize, seed: 62)
        let batch = try TokenBatch(sequences: tokens, padding: 1)
        let gradients = Tensor(zeros: [model.layout.totalCount])
        // Recompute and save must agree (the backward recomputes the resampled taps either way).
        let saved = Tensor(zeros: [model.layout.totalCount])
        let result = try model.lossAndGradients(batch, objective: .nextToken, gradients: gradients,
                                                options: TrainingOptions(activations: .recompute, timeScale: ratio))
        _ = try model.lossAndGradients(batch, objective: .nextToken, gradients: saved,
                                       options: TrainingOptions(activations: .save, timeScale: ratio))
        #expect(gradients.array == saved.array)
        let parameters = doubleParameters(model)
        func loss(_ parameters: [String: [Double]]) -> Double {
            var plain = PlainMamba(configuration: configuration, parameters: parameters)
            plain.timeScale = ratio
            var sum = 0.0, count = 0
            for sequence in tokens {
                let logits = plain.forward(sequence).logits
                for t in 0..<(sequence.count - 1) {
                    let row = logits[t], m = row.max()!
                    sum += log(row.reduce(0) { $0 + exp($1 - m) }) + m - row[Int(sequence[t + 1])]
                    count += 1
                }
            }
            return sum / Double(count)
        }
        let expectedLoss = loss(parameters)
        #expect(abs(result.loss - expectedLoss) < 1e-5 * expectedLoss, "\(name) ρ = \(ratio): loss \(result.loss) vs \(expectedLoss)")
        // The validation pass at the same ρ gives the same loss.
        let validation = try model.loss(batch, objective: .nextToken, timeScale: ratio)
        #expect(abs(validation.loss - result.loss) < 1e-5 * result.loss)
        let all = gradients.array
        var data = TestData(seed: 63)
        for entry in model.layout.entries {
            let analytic = Array(all[entry.offset..<(entry.offset + entry.count)])
            // Small tensors: every element. Conv taps: every tap of the first and last channel (all lags) and the
            // largest gradient. Elsewhere the largest and 3 random elements. Larger tensors also along a random
            // direction (all elements at once).
            var indices = Array(0..<entry.count)
            if entry.count > 24 {
                let largest = analytic.indices.max { abs(analytic[$0]) < abs(analytic[$1]) }!
                if entry.name.hasSuffix("conv1d.weight") {
                    let k = configuration.convKernel
                    indices = [largest] + Array(0..<k) + Array((entry.count - k)..<entry.count)
                } else {
                    indices = [largest] + (0..<3).map { _ in Int(data.generator.next() % UInt64(entry.count)) }
                }
            }
            var perturbed = parameters
            let perturbedLoss = { (values: [Double]) -> Double in
                perturbed[entry.name] = values
                return loss(perturbed)
            }
            let numeric = centralDifferences(at: parameters[entry.name]!, indices: indices, perturbedLoss)
            expectAgree(indices.map { analytic[$0] }, numeric, "\(name) ρ = \(ratio) \(entry.name)")
            if entry.count > 24 {
                let direction = doubles(data.floats(entry.count))
                let along = directionalDifference(at: parameters[entry.name]!, direction: direction, perturbedLoss)
                let expected = zip(analytic, direction).reduce(0.0) { $0 + Double($1.0) * $1.1 }
                let scale = (analytic.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
                #expect(abs(along - expected) <= 1e-4 * scale + 1e-8, "\(name) ρ = \(ratio) \(entry.name) along a direction")
            }
        }
    }

    // MARK: - ρ = 1

    @Test(arguments: ["s6", "options", "s4d"])
    func timeScaleMachineryAtOneIsBitIdentical(_ name: String) throws {
        // The mixer run through the time-scale path with ρ = 1 (resampled taps = the learned ones, Δ · 1) gives
        // bitwise the outputs and gradients of the plain path (nil), which `MambaModel` takes at ρ = 1.
        let configuration = Configurations.named(name)
        let model = try MambaModel(configuration: configuration, seed: 71)
        let dims = model.dims, offsets = model.layout.layers[0].mixer
        let b = 2, l = 9, d = dims.model, rows = b * l
        let lengths: [Int32] = [9, 5]
        var data = TestData(seed: 72)
        let xn = data.floats(rows * d), dOut = data.floats(rows * d)
        let identity = MixerTimeScale(.identity(trainedKernel: dims.kernel), dims: dims, backend: model.backend)
        func run(_ timeScale: MixerTimeScale?) -> (out: [Float], dxn: [Float], gradients: [Float]) {
            let activations = MixerActivations(dims: dims, sequences: b, length: l, chunkLength: 4,
                                               selective: configuration.mixer(ofLayer: 0) == .s6,
                                               backend: model.backend)
            let workspace = MixerGradientWorkspace(dims: dims, rows: rows, backend: model.backend)
            var out = [Float](repeating: 0, count: rows * d), dxn = [Float](repeating: 0, count: rows * d)
            let gradients = Tensor(zeros: [model.layout.totalCount])
            withExtendedLifetime((model, activations, workspace, gradients)) {
                let p = UnsafePointer(model.parameters.pointer)
                MambaMixer.trainingForward(backend: model.backend, dims: dims, parameters: p, offsets: offsets,
                                           lengths: lengths, xn: xn, activations: activations, out: &out,
                                           timeScale: timeScale)
                MambaMixer.backward(backend: model.backend, dims: dims, parameters: p, offsets: offsets,
                                    lengths: lengths, xn: xn, activations: activations, dOut: dOut,
                                    workspace: workspace, gradients: gradients.pointer, dxn: &dxn,
                                    accumulateInput: false, timeScale: timeScale)
            }
            return (out, dxn, gradients.array)
        }
        let plain = run(nil), scaled = run(identity)
        #expect(plain.out == scaled.out && plain.dxn == scaled.dxn && plain.gradients == scaled.gradients)
        let tokens = sequences([9, 5], vocabulary: 11, seed: 73)
        let explicit = try model.forward(try TokenBatch(sequences: tokens, padding: 0),
                                         options: ForwardOptions(timeScale: 1)).logits.array
        #expect(explicit == (try model.forward(try TokenBatch(sequences: tokens, padding: 0)).logits.array))
    }
}
