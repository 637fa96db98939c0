// MambaModel against the plain oracle (PlainMamba): S6, S4D, mixed layers, options, BiMamba, classification heads,
// ragged batches (padding invariance), chunked passes, recurrent steps and prefill.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

/// Small configurations whose widths are not multiples of 16, so every kernel's tail path runs.
enum Configurations {
    static func base() -> MambaConfiguration {
        var c = MambaConfiguration(vocabSize: 11, hiddenSize: 20, stateSize: 5, numHiddenLayers: 2)
        c.layerNormEpsilon = 1e-5
        return c
    }

    static let all: [(String, MambaConfiguration)] = {
        var options = base()
        options.useBias = true
        options.useConvBias = false
        options.convKernel = 3
        options.tieWordEmbeddings = false
        options.explicitIntermediateSize = 36
        options.timeStepRank = .fixed(3)
        options.layerNormEpsilon = 1e-3
        var s4d = base()
        s4d.layerMixers = [.s4d, .s4d]
        var mixed = base()
        mixed.numHiddenLayers = 3
        mixed.layerMixers = [.s4d, .s6, .s4d]
        var bidirectional = base()
        bidirectional.bidirectional = true
        var untiedBidirectional = mixed
        untiedBidirectional.bidirectional = true
        untiedBidirectional.bidirectionalWeightTie = false
        var meanClassifier = base()
        meanClassifier.headType = .sequenceClassification
        meanClassifier.labels = ["a", "b", "c"]
        var lastClassifier = meanClassifier
        lastClassifier.classifierPooling = .last
        lastClassifier.bidirectional = true
        var maxClassifier = meanClassifier
        maxClassifier.classifierPooling = .max
        var padded = base()
        padded.padVocabSizeMultiple = 8
        // n-gram embeddings: the alphabets leave some ids out (their k-mers use the shared row).
        var ngram = base()
        ngram.ngramEmbedding = NGramEmbeddingConfiguration(order: 2, alphabet: [1, 2, 3, 5, 8])
        var ngramClassifier = meanClassifier
        ngramClassifier.ngramEmbedding = NGramEmbeddingConfiguration(order: 3, alphabet: [0, 4, 2])
        ngramClassifier.bidirectional = true
        return [("s6", base()), ("options", options), ("s4d", s4d), ("mixed", mixed), ("bidirectional", bidirectional),
                ("bidirectional-untied", untiedBidirectional), ("classifier-mean", meanClassifier),
                ("classifier-last-bidirectional", lastClassifier), ("classifier-max", maxClassifier),
                ("padded-vocabulary", padded), ("ngram", ngram), ("classifier-ngram-bidirectional", ngramClassifier)]
    }()

    static func named(_ name: String) -> MambaConfiguration { all.first { $0.0 == name }!.1 }
}

/// Deterministic ragged token sequences.
func sequences(_ lengths: [Int], vocabulary: Int, seed: UInt64 = 7) -> [[Int32]] {
    var generator = Xoshiro256StarStar(seed: seed)
    return lengths.map { length in (0..<length).map { _ in Int32(generator.next() % UInt64(vocabulary)) } }
}

struct ModelTests {
    static let lengths = [9, 3, 6, 1]

