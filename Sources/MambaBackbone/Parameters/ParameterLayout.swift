// Where every parameter lives in the one contiguous parameter buffer (llm.c's ParameterTensors): a name, an internal
// shape, an offset. Gradients and optimizer moments reuse this layout, so the optimizer is one loop over one buffer.
//
// Names are transformers' `MambaForCausalLM` state-dict names. Internal shapes equal the checkpoint shapes except
// `conv1d.weight`: stored (d_inner, k) here, (d_inner, 1, k) in checkpoints (same memory order); `checkpointShape`
// is the one place where the two differ.
//
//   backbone.embeddings.weight              (V, d_model)         V = padded vocabulary
//   backbone.ngram_embeddings.weight        (A^k + 1, d_model)   only with ngram_embedding (MambaKit)
//   backbone.layers.{i}.norm.weight         (d_model)
//   backbone.layers.{i}.mixer.in_proj.weight   (2·d_inner, d_model)   rows [0, d_inner) → x, [d_inner, 2·d_inner) → z
//                            in_proj.bias      (2·d_inner)            when use_bias
//                            conv1d.weight     (d_inner, k)           checkpoint (d_inner, 1, k)
//                            conv1d.bias       (d_inner)              when use_conv_bias
//     S6:                    x_proj.weight     (r + 2n, d_inner)      rows → Δ (r), B (n), C (n)
//                            dt_proj.weight    (d_inner, r)
//                            dt_proj.bias      (d_inner)
//     S4D (MambaKit):        dt_bias           (d_inner)              Δ = softplus(dt_bias)
//                            B, C              (d_inner, n)
//                            A_log             (d_inner, n)           A = -exp(A_log)
//                            D                 (d_inner)
//                            out_proj.weight   (d_model, d_inner)
//                            out_proj.bias     (d_model)              when use_bias
//   backbone.layers.{i}.mixer_reverse.*     the reverse mixer of a bidirectional model without weight tying
//   backbone.norm_f.weight                  (d_model)
//   lm_head.weight                          (V, d_model)         only without tie_word_embeddings
//   classifier.weight, classifier.bias      (classes, d_model), (classes)   classification head instead of lm_head
import Foundation

/// The offsets of one mixer's parameters in the parameter buffer.
public struct MixerOffsets: Sendable, Equatable {
    /// The time-varying (S6) or time-invariant (S4D) state-space parameters.
    public enum SSM: Sendable, Equatable {
        /// S6: x_proj.weight (r + 2n, d_inner), dt_proj.weight (d_inner, r), dt_proj.bias (d_inner).
        case selective(xProjWeight: Int, dtProjWeight: Int, dtProjBias: Int)
        /// S4D: dt_bias (d_inner), B (d_inner, n), C (d_inner, n).
        case timeInvariant(dtBias: Int, b: Int, c: Int)
    }
    /// in_proj.weight (2·d_inner, d_model).
    public var inProjWeight: Int
    /// in_proj.bias (2·d_inner), when use_bias.
    public var inProjBias: Int?
    /// conv1d.weight (d_inner, k).
    public var convWeight: Int
    /// conv1d.bias (d_inner), when use_conv_bias.
    public var convBias: Int?
    /// The SSM parameters.
    public var ssm: SSM
    /// A_log (d_inner, n).
    public var aLog: Int
    /// D (d_inner).
    public var d: Int
    /// out_proj.weight (d_model, d_inner).
    public var outProjWeight: Int
    /// out_proj.bias (d_model), when use_bias.
    public var outProjBias: Int?
}

/// The offsets of one residual block's parameters.
public struct LayerOffsets: Sendable, Equatable {
    /// norm.weight (d_model).
    public var norm: Int
    /// The (forward) mixer.
    public var mixer: MixerOffsets
    /// The reverse mixer of a bidirectional layer (the forward mixer's offsets when weights are tied).
    public var reverseMixer: MixerOffsets?
}

/// Names, shapes and offsets of all parameters, in one contiguous buffer.
public struct ParameterLayout: Sendable {
    /// One named parameter.
    public struct Entry: Sendable, Equatable {
        /// The checkpoint name (transformers' state-dict key).
        public var name: String
        /// The internal shape.
        public var shape: [Int]
        /// The offset (in floats) in the parameter buffer; a multiple of 16 (64 bytes).
        public var offset: Int
        /// The element count.
        public var count: Int { shape.reduce(1, *) }
    }

    /// Every parameter, in buffer order.
    public private(set) var entries: [Entry] = []
    /// Floats in the buffer (entries' sizes plus alignment padding).
    public private(set) var totalCount = 0
    /// backbone.embeddings.weight (V, d_model).
    public private(set) var embeddings = 0
    /// backbone.ngram_embeddings.weight (A^k + 1, d_model), with an n-gram embedding.
    public private(set) var ngramEmbeddings: Int? = nil
    /// Per-layer offsets.
    public private(set) var layers: [LayerOffsets] = []
    /// backbone.norm_f.weight (d_model).
    public private(set) var normF = 0
    /// lm_head.weight (V, d_model) when it is not tied; nil otherwise.
    public private(set) var lmHead: Int? = nil
    /// classifier.weight (classes, d_model), for a classification head.
    public private(set) var classifierWeight: Int? = nil
    /// classifier.bias (classes), for a classification head.
    public private(set) var classifierBias: Int? = nil

    private var index: [String: Int] = [:]

