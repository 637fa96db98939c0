// MambaModel.lossAndGradients: the mixer's backward and the whole model's against central differences of the Double
// oracle (PlainMamba, one unpadded sequence at a time) for S6, S4D, mixed layers, options, BiMamba (tied and untied),
// classification heads (mean, last) and ragged batches; then the contract: accumulation and lossScale, objectives,
// activation policies, chunk lengths, padding, errors (bitwise determinism: MambaCLITests).
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

extension PlainMamba {
    /// The oracle over an explicit set of Double parameters (by checkpoint name), so that they can be perturbed.
    init(configuration: MambaConfiguration, parameters: [String: [Double]]) {
        self.configuration = configuration
        self.parameter = { parameters[$0]! }
    }
}

/// The model's parameters as Double arrays by name.
func doubleParameters(_ model: MambaModel) -> [String: [Double]] {
    Dictionary(uniqueKeysWithValues: model.layout.entries.map { ($0.name, model.parameter($0.name)!.array.map(Double.init)) })
}

/// The mean loss of `objective` over `tokens` computed by PlainMamba in Double.
func plainLoss(_ configuration: MambaConfiguration, _ parameters: [String: [Double]], _ tokens: [[Int32]],
               _ objective: TrainingObjective) -> Double {
    let plain = PlainMamba(configuration: configuration, parameters: parameters)
    func crossEntropy(_ logits: [Double], _ target: Int) -> Double {
        let m = logits.max()!
        return log(logits.reduce(0) { $0 + exp($1 - m) }) + m - logits[target]
    }
    var sum = 0.0, count = 0
    for (i, sequence) in tokens.enumerated() {
        let logits = plain.forward(sequence).logits
        switch objective {
        case .nextToken:
            for t in 0..<max(0, sequence.count - 1) {
                sum += crossEntropy(logits[t], Int(sequence[t + 1]))
                count += 1
            }
        case .classification(let labels):
            sum += crossEntropy(logits[0], Int(labels[i]))
            count += 1
        case .tokenTargets(let targets):
            let l = tokens.map(\.count).max()!
            for t in 0..<sequence.count where targets[i * l + t] >= 0 {
                sum += crossEntropy(logits[t], Int(targets[i * l + t]))
                count += 1
            }
        }
    }
    return sum / Double(count)
}

struct ModelGradientTests {
    // MARK: - The mixer alone

    @Test(arguments: ["s6", "options", "s4d"])
    func mixerMatchesDifferences(_ name: String) throws {
        var configuration = Configurations.named(name)
        configuration.numHiddenLayers = 1
        configuration.layerMixers = configuration.layerMixers.map { Array($0.prefix(1)) }
        let model = try MambaModel(configuration: configuration, seed: 21)
        let dims = model.dims, offsets = model.layout.layers[0].mixer
        let b = 2, l = 6, d = dims.model, rows = b * l
        let lengths: [Int32] = [6, 4]
        var data = TestData(seed: 22)
        let xn = data.floats(rows * d), dOut = data.floats(rows * d)
        let activations = MixerActivations(dims: dims, sequences: b, length: l, chunkLength: 4,
                                           selective: configuration.mixer(ofLayer: 0) == .s6, backend: model.backend)
        let workspace = MixerGradientWorkspace(dims: dims, rows: rows, backend: model.backend)
        var out = [Float](repeating: 0, count: rows * d), dxn = [Float](repeating: 0, count: rows * d)
        let gradients = Tensor(zeros: [model.layout.totalCount])
        withExtendedLifetime((model, activations, workspace, gradients)) {
            let p = UnsafePointer(model.parameters.pointer)
            MambaMixer.trainingForward(backend: model.backend, dims: dims, parameters: p, offsets: offsets,
                                       lengths: lengths, xn: xn, activations: activations, out: &out)
            MambaMixer.backward(backend: model.backend, dims: dims, parameters: p, offsets: offsets, lengths: lengths,
                                xn: xn, activations: activations, dOut: dOut, workspace: workspace,
                                gradients: gradients.pointer, dxn: &dxn, accumulateInput: false)
        }
        // The Double mixer over the valid rows of each sequence; padded rows give out_proj's bias (y = 0 there).
        let prefix = "backbone.layers.0.mixer"
        func mixer(_ parameters: [String: [Double]], _ xn: [Double]) -> [Double] {
            let plain = PlainMamba(configuration: configuration, parameters: parameters)
            var result = [Double](repeating: 0, count: rows * d)
            let bias = configuration.useBias ? parameters["\(prefix).out_proj.bias"]! : [Double](repeating: 0, count: d)
            for i in 0..<b {
                let valid = Int(lengths[i])
                let input = (0..<valid).map { t in Array(xn[((i * l + t) * d)..<((i * l + t + 1) * d)]) }
                let output = plain.mixer(input, prefix: prefix, kind: configuration.mixer(ofLayer: 0))
                for t in 0..<l {
                    for j in 0..<d { result[(i * l + t) * d + j] = t < valid ? output[t][j] : bias[j] }
                }
            }
            return result
        }
        let parameters = doubleParameters(model)
        #expect(maxAbsoluteDifference(out, mixer(parameters, doubles(xn))) < 1e-5, "forward")
        expectAgree(dxn, centralDifferences(at: doubles(xn)) { dot(dOut, mixer(parameters, $0)) }, "\(name) dxn")
        for entry in model.layout.entries where entry.name.hasPrefix(prefix) {
            var perturbed = parameters
            let numeric = centralDifferences(at: parameters[entry.name]!) { values in
                perturbed[entry.name] = values
                return dot(dOut, mixer(perturbed, doubles(xn)))
            }
            expectAgree(gradients.array[entry.offset..<(entry.offset + entry.count)], numeric, "\(name) \(entry.name)")
        }
    }

