// AdamW against a plain reference (Double, one element at a time, the formulas of torch.optim.AdamW's documentation),
// global-norm clipping, decay exclusions, thread-count independence and exact state round trips.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport
@testable import MambaTraining

/// The reference: torch.optim.AdamW, algorithm as documented, in Double.
struct ReferenceAdamW {
    var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.1
    var m: [Double], v: [Double]
    var t = 0

    init(count: Int, beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
    }

    /// One step; `decay[i]` false exempts element i; gradients are scaled by `scale` first.
    mutating func step(_ p: inout [Double], _ g: [Double], lr: Double, decay: [Bool], scale: Double) {
        t += 1
        for i in p.indices {
            let gi = g[i] * scale
            if decay[i] { p[i] -= lr * weightDecay * p[i] }
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            let mHat = m[i] / (1 - pow(beta1, Double(t)))
            let vHat = v[i] / (1 - pow(beta2, Double(t)))
            p[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
        }
    }
}

/// clip_grad_norm_'s factor in Double.
func referenceClipScale(_ g: [Double], maxNorm: Double) -> (norm: Double, scale: Double) {
    let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
    return (norm, min(1, maxNorm / (norm + 1e-6)))
}

/// Spans of awkward sizes (tails shorter than 16, one span longer than a block) with Mamba-like names.
func awkwardSpans() -> (spans: [ParameterSpan], total: Int) {
    let names: [(String, Int)] = [
        ("backbone.embeddings.weight", 1000), ("backbone.layers.0.norm.weight", 24),
        ("backbone.layers.0.mixer.in_proj.weight", AdamW.blockLength + 37), ("backbone.layers.0.mixer.conv1d.bias", 5),
        ("backbone.layers.0.mixer.dt_proj.bias", 48), ("backbone.layers.0.mixer.A_log", 17),
        ("backbone.layers.0.mixer.D", 3), ("backbone.layers.0.mixer.dt_bias", 9), ("backbone.norm_f.weight", 24),
        ("lm_head.weight", 333),
    ]
    var spans: [ParameterSpan] = []
    var offset = 0
    for (name, count) in names {
        spans.append(ParameterSpan(name: name, offset: offset, count: count))
        offset += (count + 15) / 16 * 16
    }
    return (spans, offset)
}

@Suite struct AdamWTests {
    @Test func defaultExclusionsPickAlogDBiasesAndNorms() {
        let excluded = WeightDecayExclusions.standard
        for name in ["backbone.layers.3.mixer.A_log", "backbone.layers.0.mixer.D", "backbone.layers.0.mixer.dt_proj.bias",
                     "backbone.layers.0.mixer.conv1d.bias", "backbone.layers.1.mixer.dt_bias",
                     "backbone.layers.0.mixer.in_proj.bias", "backbone.layers.0.norm.weight", "backbone.norm_f.weight",
                     "classifier.bias"] {
            #expect(excluded.excludes(name), "\(name) should get no weight decay")
        }
        for name in ["backbone.embeddings.weight", "backbone.layers.0.mixer.in_proj.weight",
                     "backbone.layers.0.mixer.x_proj.weight", "backbone.layers.0.mixer.dt_proj.weight",
                     "backbone.layers.0.mixer.B", "backbone.layers.0.mixer.Dx", "lm_head.weight", "classifier.weight"] {
            #expect(!excluded.excludes(name), "\(name) should be decayed")
        }
    }

    @Test func globMatching() {
        func m(_ p: String, _ t: String) -> Bool { WeightDecayExclusions.matches(Array(p.utf8), Array(t.utf8)) }
        #expect(m("*", ""))
        #expect(m("a*b*c", "aXXbYYc"))
        #expect(!m("a*b*c", "aXXbYY"))
        #expect(m("*.D", "x.y.D"))
        #expect(!m("*.D", "x.y.DD"))
        #expect(m("exact", "exact"))
        #expect(!m("exact", "exactly"))
        #expect(m("**a", "bba"))
    }

