// The recipe for the Δ of an audio classifier along a clip: the front end's frames are the backbone's continuous
// input, each frame's time is the centre of its sample range.
import Foundation
import MambaAudioML
import MambaBackbone
import MambaTensor
import Testing
@testable import MambaReport

@Test func deltaOfAnAudioClassifierAlongAClip() throws {
    var recipe = AudioClassifierRecipe()
    recipe.dModel = 16
    recipe.channels = 8
    let rate = 8000
    let settings = recipe.frontEndSettings(rate: rate)
    var configuration = MambaConfiguration(vocabSize: 1, hiddenSize: 16, stateSize: 4, numHiddenLayers: 2)
    configuration.headType = .sequenceClassification
    configuration.labels = ["a", "b"]
    configuration.tieWordEmbeddings = false
    let classifier = try AudioClassifier(settings: settings, configuration: configuration, seed: 3)
    let clip = (0..<4000).map { t in Float(0.5 * sin(2 * Double.pi * 440 * Double(t) / Double(rate))) * (t > 2000 ? 1 : 0.05) }

    let s = classifier.frontEnd.settings
    let frames = s.frameCount(samples: clip.count, rate: rate)
    let embeddings = Tensor(zeros: [frames, s.outputs])
    _ = try withExtendedLifetime(classifier.parameters) {
        try classifier.frontEnd.forward(UnsafePointer(classifier.parameters.pointer), samples: clip, rate: rate,
                                        rateScaling: true, output: embeddings.pointer)
    }
    let trace = try classifier.backbone.deltaTrace(embeddings: embeddings)
    let times = (0..<frames).map { k -> Double in
        let range = s.frameRange(k, samples: clip.count, rate: rate)
        return Double(range.lowerBound + range.upperBound) / 2 / Double(rate)
    }
    #expect(trace.length == frames && trace.layers.count == 2)
    let chart = try DeltaTraceChart(title: "Δ along a clip", trace: trace,
                                    input: .waveform(samples: clip, sampleRate: Double(rate), positionTimes: times),
                                    channelHeatmap: true)
    let parsed = try parseValidSVG(chart.svg())
    #expect(parsed.images.count == 2 && parsed.hasText("time (s)") && parsed.hasText("input waveform"))
    // The same frames give the classifier's own probabilities: the trace saw what the model sees.
    let direct = try classifier.backbone.forward(embeddings: embeddings.reshaped([1, frames, s.outputs]), lengths: [frames])
    let viaClassifier = try classifier.probabilities(AudioClipBatch(clips: [clip], rates: [rate]))[0]
    let logits = direct.logits.array.map(Double.init)
    let softmax = logits.map { exp($0 - logits.max()!) }
    let probabilities = softmax.map { $0 / softmax.reduce(0, +) }
    #expect(zip(probabilities, viaClassifier).allSatisfy { abs($0 - $1) < 1e-5 })
}
