// The next-sample model at another sample rate: ρ from the recorded trained rate, bits per sample at ρ equal the
// backbone's loss at ρ, and generation at ρ (prefill + O(1) steps) equals greedy decoding by full passes at ρ.
import Foundation
import MambaAudioML
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

struct NextSampleRateTests {
    static func tinyModel(rate: Int?) throws -> NextSampleModel {
        var configuration = NextSampleModel.configuration(rate: 8000, dModel: 16, layers: 2, dState: 4,
                                                          mixers: [.s4d, .s6])
        configuration.sampleRate = rate
        return try NextSampleModel(model: MambaModel(configuration: configuration, seed: 5))
    }

    @Test func timeScaleFollowsTheTrainedRate() throws {
        let lm = try Self.tinyModel(rate: 8000)
        #expect(lm.trainedRate == 8000)
        #expect(try lm.timeScale(forRate: 16000) == 0.5)
        #expect(try lm.timeScale(forRate: 8000) == 1)
        #expect(try lm.timeScale(forRate: 22050) == 8000.0 / 22050)
        #expect(try lm.timeScale(forRate: 16000, rateScaling: false) == 1)
        #expect(throws: AudioModelError.self) { try lm.timeScale(forRate: 0) }
        let unknown = try Self.tinyModel(rate: nil)
        #expect(throws: AudioModelError.self) { try unknown.timeScale(forRate: 16000) }
        #expect(try unknown.timeScale(forRate: 16000, rateScaling: false) == 1)
    }

    @Test func bitsAtATimeScaleAreTheBackbonesLoss() throws {
        let lm = try Self.tinyModel(rate: 8000)
        var generator = Xoshiro256StarStar(seed: 9)
        let codes = (0..<3).map { n in (0..<(40 + 7 * n)).map { _ in Int32(generator.next() % 256) } }
        let recordings = CodedRecordings(codes: codes, rate: 16000, paths: ["a", "b", "c"])
        for ratio in [1.0, 0.5] {
            let (bits, count) = try lm.bits(recordings, segment: 32, timeScale: ratio)
            var nats = 0.0, expectedCount = 0
            for sequence in codes {
                for start in stride(from: 0, to: sequence.count, by: 32) {
                    let piece = Array(sequence[start..<min(sequence.count, start + 32)])
                    guard piece.count >= 2 else { continue }
                    let r = try lm.model.loss(try MambaBackbone.TokenBatch(sequences: [piece]), objective: .nextToken,
                                              timeScale: ratio)
                    nats += r.loss * Double(r.count)
                    expectedCount += r.count
                }
            }
            #expect(count == expectedCount)
            #expect(abs(bits - nats / log(2)) < 1e-9 * bits)
        }
        // Scaling changes the score.
        let plain = try lm.bits(recordings, timeScale: 1).bits, scaled = try lm.bits(recordings, timeScale: 0.5).bits
        #expect(abs(plain - scaled) > 1e-3)
    }

    @Test func bitsAtAHorizonScoreTheCodeThatFarAhead() throws {
        let lm = try Self.tinyModel(rate: 8000)
        var generator = Xoshiro256StarStar(seed: 11)
        let codes = (0..<30).map { _ in Int32(generator.next() % 256) }
        let recordings = CodedRecordings(codes: [codes], rate: 16000, paths: ["a"])
        let (bits, count) = try lm.bits(recordings, timeScale: 0.5, horizon: 2)
        #expect(count == 28)
        // −log2 softmax(logits[t])[x[t + 2]] summed, from the full pass at ρ.
        let v = lm.model.configuration.paddedVocabSize
        let logits = try lm.model.forward(try MambaBackbone.TokenBatch(sequences: [codes]),
                                          options: ForwardOptions(timeScale: 0.5)).logits.array
        var expected = 0.0
        for t in 0..<28 {
            let row = logits[(t * v)..<((t + 1) * v)].map(Double.init)
            let top = row.max()!
            expected += (log(row.reduce(0) { $0 + exp($1 - top) }) + top - row[Int(codes[t + 2])]) / log(2)
        }
        #expect(abs(bits - expected) < 1e-5 * expected)
        #expect(throws: AudioModelError.self) { try lm.bits(recordings, horizon: 0) }
    }

    @Test(arguments: [0.5, 8000.0 / 22050])
    func generationAtATimeScaleIsGreedyDecodingByFullPasses(_ ratio: Double) throws {
        let lm = try Self.tinyModel(rate: 8000)
        let prompt: [Int32] = [128, 130, 135, 127, 120, 126]
        let generated = try lm.generate(prompt: prompt, count: 6, temperature: 0, seed: 1, timeScale: ratio)
        var sequence = prompt
        let v = lm.model.configuration.paddedVocabSize
        for code in generated {
            let logits = try lm.model.forward(try MambaBackbone.TokenBatch(sequences: [sequence]),
                                              options: ForwardOptions(timeScale: ratio)).logits.array
            let last = Array(logits[((sequence.count - 1) * v)..<((sequence.count - 1) * v + 256)])
            let best = Int32(last.indices.max { last[$0] < last[$1] }!)
            #expect(code == best, "ρ = \(ratio), position \(sequence.count)")
            sequence.append(code)
        }
    }
}