    @Test(arguments: [(maxNorm: nil as Double?, decay: 0.1), (maxNorm: 0.5, decay: 0.1), (maxNorm: 1e9, decay: 0.0)])
    func matchesReferenceOverSeveralSteps(maxNorm: Double?, decay: Double) throws {
        let (spans, total) = awkwardSpans()
        let configuration = AdamWConfiguration(beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: decay)
        let optimizer = try AdamW(configuration: configuration, spans: spans, parameterCount: total)
        var generator = Xoshiro256StarStar(seed: 7)
        let parameters = Tensor(zeros: [total]), gradients = Tensor(zeros: [total])
        var decayMask: [Bool] = []
        var indices: [Int] = []
        for span in spans {
            for i in span.offset..<(span.offset + span.count) {
                parameters.pointer[i] = generator.nextNormal()
                indices.append(i)
                decayMask.append(!configuration.exclusions.excludes(span.name))
            }
        }
        var reference = indices.map { Double(parameters.pointer[$0]) }
        var adam = ReferenceAdamW(count: indices.count, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: decay)
        let schedule = LearningRateSchedule(peak: 3e-3, warmupSteps: 2, totalSteps: 6)
        for step in 0..<6 {
            for i in indices { gradients.pointer[i] = generator.nextNormal() * Float(0.1 + Double(step)) }
            let g = indices.map { Double(gradients.pointer[$0]) }
            let norm = optimizer.gradientNorm(gradients)
            let (referenceNorm, referenceScale) = referenceClipScale(g, maxNorm: maxNorm ?? .infinity)
            #expect(abs(norm - referenceNorm) <= 1e-6 * referenceNorm)
            let scale = AdamW.clippingScale(norm: norm, maxNorm: maxNorm)
            #expect(abs(Double(scale) - (maxNorm == nil ? 1 : referenceScale)) <= 1e-6)
            if maxNorm == 0.5 { #expect(scale < 1, "the gradients are larger than 0.5, so clipping must act") }
            let lr = schedule.rate(atStep: step)
            optimizer.update(parameters: parameters, gradients: gradients, learningRate: lr, gradientScale: scale)
            adam.step(&reference, g, lr: lr, decay: decayMask, scale: maxNorm == nil ? 1 : referenceScale)
        }
        #expect(optimizer.step == 6)
        let fast = indices.map { parameters.pointer[$0] }
        let error = relativeError(fast, reference: reference)
        #expect(error < 2e-6, "relative error \(error) against the Double reference")
        let worst = maxAbsoluteDifference(fast, reference)
        #expect(worst < 1e-5, "max abs difference \(worst)")
    }

    @Test func excludedParametersAreNotDecayed() throws {
        // Zero gradients: AdamW's moment update is 0/(0 + ε) = 0, so only the decay moves parameters.
        let spans = [ParameterSpan(name: "w.weight", offset: 0, count: 20), ParameterSpan(name: "w.bias", offset: 32, count: 20)]
        let optimizer = try AdamW(configuration: AdamWConfiguration(weightDecay: 0.5), spans: spans, parameterCount: 64)
        let parameters = Tensor(shape: [64], repeating: 2), gradients = Tensor(zeros: [64])
        optimizer.update(parameters: parameters, gradients: gradients, learningRate: 0.1)
        for i in 0..<20 { #expect(parameters.pointer[i] == 2 * Float(1 - 0.1 * 0.5)) }
        for i in 32..<52 { #expect(parameters.pointer[i] == 2) }
        // Padding between and after spans is never touched.
        for i in [20, 31, 52, 63] { #expect(parameters.pointer[i] == 2) }
        #expect(optimizer.decays == [true, false])
    }

    @Test func bitIdenticalAtAnyThreadCount() throws {
        let (spans, total) = awkwardSpans()
        func run(threads: Int) throws -> [Float] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let optimizer = try AdamW(configuration: AdamWConfiguration(), spans: spans, parameterCount: total)
            var generator = Xoshiro256StarStar(seed: 11)
            let parameters = Tensor(zeros: [total]), gradients = Tensor(zeros: [total])
            for i in 0..<total { parameters.pointer[i] = generator.nextNormal() }
            for _ in 0..<3 {
                for i in 0..<total { gradients.pointer[i] = generator.nextNormal() }
                let scale = AdamW.clippingScale(norm: optimizer.gradientNorm(gradients), maxNorm: 10)
                optimizer.update(parameters: parameters, gradients: gradients, learningRate: 1e-3, gradientScale: scale)
            }
            return parameters.array + optimizer.m.array + optimizer.v.array
        }
        let one = try run(threads: 1), two = try run(threads: 2), three = try run(threads: 3)
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
        #expect(one.map(\.bitPattern) == three.map(\.bitPattern))
    }

    @Test func stateRoundTripIsExact() throws {
        let (spans, total) = awkwardSpans()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try AdamW(configuration: AdamWConfiguration(), spans: spans, parameterCount: total)
        var generator = Xoshiro256StarStar(seed: 5)
        let parameters = Tensor(zeros: [total]), gradients = Tensor(zeros: [total])
        for i in 0..<total { parameters.pointer[i] = generator.nextNormal() }
        func randomGradients() { for i in 0..<total { gradients.pointer[i] = generator.nextNormal() } }
        for _ in 0..<3 {
            randomGradients()
            first.update(parameters: parameters, gradients: gradients, learningRate: 1e-2)
        }
        let url = directory.appendingPathComponent("optimizer.safetensors")
        try first.writeState(to: url)
        let second = try AdamW(configuration: AdamWConfiguration(), spans: spans, parameterCount: total)
        try second.readState(from: url)
        #expect(second.step == 3)
        #expect(second.m.array.map(\.bitPattern) == first.m.array.map(\.bitPattern))
        #expect(second.v.array.map(\.bitPattern) == first.v.array.map(\.bitPattern))
        // Both continue identically.
        let copy = parameters.copy()
        randomGradients()
        first.update(parameters: parameters, gradients: gradients, learningRate: 1e-2)
        second.update(parameters: copy, gradients: gradients, learningRate: 1e-2)
        #expect(parameters.array.map(\.bitPattern) == copy.array.map(\.bitPattern))
        // Names from PyTorch's state dict.
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.tensors["exp_avg.backbone.layers.0.mixer.A_log"]?.shape == [17])
        #expect(file.tensors["exp_avg_sq.lm_head.weight"]?.shape == [333])
    }

    @Test func stateOfAnotherModelIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("optimizer.safetensors")
        let small = try AdamW(configuration: AdamWConfiguration(),
                              spans: [ParameterSpan(name: "a", offset: 0, count: 4)], parameterCount: 16)
        try small.writeState(to: url)
        let other = try AdamW(configuration: AdamWConfiguration(),
                              spans: [ParameterSpan(name: "a", offset: 0, count: 5)], parameterCount: 16)
        #expect(throws: TrainingError.self) { try other.readState(from: url) }
        let renamed = try AdamW(configuration: AdamWConfiguration(),
                                spans: [ParameterSpan(name: "b", offset: 0, count: 4)], parameterCount: 16)
        #expect(throws: TrainingError.self) { try renamed.readState(from: url) }
    }

    @Test func badSettingsAndSpansAreRefused() {
        #expect(throws: TrainingError.self) { try AdamWConfiguration(beta1: 1).validate() }
        #expect(throws: TrainingError.self) { try AdamWConfiguration(epsilon: 0).validate() }
        #expect(throws: TrainingError.self) { try AdamWConfiguration(weightDecay: -1).validate() }
        #expect(throws: TrainingError.self) {
            try AdamW(configuration: AdamWConfiguration(), spans: [ParameterSpan(name: "a", offset: 0, count: 8),
                                                                  ParameterSpan(name: "b", offset: 4, count: 8)],
                      parameterCount: 32)
        }
        #expect(throws: TrainingError.self) {
            try AdamW(configuration: AdamWConfiguration(), spans: [ParameterSpan(name: "a", offset: 30, count: 8)],
                      parameterCount: 32)
        }
    }
}