    @Test(arguments: Configurations.all.map(\.0))
    func raggedBatchMatchesPlainLoopsPerSequence(_ name: String) throws {
        let configuration = Configurations.named(name)
        let model = try MambaModel(configuration: configuration, seed: 42)
        let plain = PlainMamba(model)
        let tokens = sequences(Self.lengths, vocabulary: configuration.vocabSize)
        let batch = try TokenBatch(sequences: tokens, padding: 5)
        // chunkRows 8 with b = 4 gives chunks of 2 positions: windows and states cross chunk boundaries.
        let output = try model.forward(batch, options: ForwardOptions(chunkRows: 8))
        let d = configuration.hiddenSize, l = batch.length
        let hidden = output.lastHiddenState.array, logits = output.logits.array
        var worst = 0.0
        for (i, sequence) in tokens.enumerated() {
            let expected = plain.forward(sequence)
            for t in 0..<l {
                for j in 0..<d {
                    let value = Double(hidden[(i * l + t) * d + j])
                    if t < sequence.count { worst = max(worst, abs(value - expected.hidden[t][j])) }
                    else { #expect(value == 0, "padding must give zero hidden states") }
                }
            }
            switch configuration.headType {
            case .causalLM:
                let v = configuration.paddedVocabSize
                #expect(output.logits.shape == [batch.batch, l, v])
                for t in 0..<l {
                    for j in 0..<v {
                        let value = Double(logits[(i * l + t) * v + j])
                        if t < sequence.count { worst = max(worst, abs(value - expected.logits[t][j])) }
                        else { #expect(value == 0) }
                    }
                }
            case .sequenceClassification:
                let classes = configuration.labels.count
                #expect(output.logits.shape == [batch.batch, classes])
                for j in 0..<classes { worst = max(worst, abs(Double(logits[i * classes + j]) - expected.logits[0][j])) }
            }
        }
        #expect(worst < 2e-5, "\(name): max difference \(worst)")
    }

    @Test(arguments: ["s6", "mixed", "bidirectional-untied", "classifier-mean", "ngram"])
    func chunkingDoesNotChangeTheResult(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 3)
        let batch = try TokenBatch(sequences: sequences([13, 8], vocabulary: 11))
        let whole = try model.forward(batch, options: ForwardOptions(chunkRows: 1 << 20))
        for chunkRows in [1, 2, 6, 10] {
            let chunked = try model.forward(batch, options: ForwardOptions(chunkRows: chunkRows))
            #expect(maxAbsoluteDifference(chunked.logits.array, whole.logits.array) < 1e-5)
            #expect(maxAbsoluteDifference(chunked.lastHiddenState.array, whole.lastHiddenState.array) < 1e-5)
        }
    }

    @Test(arguments: ["s6", "classifier-mean", "classifier-last-bidirectional", "bidirectional-untied",
                      "classifier-ngram-bidirectional"])
    func paddingChangesNeitherOutputsNorPooling(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 11)
        let tokens = sequences([5], vocabulary: 11)[0]
        let alone = try model.forward(try TokenBatch(sequences: [tokens]))
        // The same sequence padded to 12 with different pad ids, beside a longer neighbour.
        for pad in [Int32(0), 7] {
            let batch = try TokenBatch(sequences: [sequences([12], vocabulary: 11, seed: 99)[0], tokens], padding: pad)
            let together = try model.forward(batch)
            let d = model.configuration.hiddenSize
            let hidden = together.lastHiddenState.array
            let mine = Array(hidden[(12 * d)..<(12 * d + 5 * d)])
            #expect(maxAbsoluteDifference(mine, alone.lastHiddenState.array) < 1e-5)
            if let pooled = together.pooled, let pooledAlone = alone.pooled {
                #expect(maxAbsoluteDifference(Array(pooled.array[d...]), pooledAlone.array) < 1e-5)
                let classes = model.configuration.labels.count
                #expect(maxAbsoluteDifference(Array(together.logits.array[classes...]), alone.logits.array) < 1e-5)
            }
        }
    }

