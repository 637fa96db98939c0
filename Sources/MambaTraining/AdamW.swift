// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019) over one flat parameter buffer, with the
// arithmetic of PyTorch's torch.optim.AdamW (single-tensor path, amsgrad off), for each element at step t (1-based):
//
//   g  = gradientScale · grad                        (gradientScale: the global-norm clipping factor, or 1)
//   p ← p · (1 − lr · weight_decay)                  (decoupled decay; factor 1 for excluded parameters)
//   m ← β₁ m + (1 − β₁) g
//   v ← β₂ v + (1 − β₂) g²
//   p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//
// Layout: m and v share the parameters' layout; the update walks the named spans only (alignment padding between
// spans stays zero), split into blocks of at most `blockLength` floats that run on the Parallel pool. Each element's
// arithmetic does not depend on the block split or the thread count, so results are bit-identical at any thread count.
// The global gradient norm is reduced per block (Float SIMD lanes, then Double) and the blocks' sums are added in
// block order: deterministic too.
//
// The plain reference (Double, one element at a time) lives in Tests/MambaTrainingTests/AdamWTests.swift.
import Foundation
import MambaBackbone
import MambaTensor

/// Which parameters get no weight decay: glob patterns over parameter names, where `*` matches any run of
/// characters (including dots) and everything else matches itself.
public struct WeightDecayExclusions: Sendable, Equatable, Codable {
    /// The patterns; a name matching any of them is not decayed.
    public var patterns: [String]

    /// Exclusions from `patterns`.
    public init(_ patterns: [String]) { self.patterns = patterns }

    /// MambaKit's default: no decay on A_log, D, biases (in_proj/out_proj/conv1d/dt_proj/classifier biases and S4D's
    /// dt_bias) and norm weights, as state-spaces/mamba marks A_log and D `_no_weight_decay` and GPT-style recipes
    /// exempt biases and norms. Embeddings and projection weights are decayed.
    public static let standard = WeightDecayExclusions(["*.A_log", "*.D", "*bias", "*norm.weight", "*norm_f.weight"])

    /// True when `name` matches one of the patterns.
    public func excludes(_ name: String) -> Bool {
        patterns.contains { Self.matches(Array($0.utf8), Array(name.utf8)) }
    }

    /// Glob match with `*` only (iterative, with backtracking to the last star: linear for one star, no recursion).
    static func matches(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*")
        var p = 0, t = 0
        var starAt = -1, textAtStar = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == star {
                starAt = p
                textAtStar = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if starAt >= 0 {
                p = starAt + 1
                textAtStar += 1
                t = textAtStar
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star { p += 1 }
        return p == pattern.count
    }
}

/// AdamW's hyperparameters (the learning rate comes from the schedule at each step).
public struct AdamWConfiguration: Sendable, Equatable, Codable {
    /// β₁, the first moment's decay.
    public var beta1: Double
    /// β₂, the second moment's decay.
    public var beta2: Double
    /// ε, added to the denominator.
    public var epsilon: Double
    /// The decoupled weight decay λ (the parameter shrinks by lr · λ per step).
    public var weightDecay: Double
    /// Parameters without weight decay.
    public var exclusions: WeightDecayExclusions

    /// PyTorch's defaults except the weight decay (0.1, as the Mamba paper's training recipe).
    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.1,
                exclusions: WeightDecayExclusions = .standard) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.exclusions = exclusions
    }

    /// Throws unless 0 <= β < 1, ε > 0 and λ >= 0, all finite.
    public func validate() throws {
        for (name, beta) in [("beta1", beta1), ("beta2", beta2)] where !(beta >= 0 && beta < 1) {
            throw TrainingError.invalidOption("AdamW \(name): expected a value in [0, 1), found \(beta)")
        }
        guard epsilon.isFinite, epsilon > 0 else {
            throw TrainingError.invalidOption("AdamW epsilon: expected a finite value > 0, found \(epsilon)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw TrainingError.invalidOption("AdamW weight decay: expected a finite value >= 0, found \(weightDecay)")
        }
    }
}

/// AdamW over a flat parameter buffer: moments m and v (same layout), the step count, and the update.
public final class AdamW: @unchecked Sendable {
    /// Floats per parallel work item (64 KiB of each buffer).
    public static let blockLength = 16_384

    /// The hyperparameters.
    public let configuration: AdamWConfiguration
    /// The spans updated (the model's named parameters).
    public let spans: [ParameterSpan]
    /// Per span: whether weight decay applies.
    public let decays: [Bool]
    /// The first moments, laid out as the parameters.
    public let m: Tensor
    /// The second moments, laid out as the parameters.
    public let v: Tensor
    /// Updates made so far (t of the bias corrections is step + 1 during the next update).
    public private(set) var step = 0

    private struct Block {
        var offset: Int
        var count: Int
        var decay: Bool
    }
    private let blocks: [Block]

