import Foundation
import MambaAudioML
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport

/// A small front end: r0 = 16 "Hz", K = 8, C = 3, window 6, hop 4, D = 4.
private func smallSettings() -> FrontEndSettings {
    var s = FrontEndSettings(trainedRate: 16, taps: 8, channels: 3, window: 6, hop: 4, outputs: 4)
    s.minFrequency = 1
    s.maxFrequency = 6
    s.epsilon = 1e-3
    return s
}

private func randomParameters(_ s: FrontEndSettings, seed: UInt64) -> [Float] {
    var g = Xoshiro256StarStar(seed: seed)
    return (0..<s.parameterCount).map { _ in g.nextUniform() * 2 - 1 }
}

private func randomSignal(_ n: Int, seed: UInt64) -> [Float] {
    var g = Xoshiro256StarStar(seed: seed)
    return (0..<n).map { _ in g.nextUniform() * 2 - 1 }
}

/// Plain strided filter bank in samples, in Double: the front end at its trained rate must equal it.
private func plainReference(_ p: [Float], _ s: FrontEndSettings, _ x: [Float]) -> [Double] {
    let n = x.count, c = s.channels, k = s.taps, d = s.outputs
    let frames = (n - s.window) / s.hop + 1
    var out = [Double](repeating: 0, count: frames * d)
    for f in 0..<frames {
        var features = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var sum = 0.0
            for i in (f * s.hop)..<(f * s.hop + s.window) {
                var v = 0.0
                for j in 0..<k where i - j >= 0 { v += Double(p[ch * k + j]) * Double(x[i - j]) }
                sum += v * v
            }
            features[ch] = (log(sum / Double(s.window) + s.epsilon) - s.logShift) / s.logScale
        }
        for o in 0..<d {
            var v = Double(p[s.biasOffset + o])
            for ch in 0..<c { v += Double(p[s.projectionOffset + o * c + ch]) * features[ch] }
            out[f * d + o] = v
        }
    }
    return out
}