    // MARK: - The whole model

    static let lengths = [6, 2, 5]

    static func objective(for configuration: MambaConfiguration) -> TrainingObjective {
        configuration.headType == .causalLM ? .nextToken : .classification(labels: [2, 0, 1])
    }

    @Test(arguments: Configurations.all.map(\.0))
    func wholeModelMatchesDifferences(_ name: String) throws {
        let configuration = Configurations.named(name)
        let model = try MambaModel(configuration: configuration, seed: 31)
        let tokens = sequences(Self.lengths, vocabulary: configuration.vocabSize, seed: 32)
        let batch = try TokenBatch(sequences: tokens, padding: 3)
        let objective = Self.objective(for: configuration)
        let gradients = Tensor(zeros: [model.layout.totalCount])
        let result = try model.lossAndGradients(batch, objective: objective, gradients: gradients)
        let parameters = doubleParameters(model)
        let expectedLoss = plainLoss(configuration, parameters, tokens, objective)
        #expect(abs(result.loss - expectedLoss) < 1e-5 * expectedLoss, "\(name): loss \(result.loss) vs \(expectedLoss)")
        let all = gradients.array
        var data = TestData(seed: 33)
        for entry in model.layout.entries {
            let analytic = Array(all[entry.offset..<(entry.offset + entry.count)])
            // Small tensors: every element. Larger: the largest gradient, 6 random elements, and one random direction.
            var indices = Array(0..<entry.count)
            if entry.count > 24 {
                let largest = analytic.indices.max { abs(analytic[$0]) < abs(analytic[$1]) }!
                indices = [largest] + (0..<6).map { _ in Int(data.generator.next() % UInt64(entry.count)) }
            }
            var perturbed = parameters
            let loss = { (values: [Double]) -> Double in
                perturbed[entry.name] = values
                return plainLoss(configuration, perturbed, tokens, objective)
            }
            let numeric = centralDifferences(at: parameters[entry.name]!, indices: indices, loss)
            expectAgree(indices.map { analytic[$0] }, numeric, "\(name) \(entry.name)")
            if entry.count > 24 {
                let direction = doubles(data.floats(entry.count))
                let along = directionalDifference(at: parameters[entry.name]!, direction: direction, loss)
                let expected = zip(analytic, direction).reduce(0.0) { $0 + Double($1.0) * $1.1 }
                let scale = (analytic.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
                #expect(abs(along - expected) <= 1e-4 * scale + 1e-8, "\(name) \(entry.name) along a direction")
            }
        }
    }

    // MARK: - Contract

    static func bigger() -> MambaConfiguration {
        var c = MambaConfiguration(vocabSize: 37, hiddenSize: 48, stateSize: 16, numHiddenLayers: 2)
        c.layerMixers = [.s6, .s4d]
        return c
    }

    @Test func gradientsAccumulateScaled() throws {
        let model = try MambaModel(configuration: Configurations.named("options"), seed: 41)
        let batch = try TokenBatch(sequences: sequences([7, 4], vocabulary: 11))
        let fresh = Tensor(zeros: [model.layout.totalCount])
        let first = try model.lossAndGradients(batch, objective: .nextToken, gradients: fresh)
        var data = TestData(seed: 42)
        let start = data.floats(model.layout.totalCount)
        let accumulated = Tensor(shape: [model.layout.totalCount], values: start)
        let second = try model.lossAndGradients(batch, objective: .nextToken, gradients: accumulated, lossScale: 0.25)
        #expect(first.count == second.count && abs(first.loss - second.loss) < 1e-6 * first.loss)
        let expected = zip(start, fresh.array).map { $0 + 0.25 * $1 }
        #expect(maxAbsoluteDifference(accumulated.array, expected) < 1e-6)
        #expect(first.count == 6 + 3)
    }

    @Test func tokenTargetsGeneraliseNextToken() throws {
        let model = try MambaModel(configuration: Configurations.named("mixed"), seed: 43)
        let tokens = sequences([7, 4, 1], vocabulary: 11)
        let batch = try TokenBatch(sequences: tokens, padding: 9)
        var targets = [Int32](repeating: -100, count: batch.batch * batch.length)
        for (i, sequence) in tokens.enumerated() where sequence.count > 1 {
            for t in 0..<(sequence.count - 1) { targets[i * batch.length + t] = sequence[t + 1] }
        }
        // Values at padded positions are ignored whatever they hold.
        targets[1 * batch.length + 5] = 3
        let nextToken = Tensor(zeros: [model.layout.totalCount]), explicit = Tensor(zeros: [model.layout.totalCount])
        let a = try model.lossAndGradients(batch, objective: .nextToken, gradients: nextToken)
        let b = try model.lossAndGradients(batch, objective: .tokenTargets(targets: targets), gradients: explicit)
        #expect(a.count == b.count && a.correct == b.correct && abs(a.loss - b.loss) < 1e-6 * a.loss)
        #expect(relativeError(explicit.array, reference: nextToken.array) < 1e-6)
        // A subset of positions against the Double oracle.
        var some = [Int32](repeating: -1, count: targets.count)
        some[3] = 5
        some[batch.length + 2] = 10
        let subset = try model.lossAndGradients(batch, objective: .tokenTargets(targets: some),
                                                gradients: Tensor(zeros: [model.layout.totalCount]))
        #expect(subset.count == 2)
        let expected = plainLoss(model.configuration, doubleParameters(model), tokens, .tokenTargets(targets: some))
        #expect(abs(subset.loss - expected) < 1e-5 * expected)
        // Nothing scored: zero result and an untouched buffer.
        let untouched = Tensor(shape: [model.layout.totalCount], repeating: 2)
        let none = try model.lossAndGradients(batch, objective: .tokenTargets(targets: targets.map { _ in -1 }),
                                              gradients: untouched)
        #expect(none == LossResult(loss: 0, count: 0, correct: 0))
        #expect(untouched.array.allSatisfy { $0 == 2 })
    }

    // Bitwise determinism at a fixed thread count is tested in a separate process (MambaCLITests'
    // DebugGradsCommandTests): in this one, suites running concurrently change Parallel's and OpenBLAS's thread
    // counts, and OpenBLAS's sgemm rounds differently for some shapes at different thread counts.
    @Test func policiesChunkLengthsAndHeadBlocksAgree() throws {
        var configuration = Self.bigger()
        configuration.bidirectional = true
        configuration.bidirectionalWeightTie = false
        let model = try MambaModel(configuration: configuration, seed: 44)
        let batch = try TokenBatch(sequences: sequences([150, 97], vocabulary: 37))
        func run(_ options: TrainingOptions) throws -> ([Float], LossResult) {
            let gradients = Tensor(zeros: [model.layout.totalCount])
            let result = try model.lossAndGradients(batch, objective: .nextToken, gradients: gradients, options: options)
            return (gradients.array, result)
        }
        let (first, firstResult) = try run(TrainingOptions(activations: .save))
        for options in [TrainingOptions(activations: .recompute), TrainingOptions(scanChunkLength: 7),
                        TrainingOptions(scanChunkLength: 1000), TrainingOptions(headRows: 13),
                        TrainingOptions(activations: .automatic, saveLimitBytes: 0)] {
            let (other, otherResult) = try run(options)
            #expect(relativeError(other, reference: first) < 1e-6, "\(options)")
            #expect(abs(otherResult.loss - firstResult.loss) < 1e-6 * firstResult.loss)
            #expect(otherResult.count == firstResult.count && otherResult.correct == firstResult.correct)
        }
        // The forward-only loss agrees.
        let lossOnly = try model.loss(batch, objective: .nextToken)
        #expect(abs(lossOnly.loss - firstResult.loss) < 1e-5 * firstResult.loss && lossOnly.count == firstResult.count)
        #expect(lossOnly.correct == firstResult.correct)
    }

    @Test(arguments: ["s6", "classifier-last-bidirectional", "bidirectional-untied", "ngram"])
    func paddingAddsNothing(_ name: String) throws {
        let configuration = Configurations.named(name)
        let model = try MambaModel(configuration: configuration, seed: 45)
        let tokens = sequences([5, 9], vocabulary: 11)
        let objective: TrainingObjective = configuration.headType == .causalLM ? .nextToken : .classification(labels: [1, 2])
        // Sequence 0 padded to 9 with two pad ids: the same gradients as the batch without padding content change.
        var results: [[Float]] = []
        for pad in [Int32(0), 7] {
            let gradients = Tensor(zeros: [model.layout.totalCount])
            _ = try model.lossAndGradients(try TokenBatch(sequences: tokens, padding: pad), objective: objective,
                                           gradients: gradients)
            results.append(gradients.array)
        }
        #expect(relativeError(results[1], reference: results[0]) < 1e-6)
        let expected = plainLoss(configuration, doubleParameters(model), tokens, objective)
        let loss = try model.loss(try TokenBatch(sequences: tokens), objective: objective).loss
        #expect(abs(loss - expected) < 1e-5 * expected)
    }

    @Test func badInputsAreErrors() throws {
        let model = try MambaModel(configuration: Configurations.named("s6"), seed: 46)
        let classifier = try MambaModel(configuration: Configurations.named("classifier-mean"), seed: 46)
        let batch = try TokenBatch(sequences: sequences([4, 3], vocabulary: 11))
        let gradients = Tensor(zeros: [model.layout.totalCount])
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "" } catch { return String(describing: error) }
        }
        #expect(message { try model.lossAndGradients(batch, objective: .nextToken, gradients: Tensor(zeros: [3])) }
            .contains("gradient buffer"))
        #expect(message { try model.lossAndGradients(batch, objective: .classification(labels: [0, 1]), gradients: gradients) }
            .contains("sequence_classification head"))
        #expect(message { try classifier.loss(batch, objective: .nextToken) }.contains("causal LM head"))
        #expect(message { try classifier.loss(batch, objective: .classification(labels: [0])) }.contains("expected 2 labels"))
        #expect(message { try classifier.loss(batch, objective: .classification(labels: [0, 3])) }
            .contains("sequence 1: label 3 is outside 0..<3"))
        #expect(message { try model.loss(batch, objective: .tokenTargets(targets: [1])) }.contains("token targets"))
        var targets = [Int32](repeating: -1, count: 8)
        targets[5] = 11
        #expect(message { try model.loss(batch, objective: .tokenTargets(targets: targets)) }
            .contains("sequence 1, position 1: target id 11 is outside 0..<11"))
        let badIDs = try TokenBatch(ids: [1, 2, 30, 4], batch: 1, length: 4)
        #expect(message { try model.lossAndGradients(badIDs, objective: .nextToken, gradients: gradients) }
            .contains("token id 30"))
        #expect(gradients.array.allSatisfy { $0 == 0 })
    }
}
