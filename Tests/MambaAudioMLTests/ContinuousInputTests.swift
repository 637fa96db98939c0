import Foundation
import MambaAudioML
import MambaBackbone
import MambaTensor
import MambaTraining
import Testing
import _MambaTestSupport

private func tinyConfiguration(head: HeadType) -> MambaConfiguration {
    var c = MambaConfiguration(vocabSize: 11, hiddenSize: 8, stateSize: 4, numHiddenLayers: 2)
    c.headType = head
    c.tieWordEmbeddings = false
    if head == .sequenceClassification { c.labels = ["a", "b", "c"] }
    return c
}

/// Continuous input equal to the embedding rows of some ids gives the same outputs, loss and parameter gradients
/// (embedding table excepted), and the input gradient equals what the table's rows receive.
@Test(arguments: [HeadType.causalLM, .sequenceClassification])
func continuousInputMatchesEmbeddingLookup(head: HeadType) throws {
    let model = try MambaModel(configuration: tinyConfiguration(head: head), seed: 3)
    let ids: [[Int32]] = [[1, 4, 2, 7, 3], [5, 9, 0]]
    let batch = try MambaBackbone.TokenBatch(sequences: ids, padding: 0)
    let d = 8, l = batch.length
    let table = try #require(model.parameter("backbone.embeddings.weight")).array
    let embeddings = Tensor(zeros: [2, l, d])
    for (i, sequence) in ids.enumerated() {
        for (t, id) in sequence.enumerated() {
            for k in 0..<d { embeddings.pointer[(i * l + t) * d + k] = table[Int(id) * d + k] }
        }
    }
    let plain = try model.forward(batch)
    let continuous = try model.forward(embeddings: embeddings, lengths: batch.lengths)
    #expect(maxAbsoluteDifference(plain.logits.array, continuous.logits.array) == 0)

    // Explicit next-token targets (the continuous path's placeholder ids are zeros, so `.nextToken` would differ).
    var targets = [Int32](repeating: -1, count: 2 * l)
    for (i, sequence) in ids.enumerated() {
        for t in 0..<(sequence.count - 1) { targets[i * l + t] = sequence[t + 1] }
    }
    let objective: TrainingObjective = head == .causalLM ? .tokenTargets(targets: targets) : .classification(labels: [2, 0])
    let g1 = Tensor(zeros: [model.layout.totalCount]), g2 = Tensor(zeros: [model.layout.totalCount])
    let dInput = Tensor(zeros: [2, l, d])
    let r1 = try model.lossAndGradients(batch, objective: objective, gradients: g1)
    let r2 = try model.lossAndGradients(embeddings: embeddings, lengths: batch.lengths, inputGradients: dInput,
                                        objective: objective, gradients: g2)
    #expect(r1 == r2)
    let entry = try #require(model.layout.entries.first { $0.name == "backbone.embeddings.weight" })
    var fromInput = [Float](repeating: 0, count: entry.count)
    for (i, sequence) in ids.enumerated() {
        for (t, id) in sequence.enumerated() {
            for k in 0..<d { fromInput[Int(id) * d + k] += dInput.pointer[(i * l + t) * d + k] }
        }
    }
    let a1 = g1.array, a2 = g2.array
    for index in 0..<a1.count {
        if (entry.offset..<(entry.offset + entry.count)).contains(index) {
            #expect(a2[index] == 0)
            #expect(abs(a1[index] - fromInput[index - entry.offset]) <= 1e-6 * max(1, abs(a1[index])))
        } else {
            #expect(a1[index] == a2[index])
        }
    }
}