    /// An optimizer with zero moments for a buffer of `parameterCount` floats whose named parts are `spans`.
    public init(configuration: AdamWConfiguration, spans: [ParameterSpan], parameterCount: Int) throws {
        try configuration.validate()
        var end = 0
        for span in spans {
            guard span.offset >= end, span.count >= 0, span.offset + span.count <= parameterCount else {
                throw TrainingError.invalidOption(
                    "AdamW: span '\(span.name)' (offset \(span.offset), \(span.count) floats) overlaps the previous one or leaves the \(parameterCount)-float buffer")
            }
            end = span.offset + span.count
        }
        self.configuration = configuration
        self.spans = spans
        self.decays = spans.map { !configuration.exclusions.excludes($0.name) }
        self.m = Tensor(zeros: [parameterCount])
        self.v = Tensor(zeros: [parameterCount])
        var blocks: [Block] = []
        for (span, decay) in zip(spans, decays) {
            var start = 0
            while start < span.count {
                let count = min(Self.blockLength, span.count - start)
                blocks.append(Block(offset: span.offset + start, count: count, decay: decay))
                start += count
            }
        }
        self.blocks = blocks
    }

    /// An optimizer for a model's parameters.
    public convenience init<Model: Trainable>(configuration: AdamWConfiguration, model: Model) throws {
        try self.init(configuration: configuration, spans: model.parameterSpans, parameterCount: model.parameters.count)
    }

    // MARK: - Gradient norm and clipping

    /// ‖gradients‖₂ over the spans (Double; deterministic for a given buffer at any thread count).
    public func gradientNorm(_ gradients: Tensor) -> Double {
        precondition(gradients.count == m.count, "AdamW: gradients have \(gradients.count) floats, expected \(m.count)")
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: max(1, blocks.count))
        defer { sums.deallocate() }
        let shared = SharedPointers(gradients: gradients.pointer, sums: sums)
        let blocks = self.blocks
        withExtendedLifetime(gradients) {
            runBlocks(blocks.count) { index in
                let block = blocks[index]
                shared.sums[index] = Self.sumOfSquares(shared.gradients + block.offset, block.count)
            }
        }
        var total = 0.0
        for index in 0..<blocks.count { total += sums[index] }
        return total.squareRoot()
    }

    /// The factor that brings a gradient of norm `norm` down to `maxNorm` (1 when it is already within), as PyTorch's
    /// clip_grad_norm_: maxNorm / (norm + 1e-6), capped at 1. `maxNorm` nil or <= 0: no clipping.
    public static func clippingScale(norm: Double, maxNorm: Double?) -> Float {
        guard let maxNorm, maxNorm > 0, norm.isFinite else { return 1 }
        return Float(min(1, maxNorm / (norm + 1e-6)))
    }

    // MARK: - Update

    /// One AdamW step on `parameters` with `gradients` (both laid out as at init) at learning rate `learningRate`;
    /// the gradients are multiplied by `gradientScale` first (clipping). Gradients are only read.
    public func update(parameters: Tensor, gradients: Tensor, learningRate: Double, gradientScale: Float = 1) {
        precondition(parameters.count == m.count && gradients.count == m.count,
                     "AdamW: parameters (\(parameters.count)) and gradients (\(gradients.count)) must have \(m.count) floats")
        step += 1
        let c = configuration
        let t = Double(step)
        let correction1 = 1 - Foundation.pow(c.beta1, t)
        let correction2 = 1 - Foundation.pow(c.beta2, t)
        let constants = UpdateConstants(
            beta1: Float(c.beta1), beta2: Float(c.beta2),
            oneMinusBeta1: Float(1 - c.beta1), oneMinusBeta2: Float(1 - c.beta2),
            stepSize: Float(learningRate / correction1),
            inverseRootCorrection2: Float(1 / correction2.squareRoot()),
            epsilon: Float(c.epsilon),
            decayFactor: Float(1 - learningRate * c.weightDecay),
            gradientScale: gradientScale)
        let shared = UpdatePointers(parameters: parameters.pointer, gradients: gradients.pointer, m: m.pointer,
                                    v: v.pointer)
        let blocks = self.blocks
        withExtendedLifetime((parameters, gradients, m, v)) {
            runBlocks(blocks.count) { index in
                let block = blocks[index]
                Self.updateBlock(shared, offset: block.offset, count: block.count, constants,
                                 decayFactor: block.decay ? constants.decayFactor : 1)
            }
        }
    }

    private struct UpdateConstants: Sendable {
        var beta1, beta2, oneMinusBeta1, oneMinusBeta2, stepSize, inverseRootCorrection2, epsilon, decayFactor,
            gradientScale: Float
    }

    private struct UpdatePointers: @unchecked Sendable {
        let parameters: UnsafeMutablePointer<Float>
        let gradients: UnsafeMutablePointer<Float>
        let m: UnsafeMutablePointer<Float>
        let v: UnsafeMutablePointer<Float>
    }