    @Test(arguments: ["s6", "options", "mixed", "padded-vocabulary", "ngram"])
    func stepByStepEqualsTheFullPass(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 5)
        let tokens = sequences([10, 10, 10], vocabulary: 11)
        let full = try model.forward(try TokenBatch(sequences: tokens))
        let state = model.makeRecurrentState(batch: 3)
        let v = model.configuration.paddedVocabSize
        let logits = full.logits.array
        for t in 0..<10 {
            let step = try model.step(tokens.map { $0[t] }, state: state)
            for i in 0..<3 {
                let expected = Array(logits[((i * 10 + t) * v)..<((i * 10 + t + 1) * v)])
                #expect(maxAbsoluteDifference(Array(step.logits.array[(i * v)..<((i + 1) * v)]), expected) < 1e-5)
            }
        }
        #expect(state.positions == [10, 10, 10])
    }

    @Test(arguments: ["s6", "options", "mixed", "ngram"])
    func prefillOfRaggedPromptsThenStepEqualsTheFullPass(_ name: String) throws {
        let model = try MambaModel(configuration: Configurations.named(name), seed: 8)
        let prompts = sequences([6, 1, 4], vocabulary: 11)
        let continuations = sequences([5, 5, 5], vocabulary: 11, seed: 12)
        let (_, state) = try model.prefill(try TokenBatch(sequences: prompts, padding: 3))
        #expect(state.positions == [6, 1, 4])
        let v = model.configuration.paddedVocabSize
        var stepped: [[Float]] = [[], [], []]
        for t in 0..<5 {
            let logits = try model.step(continuations.map { $0[t] }, state: state).logits.array
            for i in 0..<3 { stepped[i] += logits[(i * v)..<((i + 1) * v)] }
        }
        for i in 0..<3 {
            let whole = prompts[i] + continuations[i]
            let full = try model.forward(try TokenBatch(sequences: [whole])).logits.array
            let expected = Array(full[(prompts[i].count * v)...])
            #expect(maxAbsoluteDifference(stepped[i], expected) < 1e-5)
        }
    }

    @Test func stateCopyBranchesIndependently() throws {
        let model = try MambaModel(configuration: Configurations.named("s6"), seed: 2)
        let (_, state) = try model.prefill(try TokenBatch(sequences: sequences([4], vocabulary: 11)))
        let branch = state.copy()
        let a = try model.step([3], state: state).logits.array
        let b = try model.step([3], state: branch).logits.array
        #expect(a == b)
        _ = try model.step([1], state: state)
        #expect(state.ssmStates.array != branch.ssmStates.array)
    }

    @Test func tiedBidirectionalModelIsReversalEquivariant() throws {
        // out(x) = f(x) + R f(R x) per layer, so reversing the valid tokens reverses every position's hidden state.
        let model = try MambaModel(configuration: Configurations.named("bidirectional"), seed: 4)
        let tokens = sequences([7], vocabulary: 11)[0]
        let forward = try model.forward(try TokenBatch(sequences: [tokens, [1, 2]])).lastHiddenState.array
        let backward = try model.forward(try TokenBatch(sequences: [Array(tokens.reversed()), [2, 1]])).lastHiddenState.array
        let d = model.configuration.hiddenSize
        for t in 0..<7 {
            let a = Array(forward[(t * d)..<((t + 1) * d)])
            let b = Array(backward[((6 - t) * d)..<((7 - t) * d)])
            #expect(maxAbsoluteDifference(a, b) < 1e-5)
        }
    }

    @Test func bidirectionalAndClassifierModelsRefuseToStep() throws {
        let bidirectional = try MambaModel(configuration: Configurations.named("bidirectional"), seed: 1)
        #expect(throws: ModelInputError.self) { try bidirectional.step([1], state: bidirectional.makeRecurrentState(batch: 1)) }
        #expect(throws: ModelInputError.self) { try bidirectional.prefill(try TokenBatch(sequences: [[1, 2]])) }
        let classifier = try MambaModel(configuration: Configurations.named("classifier-mean"), seed: 1)
        #expect(throws: ModelInputError.self) { try classifier.step([1], state: classifier.makeRecurrentState(batch: 1)) }
    }

    @Test func badTokensAndShapesAreTypedErrors() throws {
        let model = try MambaModel(configuration: Configurations.named("s6"), seed: 1)
        #expect(throws: ModelInputError.self) { try model.forward(try TokenBatch(sequences: [[1, 11]])) }
        #expect(throws: ModelInputError.self) { try model.forward(try TokenBatch(sequences: [[-1]])) }
        // Ids past a sequence's length are padding and are not checked.
        _ = try model.forward(try TokenBatch(ids: [1, 2, 99], batch: 1, length: 3, lengths: [2]))
        #expect(throws: ModelInputError.self) { try TokenBatch(ids: [1, 2, 3], batch: 2, length: 2) }
        #expect(throws: ModelInputError.self) { try TokenBatch(ids: [1, 2], batch: 1, length: 2, lengths: [3]) }
        let state = model.makeRecurrentState(batch: 2)
        #expect(throws: ModelInputError.self) { try model.step([1], state: state) }
        #expect(throws: ModelInputError.self) { try model.step([1, 12], state: state) }
    }

    @Test func emptySequencesInABatchGiveZeros() throws {
        let model = try MambaModel(configuration: Configurations.named("classifier-mean"), seed: 1)
        let batch = try TokenBatch(ids: [1, 2, 3, 4], batch: 2, length: 2, lengths: [2, 0])
        let output = try model.forward(batch)
        #expect(output.pooled!.array[model.configuration.hiddenSize...].allSatisfy { $0 == 0 })
    }
}

struct MemoryLimitTests {
    @Test func batchesWhoseOutputsCannotFitAreRefusedBeforeAllocating() throws {
        // 2^20 tokens × 100 000 logits × 4 bytes = 420 GB.
        var configuration = MambaConfiguration(vocabSize: 100_000, hiddenSize: 16, stateSize: 2, numHiddenLayers: 1)
        configuration.layerNormEpsilon = 1e-5
        let model = try MambaModel(configuration: configuration, seed: 1)
        let length = 1 << 20
        let batch = try TokenBatch(ids: [Int32](repeating: 1, count: length), batch: 1, length: length)
        #expect(throws: ModelInputError.self) { try model.forward(batch) }
    }
}