/// The whole classifier (front end + backbone + head): analytic gradients vs central differences of the loss for
/// a sample of parameters in every part, with clips at the trained rate and at two others in one batch; with
/// unidirectional and bidirectional (BiMamba) layers.
@Test(arguments: [false, true])
func audioClassifierGradientsMatchFiniteDifferences(bidirectional: Bool) throws {
    var settings = FrontEndSettings(trainedRate: 160, taps: 6, channels: 4, window: 8, hop: 4, outputs: 8)
    settings.minFrequency = 5
    settings.maxFrequency = 60
    settings.epsilon = 1e-3
    var configuration = tinyConfiguration(head: .sequenceClassification)
    configuration.bidirectional = bidirectional
    let model = try AudioClassifier(settings: settings, configuration: configuration, seed: 5)
    var g = Xoshiro256StarStar(seed: 9)
    let clips = [80, 120, 61].map { n in (0..<n).map { _ in g.nextUniform() - 0.5 } }
    let batch = AudioClipBatch(clips: clips, rates: [160, 240, 100], labels: [1, 2, 0])
    let gradients = Tensor(zeros: [model.parameters.count])
    let result = try model.lossAndGradients(batch, gradients: gradients, lossScale: 1)
    #expect(abs(result.loss - (try model.evaluate(batch)).loss) < 1e-5)
    let analytic = gradients.array
    var indices: [Int] = []
    for span in model.parameterSpans where !span.name.contains("embeddings") {
        indices += [span.offset, span.offset + span.count / 2, span.offset + span.count - 1]
    }
    var checked = 0
    for index in Set(indices).sorted() {
        let saved = model.parameters.pointer[index]
        let h: Float = 2e-3
        model.parameters.pointer[index] = saved + h
        let plus = try model.evaluate(batch).loss
        model.parameters.pointer[index] = saved - h
        let minus = try model.evaluate(batch).loss
        model.parameters.pointer[index] = saved
        let numeric = (plus - minus) / Double(2 * h)
        #expect(abs(numeric - Double(analytic[index])) <= 2e-2 * max(0.05, abs(numeric)),
                "parameter \(index): analytic \(analytic[index]) vs numeric \(numeric)")
        checked += 1
    }
    #expect(checked > 20)
}

/// With frozen filters (`trainFilters` false) the filters get no gradient and every other parameter the same
/// gradient as with trained filters.
@Test func audioClassifierFrozenFiltersGetNoGradient() throws {
    var settings = FrontEndSettings(trainedRate: 160, taps: 6, channels: 4, window: 8, hop: 4, outputs: 8)
    settings.minFrequency = 5
    settings.maxFrequency = 60
    let model = try AudioClassifier(settings: settings, configuration: tinyConfiguration(head: .sequenceClassification),
                                    seed: 6)
    var g = Xoshiro256StarStar(seed: 10)
    let clips = [90, 70].map { n in (0..<n).map { _ in g.nextUniform() - 0.5 } }
    let batch = AudioClipBatch(clips: clips, rates: [160, 200], labels: [0, 2])
    func gradients(trainFilters: Bool) throws -> [Float] {
        model.trainFilters = trainFilters
        let gradients = Tensor(zeros: [model.parameters.count])
        _ = try model.lossAndGradients(batch, gradients: gradients, lossScale: 1)
        return gradients.array
    }
    let full = try gradients(trainFilters: true), frozen = try gradients(trainFilters: false)
    let filters = model.parameterSpans.first { $0.name == "audio_front_end.filters" }!
    let range = filters.offset..<(filters.offset + filters.count)
    #expect(full[range].contains { $0 != 0 })
    for i in 0..<full.count {
        if range.contains(i) { #expect(frozen[i] == 0) } else { #expect(frozen[i] == full[i], "parameter \(i)") }
    }
}

/// A saved classifier loads back with identical parameters and predictions.
@Test func audioClassifierSavesAndLoads() throws {
    let settings = FrontEndSettings(trainedRate: 160, taps: 6, channels: 4, window: 8, hop: 4, outputs: 8)
    let model = try AudioClassifier(settings: settings, configuration: tinyConfiguration(head: .sequenceClassification),
                                    seed: 6)
    let folder = try makeTemporaryDirectory()
    try model.saveModel(to: folder)
    let loaded = try AudioClassifier.load(from: folder)
    #expect(loaded.parameters.array == model.parameters.array)
    #expect(loaded.labels == ["a", "b", "c"])
    #expect(loaded.trainedRate == 160)
    let batch = AudioClipBatch(clips: [(0..<100).map { Float($0 % 7) / 7 - 0.5 }], rates: [320])
    #expect(try loaded.probabilities(batch) == model.probabilities(batch))
}