    /// Lays out the parameters of `configuration` (which must be valid: call `validate()` first).
    public init(_ configuration: MambaConfiguration) {
        let c = configuration
        let dModel = c.hiddenSize, dInner = c.intermediateSize, n = c.stateSize, r = c.resolvedTimeStepRank
        embeddings = add("backbone.embeddings.weight", [c.paddedVocabSize, dModel])
        if let rows = c.ngramEmbedding?.rows { ngramEmbeddings = add("backbone.ngram_embeddings.weight", [rows, dModel]) }
        for layer in 0..<c.numHiddenLayers {
            let prefix = "backbone.layers.\(layer)"
            let norm = add("\(prefix).norm.weight", [dModel])
            func mixer(_ name: String) -> MixerOffsets {
                let p = "\(prefix).\(name)"
                let inProjWeight = add("\(p).in_proj.weight", [2 * dInner, dModel])
                let inProjBias = c.useBias ? add("\(p).in_proj.bias", [2 * dInner]) : nil
                let convWeight = add("\(p).conv1d.weight", [dInner, c.convKernel])
                let convBias = c.useConvBias ? add("\(p).conv1d.bias", [dInner]) : nil
                let ssm: MixerOffsets.SSM
                switch c.mixer(ofLayer: layer) {
                case .s6:
                    ssm = .selective(xProjWeight: add("\(p).x_proj.weight", [r + 2 * n, dInner]),
                                     dtProjWeight: add("\(p).dt_proj.weight", [dInner, r]),
                                     dtProjBias: add("\(p).dt_proj.bias", [dInner]))
                case .s4d:
                    ssm = .timeInvariant(dtBias: add("\(p).dt_bias", [dInner]), b: add("\(p).B", [dInner, n]),
                                         c: add("\(p).C", [dInner, n]))
                }
                let aLog = add("\(p).A_log", [dInner, n])
                let d = add("\(p).D", [dInner])
                let outProjWeight = add("\(p).out_proj.weight", [dModel, dInner])
                let outProjBias = c.useBias ? add("\(p).out_proj.bias", [dModel]) : nil
                return MixerOffsets(inProjWeight: inProjWeight, inProjBias: inProjBias, convWeight: convWeight,
                                    convBias: convBias, ssm: ssm, aLog: aLog, d: d, outProjWeight: outProjWeight,
                                    outProjBias: outProjBias)
            }
            let forward = mixer("mixer")
            let reverse = c.bidirectional ? (c.bidirectionalWeightTie ? forward : mixer("mixer_reverse")) : nil
            layers.append(LayerOffsets(norm: norm, mixer: forward, reverseMixer: reverse))
        }
        normF = add("backbone.norm_f.weight", [dModel])
        switch c.headType {
        case .causalLM:
            if !c.tieWordEmbeddings { lmHead = add("lm_head.weight", [c.paddedVocabSize, dModel]) }
        case .sequenceClassification:
            classifierWeight = add("classifier.weight", [c.labels.count, dModel])
            classifierBias = add("classifier.bias", [c.labels.count])
        }
    }

    private mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let offset = totalCount
        let count = shape.reduce(1, *)
        totalCount += (count + 15) / 16 * 16
        index[name] = entries.count
        entries.append(Entry(name: name, shape: shape, offset: offset))
        return offset
    }

    /// The entry named `name`, if the model has it.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The shape a tensor has in a checkpoint: conv1d weights are (d_inner, 1, k) there, (d_inner, k) here.
    /// The only layout conversion between checkpoints and the buffer.
    public static func checkpointShape(of entry: Entry) -> [Int] {
        if entry.name.hasSuffix(".conv1d.weight") { return [entry.shape[0], 1, entry.shape[1]] }
        return entry.shape
    }

    /// The parameter count of a configuration whose sizes are each within `MambaConfiguration.Limits`
    /// (computed without allocating; nil when it overflows).
    public static func parameterCount(_ c: MambaConfiguration) -> Int? {
        let v = c.paddedVocabSize, d = c.hiddenSize, e = c.intermediateSize, n = c.stateSize
        let r = c.resolvedTimeStepRank, k = c.convKernel, layers = c.numHiddenLayers
        func mul(_ values: Int...) -> Int? {
            var product = 1
            for value in values {
                let (p, o) = product.multipliedReportingOverflow(by: value)
                if o || value < 0 { return nil }
                product = p
            }
            return product
        }
        func sum(_ values: Int?...) -> Int? {
            var total = 0
            for value in values {
                guard let value else { return nil }
                let (s, o) = total.addingReportingOverflow(value)
                if o { return nil }
                total = s
            }
            return total
        }
        let s6 = sum(mul(r + 2 * n, e), mul(e, r), e)
        let s4d = sum(e, mul(2, e, n))
        func mixer(_ kind: MixerKind) -> Int? {
            sum(mul(2, e, d), c.useBias ? 2 * e : 0, mul(e, k), c.useConvBias ? e : 0,
                kind == .s6 ? s6 : s4d, mul(e, n), e, mul(d, e), c.useBias ? d : 0)
        }
        var total: Int? = sum(mul(v, d), d)
        if let ngram = c.ngramEmbedding { total = sum(total, ngram.rows.flatMap { mul($0, d) }) }
        let mixersPerLayer = c.bidirectional && !c.bidirectionalWeightTie ? 2 : 1
        for layer in 0..<layers {
            total = sum(total, d, mul(mixersPerLayer, mixer(c.mixer(ofLayer: layer)) ?? -1))
        }
        switch c.headType {
        case .causalLM: total = sum(total, c.tieWordEmbeddings ? 0 : mul(v, d))
        case .sequenceClassification: total = sum(total, mul(c.labels.count, d), c.labels.count)
        }
        return total
    }
}