@Test func frontEndAtTrainedRateIsPlainStridedFilterBank() throws {
    let s = smallSettings()
    let front = try RateAwareFrontEnd(settings: s)
    let p = randomParameters(s, seed: 1), x = randomSignal(50, seed: 2)
    let frames = s.frameCount(samples: 50, rate: 16)
    #expect(frames == (50 - 6) / 4 + 1)
    var out = [Float](repeating: 0, count: frames * s.outputs)
    _ = try p.withUnsafeBufferPointer { p in
        try out.withUnsafeMutableBufferPointer { o in
            try front.forward(p.baseAddress!, samples: x, rate: 16, output: o.baseAddress!)
        }
    }
    let reference = plainReference(p, s, x)
    for i in 0..<out.count { #expect(abs(Double(out[i]) - reference[i]) < 1e-4 * max(1, abs(reference[i]))) }
}

/// Front end gradients vs central differences of the (Float) forward, at the trained rate and at two others; also
/// with a feature mask (a channel band and a span of frames zeroed, as in training with SpecAugment).
@Test(arguments: [(16, false, false), (24, false, false), (10, false, false), (16, true, false), (24, true, false),
                  (16, true, true), (24, false, true)])
func frontEndGradientsMatchFiniteDifferences(rate: Int, normalize: Bool, masked: Bool) throws {
    var s = smallSettings()
    s.normalizeFeatures = normalize
    let front = try RateAwareFrontEnd(settings: s)
    let mask = masked ? FeatureMask(channels: 1..<2, start: 0.2, length: 0.4) : nil
    var p = randomParameters(s, seed: 3)
    let x = randomSignal(rate * 3, seed: 4)
    let frames = s.frameCount(samples: x.count, rate: rate)
    let weights = randomSignal(frames * s.outputs, seed: 5)
    func loss(_ q: [Float]) throws -> Double {
        var out = [Float](repeating: 0, count: frames * s.outputs)
        _ = try q.withUnsafeBufferPointer { q in
            try out.withUnsafeMutableBufferPointer { o in
                try front.forward(q.baseAddress!, samples: x, rate: rate, mask: mask, output: o.baseAddress!)
            }
        }
        return zip(out, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var gradients = [Float](repeating: 0, count: s.parameterCount)
    var out = [Float](repeating: 0, count: frames * s.outputs)
    let activations = try p.withUnsafeBufferPointer { q in
        try out.withUnsafeMutableBufferPointer { o in
            try front.forward(q.baseAddress!, samples: x, rate: rate, mask: mask, output: o.baseAddress!)
        }
    }
    if let mask {
        let c = s.channels, masked = mask.frameRange(frames: frames)
        #expect(!masked.isEmpty && masked.count < frames)
        for k in 0..<frames {
            for ch in 0..<c where mask.channels.contains(ch) || masked.contains(k) {
                #expect(activations.features[k * c + ch] == 0)
            }
        }
    }
    p.withUnsafeBufferPointer { q in
        weights.withUnsafeBufferPointer { w in
            gradients.withUnsafeMutableBufferPointer { g in
                front.backward(q.baseAddress!, activations: activations, dOutput: w.baseAddress!,
                               gradients: g.baseAddress!)
            }
        }
    }
    for index in 0..<s.parameterCount {
        let h: Float = 1e-2
        let saved = p[index]
        p[index] = saved + h
        let plus = try loss(p)
        p[index] = saved - h
        let minus = try loss(p)
        p[index] = saved
        let numeric = (plus - minus) / Double(2 * h)
        let analytic = Double(gradients[index])
        #expect(abs(numeric - analytic) <= 2e-2 * max(1, abs(numeric)), "parameter \(index): \(analytic) vs \(numeric)")
    }
}

/// A mask's frame span is a fraction of the clip, clipped to it, and never covers every frame.
@Test func featureMaskFrameRange() {
    #expect(FeatureMask(channels: 0..<0, start: 0.25, length: 0.5).frameRange(frames: 40) == 10..<30)
    #expect(FeatureMask(channels: 0..<0, start: 0.9, length: 0.5).frameRange(frames: 10) == 9..<10)
    #expect(FeatureMask(channels: 0..<0, start: 0, length: 1).frameRange(frames: 7) == 0..<6)
    #expect(FeatureMask(channels: 0..<0, start: 0.5, length: 0).frameRange(frames: 7).isEmpty)
    #expect(FeatureMask(channels: 0..<0, start: 0, length: 0.5).frameRange(frames: 1).isEmpty)
}

/// A mask naming channels the front end does not have is refused with a typed error.
@Test func featureMaskOutsideTheChannelsIsRefused() throws {
    let s = smallSettings()
    let front = try RateAwareFrontEnd(settings: s)
    let p = randomParameters(s, seed: 1)
    var out = [Float](repeating: 0, count: 64 * s.outputs)
    #expect(throws: AudioModelError.self) {
        _ = try p.withUnsafeBufferPointer { q in
            try out.withUnsafeMutableBufferPointer { o in
                try front.forward(q.baseAddress!, samples: randomSignal(40, seed: 2), rate: 16,
                                  mask: FeatureMask(channels: 2..<4, start: 0, length: 0), output: o.baseAddress!)
            }
        }
    }
}

/// With frozen filters the backward skips the filters' gradient: the projection and bias gradients equal the full
/// backward's, and the filters' entries are left as they were (here a nonzero fill, to see that nothing is added).
@Test(arguments: [16, 24])
func frontEndBackwardWithoutFilterGradients(rate: Int) throws {
    var s = smallSettings()
    s.normalizeFeatures = true
    let front = try RateAwareFrontEnd(settings: s)
    let p = randomParameters(s, seed: 6)
    let x = randomSignal(rate * 2, seed: 7)
    let frames = s.frameCount(samples: x.count, rate: rate)
    let dOutput = randomSignal(frames * s.outputs, seed: 8)
    var out = [Float](repeating: 0, count: frames * s.outputs)
    let activations = try p.withUnsafeBufferPointer { q in
        try out.withUnsafeMutableBufferPointer { o in
            try front.forward(q.baseAddress!, samples: x, rate: rate, output: o.baseAddress!)
        }
    }
    func gradients(filters: Bool) -> [Float] {
        var g = [Float](repeating: 0.25, count: s.parameterCount)
        p.withUnsafeBufferPointer { q in
            dOutput.withUnsafeBufferPointer { w in
                g.withUnsafeMutableBufferPointer { g in
                    front.backward(q.baseAddress!, activations: activations, dOutput: w.baseAddress!,
                                   gradients: g.baseAddress!, filterGradients: filters)
                }
            }
        }
        return g
    }
    let full = gradients(filters: true), frozen = gradients(filters: false)
    for i in s.filtersOffset..<s.projectionOffset { #expect(frozen[i] == 0.25) }
    #expect(full[s.filtersOffset..<s.projectionOffset].contains { $0 != 0.25 })
    for i in s.projectionOffset..<s.parameterCount { #expect(frozen[i] == full[i], "parameter \(i)") }
}

/// The same band-limited signal sampled at 16 kHz and at 48 kHz gives nearly the same frames with rate scaling, and
/// clearly different frames without.
@Test func frontEndIsNearlyRateInvariant() throws {
    var s = FrontEndSettings(trainedRate: 16000, taps: 256, channels: 16, window: 400, hop: 160, outputs: 8)
    s.maxFrequency = 3800
    let front = try RateAwareFrontEnd(settings: s)
    var p = [Float](repeating: 0, count: s.parameterCount)
    var g = Xoshiro256StarStar(seed: 7)
    p.withUnsafeMutableBufferPointer { front.initialize($0.baseAddress!, generator: &g) }
    func signal(rate: Int) -> [Float] {
        (0..<(rate / 4)).map { i in
            let t = Double(i) / Double(rate)
            return Float(0.3 * sin(2 * .pi * 440 * t) + 0.2 * sin(2 * .pi * 1250 * t + 1) + 0.1 * sin(2 * .pi * 2900 * t))
        }
    }
    func frames(rate: Int, scaling: Bool) throws -> [Float] {
        let x = signal(rate: rate)
        let count = s.frameCount(samples: x.count, rate: scaling ? rate : 16000)
        var out = [Float](repeating: 0, count: count * s.outputs)
        _ = try p.withUnsafeBufferPointer { q in
            try out.withUnsafeMutableBufferPointer { o in
                try front.forward(q.baseAddress!, samples: x, rate: rate, rateScaling: scaling, output: o.baseAddress!)
            }
        }
        return out
    }
    let base = try frames(rate: 16000, scaling: true)
    let scaled = try frames(rate: 48000, scaling: true)
    #expect(scaled.count == base.count)
    // Skip the first frames (filter warm-up differs by less than a tap) and compare.
    let start = 3 * s.outputs
    let difference = zip(base[start...], scaled[start...]).map { abs($0 - $1) }.max()!
    let naive = try frames(rate: 48000, scaling: false)
    let naiveDifference = zip(base[start...], naive[start..<base.count]).map { abs($0 - $1) }.max()!
    #expect(difference < 0.05, "rate-scaled frames differ by \(difference)")
    #expect(naiveDifference > 10 * difference, "naive \(naiveDifference) vs scaled \(difference)")
}
