// Random initialisation, following state-spaces/mamba (mamba_ssm/modules/mamba_simple.py `Mamba.__init__` and
// mamba_ssm/models/mixer_seq_simple.py `_init_weights`) with the knobs of transformers' MambaConfig:
//   embeddings                normal(0, initializer_range)
//   norm weights              1
//   in_proj, x_proj, out_proj, lm_head (untied), classifier weights
//                             uniform(±1/sqrt(fan_in)) (nn.Linear's default, kaiming_uniform with a = sqrt(5))
//   in_proj / out_proj / classifier biases     0 (mixer_seq_simple zeroes Linear biases)
//   conv1d weight and bias    uniform(±1/sqrt(k)) (nn.Conv1d's default, fan_in = k for a depthwise conv;
//                             transformers zeroes the bias instead)
//   dt_proj.weight            uniform(±s) ("random") or s ("constant"), s = r^-0.5 · time_step_scale
//   dt_proj.bias              softplus⁻¹(dt), dt = exp(U[0,1) · (ln dt_max − ln dt_min) + ln dt_min), clamped to
//                             >= time_step_floor; softplus⁻¹(x) = x + ln(−expm1(−x))
//   A_log                     ln(1 ... n) in every row (S4D-Real), D = 1
//   out_proj.weight           divided by sqrt(num_hidden_layers) when rescale_prenorm_residual
//   S4D mixer (MambaKit): dt_bias as dt_proj.bias, A_log and D as S6, B = 1 and C ~ normal(0, 1) (S4D's
//   initialisation of B and C, Gu et al. 2022, "On the Parameterization and Initialization of Diagonal SSMs").
// Entries are filled in layout order from one generator, so a seed gives the same model on every machine.
import Foundation
import MambaTensor

/// Fills a parameter buffer with the initial values above.
public enum ParameterInitializer {
    /// Initialises every entry of `layout` in `parameters`.
    public static func initialize(_ parameters: UnsafeMutablePointer<Float>, layout: ParameterLayout,
                                  configuration c: MambaConfiguration, generator: inout Xoshiro256StarStar) {
        for entry in layout.entries {
            let out = parameters + entry.offset
            let count = entry.count
            let name = entry.name
            func uniform(_ bound: Double) {
                for i in 0..<count { out[i] = Float((2 * Double(generator.nextUniform()) - 1) * bound) }
            }
            func normal(_ std: Double) {
                for i in 0..<count { out[i] = Float(std) * generator.nextNormal() }
            }
            func fill(_ value: Float) { out.update(repeating: value, count: count) }
            let fanIn = entry.shape.count == 2 ? entry.shape[1] : 1
            switch true {
            case name.hasSuffix("embeddings.weight"):
                normal(c.initializerRange)
            case name.hasSuffix("norm.weight"), name.hasSuffix("norm_f.weight"), name.hasSuffix(".D"):
                fill(1)
            case name.hasSuffix("in_proj.bias"), name.hasSuffix("out_proj.bias"), name.hasSuffix("classifier.bias"):
                fill(0)
            case name.hasSuffix("conv1d.weight"), name.hasSuffix("conv1d.bias"):
                uniform(1 / Double(c.convKernel).squareRoot())
            case name.hasSuffix("dt_proj.weight"):
                let s = pow(Double(c.resolvedTimeStepRank), -0.5) * c.timeStepScale
                if c.timeStepInitScheme == "constant" { fill(Float(s)) } else { uniform(s) }
            case name.hasSuffix("dt_proj.bias"), name.hasSuffix(".dt_bias"):
                let low = Foundation.log(c.timeStepMin), high = Foundation.log(c.timeStepMax)
                for i in 0..<count {
                    let dt = max(Foundation.exp(Double(generator.nextUniform()) * (high - low) + low), c.timeStepFloor)
                    out[i] = Float(dt + Foundation.log(-Foundation.expm1(-dt)))
                }
            case name.hasSuffix("A_log"):
                let n = entry.shape[1]
                for row in 0..<entry.shape[0] {
                    for j in 0..<n { out[row * n + j] = Float(Foundation.log(Double(j + 1))) }
                }
            case name.hasSuffix(".B"):
                fill(1)
            case name.hasSuffix(".C"):
                normal(1)
            case name.hasSuffix("out_proj.weight"):
                uniform(1 / Double(fanIn).squareRoot())
                if c.rescalePrenormResidual {
                    let scale = Float(1 / Double(c.numHiddenLayers).squareRoot())
                    for i in 0..<count { out[i] *= scale }
                }
            default:
                // in_proj, x_proj, lm_head, classifier weights: nn.Linear's default.
                uniform(1 / Double(fanIn).squareRoot())
            }
        }
    }
}