@Suite struct ScheduleTests {
    @Test func warmupThenCosine() {
        let s = LearningRateSchedule(peak: 1e-3, warmupSteps: 4, totalSteps: 14, minimum: 1e-4)
        #expect(s.rate(atStep: 0) == 0.25e-3)
        #expect(s.rate(atStep: 1) == 0.5e-3)
        #expect(s.rate(atStep: 3) == 1e-3)
        #expect(s.rate(atStep: 4) == 1e-3)                          // progress 0
        #expect(abs(s.rate(atStep: 9) - 0.55e-3) < 1e-15)          // progress ½: halfway between floor and peak
        #expect(abs(s.rate(atStep: 14) - 1e-4) < 1e-15)            // progress 1: the floor
        #expect(abs(s.rate(atStep: 100) - 1e-4) < 1e-15)           // stays at the floor
        // Monotone after the warm-up.
        for step in 4..<14 { #expect(s.rate(atStep: step + 1) <= s.rate(atStep: step)) }
        let quarter = 1e-4 + 0.9e-3 * 0.5 * (1 + cos(Double.pi / 4))
        let t = LearningRateSchedule(peak: 1e-3, warmupSteps: 0, totalSteps: 8, minimum: 1e-4)
        #expect(abs(t.rate(atStep: 2) - quarter) < 1e-15)
    }

    @Test func constantAndValidation() throws {
        let s = LearningRateSchedule(peak: 2e-3, warmupSteps: 2, totalSteps: 10, decay: .constant)
        #expect(s.rate(atStep: 0) == 1e-3)
        #expect(s.rate(atStep: 5) == 2e-3)
        #expect(s.rate(atStep: 50) == 2e-3)
        #expect(LearningRateSchedule(peak: 1, totalSteps: 10).minimum == 0.1)
        #expect(throws: TrainingError.self) { try LearningRateSchedule(peak: 0, totalSteps: 10).validate() }
        #expect(throws: TrainingError.self) { try LearningRateSchedule(peak: 1, totalSteps: 10, minimum: 2).validate() }
        #expect(throws: TrainingError.self) { try LearningRateSchedule(peak: 1, totalSteps: 0).validate() }
        #expect(throws: TrainingError.self) { try LearningRateSchedule(peak: .nan, totalSteps: 1).validate() }
    }
}