    private struct SharedPointers: @unchecked Sendable {
        let gradients: UnsafeMutablePointer<Float>
        let sums: UnsafeMutablePointer<Double>
    }

    /// Parallel over blocks when there is enough work to pay for waking the pool, inline otherwise.
    private func runBlocks(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count >= 4 {
            Parallel.forEach(count, body)
        } else {
            for index in 0..<count { body(index) }
        }
    }

    @inline(__always)
    private static func updateBlock(_ q: UpdatePointers, offset: Int, count: Int, _ k: UpdateConstants,
                                    decayFactor: Float) {
        let p = q.parameters + offset, g = q.gradients + offset, m = q.m + offset, v = q.v + offset
        var i = 0
        // SIMD16: the same operations, in the same order, as the scalar tail below.
        while i + 16 <= count {
            let gi = load(g + i) * k.gradientScale
            let mi = k.beta1 * load(m + i) + k.oneMinusBeta1 * gi
            let vi = k.beta2 * load(v + i) + k.oneMinusBeta2 * (gi * gi)
            let denominator = vi.squareRoot() * k.inverseRootCorrection2 + k.epsilon
            let pi = load(p + i) * decayFactor - k.stepSize * (mi / denominator)
            store(mi, m + i)
            store(vi, v + i)
            store(pi, p + i)
            i += 16
        }
        while i < count {
            let gi = g[i] * k.gradientScale
            let mi = k.beta1 * m[i] + k.oneMinusBeta1 * gi
            let vi = k.beta2 * v[i] + k.oneMinusBeta2 * (gi * gi)
            let denominator = vi.squareRoot() * k.inverseRootCorrection2 + k.epsilon
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decayFactor - k.stepSize * (mi / denominator)
            i += 1
        }
    }

    @inline(__always)
    private static func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Double {
        var lanes = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let xi = load(x + i)
            lanes += xi * xi
            i += 16
        }
        var total = 0.0
        for lane in 0..<16 { total += Double(lanes[lane]) }
        while i < count {
            total += Double(x[i]) * Double(x[i])
            i += 1
        }
        return total
    }

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    private static func store(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    // MARK: - State

    /// Writes m and v (as `exp_avg.<name>` / `exp_avg_sq.<name>`, PyTorch's state names) and the step to a
    /// safetensors file, atomically. The floats are written as they are, so `readState` restores them bit for bit.
    public func writeState(to url: URL) throws {
        var writer = SafeTensorsWriter(metadata: [
            "format": "mambakit-adamw", "step": String(step),
            "beta1": "\(configuration.beta1)", "beta2": "\(configuration.beta2)",
            "epsilon": "\(configuration.epsilon)", "weight_decay": "\(configuration.weightDecay)",
        ])
        try withExtendedLifetime((m, v)) {
            for span in spans {
                writer.add("exp_avg.\(span.name)", shape: [span.count],
                           .float32Pointer(UnsafePointer(m.pointer + span.offset), count: span.count))
                writer.add("exp_avg_sq.\(span.name)", shape: [span.count],
                           .float32Pointer(UnsafePointer(v.pointer + span.offset), count: span.count))
            }
            try writer.write(to: url)
        }
    }

    /// Restores m, v and the step written by `writeState`; throws `TrainingError.badCheckpoint` when the file's
    /// tensors do not match this optimizer's spans.
    public func readState(from url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        guard file.metadata["format"] == "mambakit-adamw", let stepText = file.metadata["step"],
              let savedStep = Int(stepText), savedStep >= 0 else {
            throw TrainingError.badCheckpoint(
                path: url.path, reason: "expected AdamW state (metadata format 'mambakit-adamw' and a step), found metadata \(file.metadata)")
        }
        var expected = Set<String>()
        for span in spans {
            for name in ["exp_avg.\(span.name)", "exp_avg_sq.\(span.name)"] {
                expected.insert(name)
                guard let info = file.tensors[name] else {
                    throw TrainingError.badCheckpoint(path: url.path, reason: "missing tensor '\(name)'")
                }
                guard info.shape == [span.count] else {
                    throw TrainingError.badCheckpoint(
                        path: url.path, reason: "tensor '\(name)': expected shape [\(span.count)], found \(info.shape)")
                }
            }
        }
        if let extra = file.names.first(where: { !expected.contains($0) }) {
            throw TrainingError.badCheckpoint(path: url.path, reason: "unexpected tensor '\(extra)' (another model?)")
        }
        m.fill(0)
        v.fill(0)
        try withExtendedLifetime((m, v)) {
            for span in spans {
                try file.readFiniteFloats("exp_avg.\(span.name)", into: m.pointer + span.offset, count: span.count)
                try file.readFiniteFloats("exp_avg_sq.\(span.name)", into: v.pointer + span.offset, count: span.count)
            }
        }
        step = savedStep
    }
}
