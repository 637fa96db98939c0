// The random initialisation follows state-spaces/mamba with transformers' MambaConfig knobs.
import Foundation
import MambaBackbone
import MambaTensor
import Testing

struct InitializationTests {
    @Test func distributionsFollowTheOfficialInitialisation() throws {
        var c = MambaConfiguration(vocabSize: 300, hiddenSize: 64, stateSize: 6, numHiddenLayers: 2)
        c.layerMixers = [.s6, .s4d]
        c.timeStepMin = 0.002
        c.timeStepMax = 0.05
        c.initializerRange = 0.3
        let model = try MambaModel(configuration: c, seed: 123)
        let p = { (name: String) in model.parameter(name)!.array.map(Double.init) }
        let n = 6, e = 128, r = 4  // r = ceil(64 / 16)
        for layer in 0..<2 {
            let aLog = p("backbone.layers.\(layer).mixer.A_log")
            for row in 0..<e { for j in 0..<n { #expect(abs(aLog[row * n + j] - log(Double(j + 1))) < 1e-6) } }
            #expect(p("backbone.layers.\(layer).mixer.D").allSatisfy { $0 == 1 })
            #expect(p("backbone.layers.\(layer).norm.weight").allSatisfy { $0 == 1 })
        }
        // Δ = softplus(bias) lies in [dt_min, dt_max], log-uniformly: about half below the geometric mean.
        for name in ["backbone.layers.0.mixer.dt_proj.bias", "backbone.layers.1.mixer.dt_bias"] {
            let dt = p(name).map { log1p(exp($0)) }
            #expect(dt.allSatisfy { $0 >= 0.002 * 0.999 && $0 <= 0.05 * 1.001 }, "\(name)")
            let below = dt.filter { $0 < (0.002 * 0.05).squareRoot() }.count
            #expect((40...88).contains(below), "\(name): \(below) of 128 below the geometric mean")
        }
        let dtWeight = p("backbone.layers.0.mixer.dt_proj.weight")
        let bound = 1 / Double(r).squareRoot()
        #expect(dtWeight.count == e * r && dtWeight.allSatisfy { abs($0) <= bound })
        #expect(dtWeight.map(abs).max()! > 0.9 * bound)
        let embeddings = p("backbone.embeddings.weight")
        let std = (embeddings.map { $0 * $0 }.reduce(0, +) / Double(embeddings.count)).squareRoot()
        #expect(abs(std - 0.3) < 0.01)
        let inProj = p("backbone.layers.0.mixer.in_proj.weight")
        #expect(inProj.allSatisfy { abs($0) <= 1 / 8.0 } && inProj.map(abs).max()! > 0.12)
        #expect(p("backbone.layers.1.mixer.B").allSatisfy { $0 == 1 })
        // The same seed gives the same model; another seed another.
        #expect(try MambaModel(configuration: c, seed: 123).parameters.array == model.parameters.array)
        #expect(try MambaModel(configuration: c, seed: 124).parameters.array != model.parameters.array)
    }

    @Test func constantSchemeAndRescaledOutputProjection() throws {
        var c = MambaConfiguration(vocabSize: 10, hiddenSize: 32, stateSize: 4, numHiddenLayers: 4)
        c.timeStepInitScheme = "constant"
        c.timeStepScale = 2
        c.rescalePrenormResidual = true
        let model = try MambaModel(configuration: c, seed: 1)
        let dtWeight = model.parameter("backbone.layers.0.mixer.dt_proj.weight")!.array
        #expect(dtWeight.allSatisfy { abs(Double($0) - 2 / 2.0.squareRoot()) < 1e-6 })  // r = 2
        let out = model.parameter("backbone.layers.0.mixer.out_proj.weight")!.array
        // uniform(±1/sqrt(64)) / sqrt(4 layers)
        #expect(out.allSatisfy { abs($0) <= 1 / 8.0 / 2 } && out.map(abs).max()! > 0.05)
    }
}
