// A stand-in objective whose gradient is known exactly: linear regression, loss = mean_i ½ (w·xᵢ + b − yᵢ)², on
// batches drawn from a seeded generator. It lets the loop, the optimizer and the checkpoints be tested without the
// Mamba backward pass.
import Foundation
import MambaBackbone
import MambaTensor
@testable import MambaTraining

/// w (features floats at offset 0), b (one float at an aligned offset), like a model's layout with padding.
final class LinearRegression: Trainable {
    struct Batch: TokenCounting {
        var inputs: [[Float]]
        var targets: [Float]
        var tokenCount: Int { inputs.count }
    }

    let features: Int
    let parameters: Tensor
    let parameterSpans: [ParameterSpan]
    /// Batches evaluated by lossAndGradients so far.
    private(set) var calls = 0

    init(features: Int, seed: UInt64) {
        self.features = features
        let biasOffset = (features + 15) / 16 * 16
        parameters = Tensor(zeros: [biasOffset + 16])
        parameterSpans = [ParameterSpan(name: "layer.weight", offset: 0, count: features),
                          ParameterSpan(name: "layer.bias", offset: biasOffset, count: 1)]
        var generator = Xoshiro256StarStar(seed: seed)
        for i in 0..<features { parameters.pointer[i] = generator.nextNormal() * 0.1 }
        parameters.pointer[biasOffset] = generator.nextNormal() * 0.1
    }

    private var biasOffset: Int { parameterSpans[1].offset }

    func residuals(_ batch: Batch) -> [Double] {
        let p = parameters.pointer
        return zip(batch.inputs, batch.targets).map { x, y in
            var prediction = Double(p[biasOffset])
            for i in 0..<features { prediction += Double(p[i]) * Double(x[i]) }
            return prediction - Double(y)
        }
    }

    func lossAndGradients(_ batch: Batch, gradients: Tensor, lossScale: Float) throws -> LossStatistics {
        calls += 1
        let r = residuals(batch)
        let n = Double(r.count)
        let g = gradients.pointer
        for (x, residual) in zip(batch.inputs, r) {
            for i in 0..<features { g[i] += Float(Double(lossScale) * residual * Double(x[i]) / n) }
            g[biasOffset] += Float(Double(lossScale) * residual / n)
        }
        return statistics(r)
    }

    func evaluate(_ batch: Batch) throws -> LossStatistics { statistics(residuals(batch)) }

    private func statistics(_ r: [Double]) -> LossStatistics {
        let loss = r.map { 0.5 * $0 * $0 }.reduce(0, +) / Double(r.count)
        return LossStatistics(loss: loss, count: r.count, correct: r.filter { abs($0) < 0.5 }.count)
    }

    func saveModel(to directory: URL) throws {
        var writer = SafeTensorsWriter()
        for span in parameterSpans {
            writer.add(span.name, shape: [span.count], .float32(Array(UnsafeBufferPointer(start: parameters.pointer + span.offset, count: span.count))))
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
    }

    func loadModel(from directory: URL) throws {
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        for span in parameterSpans {
            try file.readFloats(span.name, into: parameters.pointer + span.offset, count: span.count)
        }
    }
}

/// y = w*·x + 0.3 + noise, x standard normal; `poisonAt`: the batch with that index has a NaN input.
struct RegressionData: TrainingDataSource {
    struct Position: Codable, Equatable {
        var generator: Xoshiro256StarStar
        var drawn: Int
    }

    let features: Int
    let batchSize: Int
    let poisonAt: Int?
    private(set) var generator: Xoshiro256StarStar
    private(set) var drawn = 0

    init(features: Int, batchSize: Int, seed: UInt64, poisonAt: Int? = nil) {
        self.features = features
        self.batchSize = batchSize
        self.poisonAt = poisonAt
        generator = Xoshiro256StarStar(seed: seed)
    }

    mutating func next() throws -> LinearRegression.Batch {
        var inputs: [[Float]] = []
        var targets: [Float] = []
        for _ in 0..<batchSize {
            let x = (0..<features).map { _ in generator.nextNormal() }
            var y: Float = 0.3 + 0.05 * generator.nextNormal()
            for (i, value) in x.enumerated() { y += Float(i % 3) * 0.5 * value }
            inputs.append(x)
            targets.append(y)
        }
        if drawn == poisonAt { inputs[0][0] = .nan }
        drawn += 1
        return LinearRegression.Batch(inputs: inputs, targets: targets)
    }

    var position: Position { Position(generator: generator, drawn: drawn) }

    mutating func restore(_ position: Position) throws {
        generator = position.generator
        drawn = position.drawn
    }

    var batchesPerEpoch: Int? { nil }
}
