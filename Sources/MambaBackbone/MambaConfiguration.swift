// The model's configuration, read from and written to a Hugging Face `MambaConfig` config.json
// (transformers/models/mamba/configuration_mamba.py), plus MambaKit's own keys.
//
// Keys read (HF name, then the aliases of state-spaces/mamba's original config.json / `ssm_cfg` that are accepted):
//   vocab_size, hidden_size (d_model), state_size (d_state), num_hidden_layers (n_layer), expand,
//   intermediate_size (default expand · hidden_size; when present it wins, as in transformers), conv_kernel (d_conv),
//   time_step_rank ("auto" = ceil(hidden_size / 16), or an integer; dt_rank), use_bias (bias), use_conv_bias
//   (conv_bias), layer_norm_epsilon (norm_epsilon), tie_word_embeddings (tie_embeddings), residual_in_fp32,
//   hidden_act (only "silu"/"swish": anything else is an error), time_step_min/max/scale/floor (dt_min, dt_max,
//   dt_scale, dt_init_floor), time_step_init_scheme ("random"/"constant"; dt_init), initializer_range,
//   rescale_prenorm_residual, pad/bos/eos_token_id, pad_vocab_size_multiple (state-spaces: the embedding has
//   vocab_size rounded up to this multiple; written back as vocab_size = the padded size, which transformers
//   understands), rms_norm (state-spaces: false would mean LayerNorm, unsupported: error).
// MambaKit keys: layer_mixers (["s6" | "s4d"], one per layer, default all "s6"), bidirectional (BiMamba),
//   bidirectional_weight_tie (the reverse mixer shares the forward mixer's weights), head_type ("causal_lm" |
//   "sequence_classification"), classifier_pooling ("mean" | "last" | "max"), id2label (HF's {"0": "name"} form; its size is
//   the number of classes), tokenizer (a MambaKit tokenizer name), sample_rate (Hz, audio models), ngram_embedding
//   ({"order": k, "alphabet": [token ids]}: a second embedding table indexed by the last k tokens, see NGramEmbedding).
// Unknown keys (architectures, transformers_version, use_cache, use_mambapy, torch_dtype, ...) are PRESERVED: kept in
// `extraKeys` and written back unchanged, so a config read and written again still loads in transformers.
// residual_in_fp32 changes nothing here (everything is float32) but is kept and written back.
import Foundation

/// Which sequence mixer a layer uses.
public enum MixerKind: String, Codable, Sendable, CaseIterable {
    /// Mamba's selective scan: Δ, B, C computed from the input (S6).
    case s6
    /// The time-invariant diagonal SSM: Δ, B, C learned per channel, independent of the input (S4D).
    case s4d
}

/// What sits on top of the backbone.
public enum HeadType: String, Codable, Sendable {
    /// A linear layer to the vocabulary, tied to the embeddings when `tie_word_embeddings`.
    case causalLM = "causal_lm"
    /// Pooling over the valid positions, then a linear layer to the classes.
    case sequenceClassification = "sequence_classification"
}

/// How a classification head pools the sequence.
public enum ClassifierPooling: String, Codable, Sendable {
    /// The mean of the final hidden states over the valid positions.
    case mean
    /// The final hidden state at the last valid position.
    case last
    /// The largest value of each channel over the valid positions (its gradient goes to the first position holding
    /// the maximum).
    case max
}

/// `ngram_embedding`: a second input embedding indexed by the k-mer of tokens ending at each position (k-mer
/// tokenization as in DNABERT or the Nucleotide Transformer, kept beside the per-token embedding). Tokens outside the
/// alphabet, and the first k − 1 positions, use one shared extra row. See `NGramEmbedding`.
public struct NGramEmbeddingConfiguration: Equatable, Sendable {
    /// k: how many tokens (the current one and the k − 1 before it) index the table.
    public var order: Int
    /// The token ids whose k-mers have rows of their own, in digit order (e.g. DNA's A, C, G, T ids).
    public var alphabet: [Int]

    /// A configuration; `MambaConfiguration.validate()` checks it.
    public init(order: Int, alphabet: [Int]) {
        self.order = order
        self.alphabet = alphabet
    }

    /// Rows of the table: alphabet.count^order k-mers plus the shared row (nil when it overflows).
    public var rows: Int? {
        var count = 1
        for _ in 0..<max(0, order) {
            let (product, overflow) = count.multipliedReportingOverflow(by: alphabet.count)
            if overflow || product > MambaConfiguration.Limits.maxVocabulary { return nil }
            count = product
        }
        return count + 1
    }
}

/// `time_step_rank`: "auto" (ceil(hidden_size / 16)) or a fixed rank.
public enum TimeStepRank: Equatable, Sendable {
    /// ceil(hidden_size / 16), as state-spaces/mamba and transformers.
    case auto
    /// A fixed rank.
    case fixed(Int)
}

/// A configuration error: the key, what was expected and what was found (and the file when known).
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The config key at fault.
    public var key: String
    /// What a valid value would be.
    public var expected: String
    /// What was found.
    public var found: String
    /// The file, when the configuration came from one.
    public var file: String?

    /// Creates an error.
    public init(key: String, expected: String, found: String, file: String? = nil) {
        self.key = key
        self.expected = expected
        self.found = found
        self.file = file
    }

    /// One line: where, which key, expected, found.
    public var description: String {
        let place = file.map { "\($0): " } ?? ""
        return "\(place)config key '\(key)': expected \(expected), found \(found)"
    }
}

/// The configuration of a Mamba model: Hugging Face `MambaConfig` plus MambaKit's keys (see the file header).
public struct MambaConfiguration: Codable, Equatable, Sendable {
    // MARK: Hugging Face MambaConfig keys (defaults as transformers)
    /// `vocab_size`: the number of token ids.
    public var vocabSize: Int = 50280
    /// `hidden_size` (d_model).
    public var hiddenSize: Int = 768
    /// `state_size` (N, d_state).
    public var stateSize: Int = 16
    /// `num_hidden_layers`.
    public var numHiddenLayers: Int = 32
    /// `expand`: intermediate_size = expand · hidden_size unless `intermediate_size` is given.
    public var expand: Int = 2
    /// `intermediate_size` when given explicitly (d_inner).
    public var explicitIntermediateSize: Int? = nil
    /// `conv_kernel`: the causal depthwise convolution's width.
    public var convKernel: Int = 4
    /// `time_step_rank`.
    public var timeStepRank: TimeStepRank = .auto
    /// `use_bias`: biases on in_proj and out_proj.
    public var useBias: Bool = false
    /// `use_conv_bias`: a bias on conv1d.
    public var useConvBias: Bool = true
    /// `layer_norm_epsilon`: the RMSNorm epsilon.
    public var layerNormEpsilon: Double = 1e-5
    /// `tie_word_embeddings`: the LM head reuses the embedding matrix.
    public var tieWordEmbeddings: Bool = true
    /// `residual_in_fp32`: kept for transformers; no effect in an all-float32 model.
    public var residualInFP32: Bool = true
    /// `hidden_act`: the activation after the convolution; only "silu" (or its alias "swish").
    public var hiddenAct: String = "silu"
    /// `time_step_min`: the smallest initial Δ.
    public var timeStepMin: Double = 0.001
    /// `time_step_max`: the largest initial Δ.
    public var timeStepMax: Double = 0.1
    /// `time_step_scale`: scales dt_proj.weight's initial range.
    public var timeStepScale: Double = 1.0
    /// `time_step_init_scheme`: "random" (uniform ±std) or "constant" (= std) for dt_proj.weight.
    public var timeStepInitScheme: String = "random"
    /// `time_step_floor`: initial Δ values are clamped to at least this.
    public var timeStepFloor: Double = 1e-4
    /// `initializer_range`: the embeddings' initial standard deviation.
    public var initializerRange: Double = 0.1
    /// `rescale_prenorm_residual`: out_proj.weight /= sqrt(num_hidden_layers) at initialisation.
    public var rescalePrenormResidual: Bool = false
    /// `pad_token_id`.
    public var padTokenID: Int? = 0
    /// `bos_token_id`.
    public var bosTokenID: Int? = 0
    /// `eos_token_id` (transformers also allows a list; a list is kept as given in `extraKeys`).
    public var eosTokenID: Int? = 0
    /// state-spaces' `pad_vocab_size_multiple`: the embedding rows are vocab_size rounded up to this multiple.
    public var padVocabSizeMultiple: Int = 1

    // MARK: MambaKit keys
    /// `layer_mixers`: each layer's mixer; nil means all S6 (and is not written, keeping plain configs plain).
    public var layerMixers: [MixerKind]? = nil
    /// `bidirectional`: BiMamba, a second mixer over the reversed valid part of each sequence, outputs added.
    public var bidirectional: Bool = false
    /// `bidirectional_weight_tie`: the reverse mixer uses the forward mixer's weights.
    public var bidirectionalWeightTie: Bool = true
    /// `head_type`.
    public var headType: HeadType = .causalLM
    /// `classifier_pooling`, for the classification head.
    public var classifierPooling: ClassifierPooling = .mean
    /// `id2label`: class names in id order (the number of classes of a classification head).
    public var labels: [String] = []
    /// `tokenizer`: the MambaKit tokenizer the model was trained with.
    public var tokenizer: String? = nil
    /// `sample_rate`: the audio sample rate (Hz) the model was trained at.
    public var sampleRate: Int? = nil
    /// `ngram_embedding`: the k-mer embedding added to the token embedding, when the model has one.
    public var ngramEmbedding: NGramEmbeddingConfiguration? = nil

    /// Keys this type does not interpret, written back unchanged.
    public var extraKeys: [String: JSONValue] = [:]

    /// A configuration with transformers' defaults; change fields as needed and call `validate()`.
    public init() {}

    /// A small configuration, convenient for tests and benchmarks.
    public init(vocabSize: Int, hiddenSize: Int, stateSize: Int, numHiddenLayers: Int, expand: Int = 2,
                convKernel: Int = 4) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.stateSize = stateSize
        self.numHiddenLayers = numHiddenLayers
        self.expand = expand
        self.convKernel = convKernel
    }

    // MARK: Derived sizes
    /// d_inner: `intermediate_size` or expand · hidden_size.
    public var intermediateSize: Int { explicitIntermediateSize ?? expand * hiddenSize }
    /// r: the resolved time-step rank.
    public var resolvedTimeStepRank: Int {
        switch timeStepRank {
        case .auto: return (hiddenSize + 15) / 16
        case .fixed(let rank): return rank
        }
    }
    /// The embedding's number of rows: vocab_size rounded up to pad_vocab_size_multiple.
    public var paddedVocabSize: Int {
        let multiple = max(1, padVocabSizeMultiple)
        return (vocabSize + multiple - 1) / multiple * multiple
    }
    /// The mixer of layer `index`.
    public func mixer(ofLayer index: Int) -> MixerKind { layerMixers?[index] ?? .s6 }
    /// The number of outputs of the head: the padded vocabulary, or the number of classes.
    public var numOutputs: Int { headType == .causalLM ? paddedVocabSize : labels.count }

    // MARK: Limits
    /// Sizes beyond which a configuration is refused before anything is allocated.
    public enum Limits {
        /// Largest hidden_size and intermediate_size.
        public static let maxWidth = 1 << 16
        /// Largest state_size.
        public static let maxStateSize = 1024
        /// Largest number of layers.
        public static let maxLayers = 1024
        /// Largest (padded) vocabulary or number of classes.
        public static let maxVocabulary = 1 << 22
        /// Largest conv_kernel.
        public static let maxConvKernel = 64
        /// Largest total number of parameters (4 G floats = 16 GB).
        public static let maxParameters = 1 << 32
    }

    /// Checks every value; throws a `ConfigurationError` naming the key. Also refuses sizes whose parameter count
    /// would be absurd (see `Limits`), before anything is allocated.
    public func validate(file: String? = nil) throws {
        func check(_ ok: Bool, _ key: String, _ expected: String, _ found: Any) throws {
            if !ok { throw ConfigurationError(key: key, expected: expected, found: "\(found)", file: file) }
        }
        try check((1...Limits.maxVocabulary).contains(vocabSize), "vocab_size",
                  "1...\(Limits.maxVocabulary)", vocabSize)
        try check((1...1 << 16).contains(padVocabSizeMultiple), "pad_vocab_size_multiple", "1...65536",
                  padVocabSizeMultiple)
        try check(paddedVocabSize <= Limits.maxVocabulary, "vocab_size", "a padded size <= \(Limits.maxVocabulary)",
                  paddedVocabSize)
        try check((1...Limits.maxWidth).contains(hiddenSize), "hidden_size", "1...\(Limits.maxWidth)", hiddenSize)
        try check((1...Limits.maxStateSize).contains(stateSize), "state_size", "1...\(Limits.maxStateSize)",
                  stateSize)
        try check((1...Limits.maxLayers).contains(numHiddenLayers), "num_hidden_layers", "1...\(Limits.maxLayers)",
                  numHiddenLayers)
        try check((1...Limits.maxWidth).contains(expand), "expand", "1...\(Limits.maxWidth)", expand)
        try check((1...Limits.maxWidth).contains(intermediateSize),
                  explicitIntermediateSize == nil ? "expand" : "intermediate_size",
                  "an intermediate size in 1...\(Limits.maxWidth)", intermediateSize)
        try check((1...Limits.maxConvKernel).contains(convKernel), "conv_kernel", "1...\(Limits.maxConvKernel)",
                  convKernel)
        try check((1...Limits.maxWidth).contains(resolvedTimeStepRank), "time_step_rank",
                  "\"auto\" or 1...\(Limits.maxWidth)", resolvedTimeStepRank)
        try check(layerNormEpsilon.isFinite && layerNormEpsilon >= 0, "layer_norm_epsilon", "a finite value >= 0",
                  layerNormEpsilon)
        try check(hiddenAct == "silu" || hiddenAct == "swish", "hidden_act",
                  "\"silu\" (the only activation implemented)", "\"\(hiddenAct)\"")
        try check(timeStepMin > 0 && timeStepMin.isFinite, "time_step_min", "a finite value > 0", timeStepMin)
        try check(timeStepMax >= timeStepMin && timeStepMax.isFinite, "time_step_max",
                  "a finite value >= time_step_min", timeStepMax)
        try check(timeStepScale.isFinite, "time_step_scale", "a finite value", timeStepScale)
        try check(timeStepFloor.isFinite && timeStepFloor >= 0, "time_step_floor", "a finite value >= 0",
                  timeStepFloor)
        try check(timeStepInitScheme == "random" || timeStepInitScheme == "constant", "time_step_init_scheme",
                  "\"random\" or \"constant\"", "\"\(timeStepInitScheme)\"")
        try check(initializerRange.isFinite && initializerRange >= 0, "initializer_range", "a finite value >= 0",
                  initializerRange)
        if let mixers = layerMixers {
            try check(mixers.count == numHiddenLayers, "layer_mixers",
                      "\(numHiddenLayers) entries (num_hidden_layers)", "\(mixers.count) entries")
        }
        if headType == .sequenceClassification {
            try check((1...Limits.maxVocabulary).contains(labels.count), "id2label",
                      "1...\(Limits.maxVocabulary) labels for a classification head", labels.count)
        }
        if let rate = sampleRate {
            try check(rate > 0, "sample_rate", "a positive rate in Hz", rate)
        }
        if let ngram = ngramEmbedding {
            try check((1...12).contains(ngram.order), "ngram_embedding.order", "1...12", ngram.order)
            try check(!ngram.alphabet.isEmpty, "ngram_embedding.alphabet", "at least one token id", "none")
            try check(Set(ngram.alphabet).count == ngram.alphabet.count, "ngram_embedding.alphabet",
                      "distinct token ids", ngram.alphabet)
            try check(ngram.alphabet.allSatisfy { (0..<paddedVocabSize).contains($0) }, "ngram_embedding.alphabet",
                      "token ids in 0..<\(paddedVocabSize)", ngram.alphabet)
            try check(ngram.rows != nil, "ngram_embedding", "alphabet size^order <= \(Limits.maxVocabulary)",
                      "\(ngram.alphabet.count)^\(ngram.order)")
        }
        let count = ParameterLayout.parameterCount(self)
        try check(count != nil && count! <= Limits.maxParameters, "hidden_size",
                  "sizes giving at most \(Limits.maxParameters) parameters",
                  count.map { "\($0) parameters" } ?? "a parameter count that overflows")
    }

    // MARK: Files
    /// Reads and validates a config.json.
    public static func load(from url: URL) throws -> MambaConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            let found = FileManager.default.fileExists(atPath: url.path) ? error.localizedDescription : "no such file"
            throw ConfigurationError(key: "(file)", expected: "a readable config.json", found: found, file: url.path)
        }
        let object: JSONValue
        do { object = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ConfigurationError(key: "(file)", expected: "valid JSON", found: "\(error)", file: url.path)
        }
        var configuration = try MambaConfiguration(json: object, file: url.path)
        configuration.extraKeys.removeValue(forKey: "_name_or_path")
        try configuration.validate(file: url.path)
        return configuration
    }

    /// Writes config.json atomically (temporary file in the same folder, then rename), formatted as transformers
    /// writes it (sorted keys, floats with a decimal point: its strict config classes reject `1` for a float).
    public func write(to url: URL) throws {
        try AtomicFile.write(Data((JSONValue.object(jsonObject()).prettyPrinted() + "\n").utf8), to: url)
    }

    // MARK: Codable
    /// Decodes from a JSON object (see the file header for the keys).
    public init(from decoder: Decoder) throws {
        try self.init(json: JSONValue(from: decoder), file: nil)
    }

    /// Encodes as a JSON object with transformers' key names.
    public func encode(to encoder: Encoder) throws {
        try JSONValue.object(jsonObject()).encode(to: encoder)
    }

    /// Parses a JSON object; the keys found in it are removed from `extraKeys`, the rest preserved.
    public init(json: JSONValue, file: String?) throws {
        guard case .object(var keys) = json else {
            throw ConfigurationError(key: "(root)", expected: "a JSON object", found: json.summary, file: file)
        }
        // state-spaces/mamba's original config nests the mixer's settings in ssm_cfg: lift them to the top level
        // under their own names, then read them through the aliases below.
        if case .object(let ssm)? = keys["ssm_cfg"] {
            for (key, value) in ssm where keys[key] == nil { keys[key] = value }
            if let layer = ssm["layer"], layer != .string("Mamba1") {
                throw ConfigurationError(key: "ssm_cfg.layer", expected: "\"Mamba1\" (Mamba-2 is not implemented)",
                                         found: layer.summary, file: file)
            }
            keys.removeValue(forKey: "ssm_cfg")
        }
        func take(_ names: [String]) -> (String, JSONValue)? {
            var found: (String, JSONValue)?
            for name in names {
                if let value = keys.removeValue(forKey: name), found == nil { found = (name, value) }
            }
            return found
        }
        func int(_ names: String..., into target: inout Int) throws {
            guard let (name, value) = take(names) else { return }
            guard let number = value.integerValue, let exact = Int(exactly: number) else {
                throw ConfigurationError(key: name, expected: "an integer", found: value.summary, file: file)
            }
            target = exact
        }
        func optionalInt(_ name: String, into target: inout Int?) throws {
            guard let (_, value) = take([name]) else { return }
            if value == .null { target = nil; return }
            guard let number = value.integerValue, let exact = Int(exactly: number) else {
                throw ConfigurationError(key: name, expected: "an integer or null", found: value.summary, file: file)
            }
            target = exact
        }
        func double(_ names: String..., into target: inout Double) throws {
            guard let (name, value) = take(names) else { return }
            guard let number = value.doubleValue else {
                throw ConfigurationError(key: name, expected: "a number", found: value.summary, file: file)
            }
            target = number
        }
        func bool(_ names: String..., into target: inout Bool) throws {
            guard let (name, value) = take(names) else { return }
            guard case .bool(let flag) = value else {
                throw ConfigurationError(key: name, expected: "true or false", found: value.summary, file: file)
            }
            target = flag
        }
        func string(_ names: String..., into target: inout String) throws {
            guard let (name, value) = take(names) else { return }
            guard case .string(let text) = value else {
                throw ConfigurationError(key: name, expected: "a string", found: value.summary, file: file)
            }
            target = text
        }
        try int("vocab_size", into: &vocabSize)
        try int("hidden_size", "d_model", into: &hiddenSize)
        try int("state_size", "d_state", into: &stateSize)
        try int("num_hidden_layers", "n_layer", into: &numHiddenLayers)
        try int("expand", into: &expand)
        var intermediate = -1
        try int("intermediate_size", into: &intermediate)
        explicitIntermediateSize = intermediate == -1 ? nil : intermediate
        try int("conv_kernel", "d_conv", into: &convKernel)
        if let (name, value) = take(["time_step_rank", "dt_rank"]) {
            if value == .string("auto") {
                timeStepRank = .auto
            } else if let number = value.integerValue, let exact = Int(exactly: number) {
                timeStepRank = .fixed(exact)
            } else {
                throw ConfigurationError(key: name, expected: "\"auto\" or an integer", found: value.summary,
                                         file: file)
            }
        }
        try bool("use_bias", "bias", into: &useBias)
        try bool("use_conv_bias", "conv_bias", into: &useConvBias)
        try double("layer_norm_epsilon", "norm_epsilon", into: &layerNormEpsilon)
        try bool("tie_word_embeddings", "tie_embeddings", into: &tieWordEmbeddings)
        try bool("residual_in_fp32", into: &residualInFP32)
        try string("hidden_act", into: &hiddenAct)
        try double("time_step_min", "dt_min", into: &timeStepMin)
        try double("time_step_max", "dt_max", into: &timeStepMax)
        try double("time_step_scale", "dt_scale", into: &timeStepScale)
        try double("time_step_floor", "dt_init_floor", into: &timeStepFloor)
        try string("time_step_init_scheme", "dt_init", into: &timeStepInitScheme)
        try double("initializer_range", into: &initializerRange)
        try bool("rescale_prenorm_residual", into: &rescalePrenormResidual)
        try optionalInt("pad_token_id", into: &padTokenID)
        try optionalInt("bos_token_id", into: &bosTokenID)
        if case .array? = keys["eos_token_id"] {
            eosTokenID = nil  // a list of ids: kept verbatim in extraKeys
        } else {
            try optionalInt("eos_token_id", into: &eosTokenID)
        }
        try int("pad_vocab_size_multiple", into: &padVocabSizeMultiple)
        if let (name, value) = take(["rms_norm"]), value != .bool(true) {
            throw ConfigurationError(key: name, expected: "true (LayerNorm is not implemented)", found: value.summary,
                                     file: file)
        }
        // Mixer model switches of state-spaces' config with no effect on the math here.
        _ = take(["fused_add_norm"])

        if let (name, value) = take(["layer_mixers"]) {
            guard case .array(let items) = value else {
                throw ConfigurationError(key: name, expected: "an array of \"s6\" / \"s4d\"", found: value.summary,
                                         file: file)
            }
            layerMixers = try items.enumerated().map { index, item in
                guard case .string(let text) = item, let kind = MixerKind(rawValue: text) else {
                    throw ConfigurationError(key: "layer_mixers[\(index)]", expected: "\"s6\" or \"s4d\"",
                                             found: item.summary, file: file)
                }
                return kind
            }
        }
        try bool("bidirectional", into: &bidirectional)
        try bool("bidirectional_weight_tie", into: &bidirectionalWeightTie)
        var head = headType.rawValue
        try string("head_type", into: &head)
        guard let parsedHead = HeadType(rawValue: head) else {
            throw ConfigurationError(key: "head_type", expected: "\"causal_lm\" or \"sequence_classification\"",
                                     found: "\"\(head)\"", file: file)
        }
        headType = parsedHead
        var pooling = classifierPooling.rawValue
        try string("classifier_pooling", into: &pooling)
        guard let parsedPooling = ClassifierPooling(rawValue: pooling) else {
            throw ConfigurationError(key: "classifier_pooling", expected: "\"mean\", \"last\" or \"max\"",
                                     found: "\"\(pooling)\"", file: file)
        }
        classifierPooling = parsedPooling
        // id2label is interpreted only for a classification head (transformers may write a default one for any model).
        if headType == .sequenceClassification, let (name, value) = take(["id2label"]) {
            guard case .object(let map) = value else {
                throw ConfigurationError(key: name, expected: "an object {\"0\": \"label\", ...}",
                                         found: value.summary, file: file)
            }
            var names = [String](repeating: "", count: map.count)
            for (key, item) in map {
                guard let index = Int(key), (0..<map.count).contains(index), case .string(let label) = item else {
                    throw ConfigurationError(key: "id2label[\(key)]",
                                             expected: "ids 0..<\(map.count) mapped to strings",
                                             found: "\(key): \(item.summary)", file: file)
                }
                names[index] = label
            }
            labels = names
            keys.removeValue(forKey: "label2id")  // derived from id2label on writing
            keys.removeValue(forKey: "num_labels")
        }
        if let (name, value) = take(["tokenizer"]), value != .null {
            guard case .string(let text) = value else {
                throw ConfigurationError(key: name, expected: "a string", found: value.summary, file: file)
            }
            tokenizer = text
        }
        try optionalInt("sample_rate", into: &sampleRate)
        if let (name, value) = take(["ngram_embedding"]), value != .null {
            guard case .object(let object) = value, let order = object["order"]?.integerValue.flatMap({ Int(exactly: $0) }),
                  case .array(let items)? = object["alphabet"] else {
                throw ConfigurationError(key: name, expected: "{\"order\": k, \"alphabet\": [token ids]}",
                                         found: value.summary, file: file)
            }
            let alphabet = try items.map { item -> Int in
                guard let id = item.integerValue.flatMap({ Int(exactly: $0) }) else {
                    throw ConfigurationError(key: "\(name).alphabet", expected: "integer token ids",
                                             found: item.summary, file: file)
                }
                return id
            }
            ngramEmbedding = NGramEmbeddingConfiguration(order: order, alphabet: alphabet)
        }
        extraKeys = keys
    }

    /// The JSON object written to config.json (transformers' names; MambaKit keys only where they differ from the
    /// default, so that a plain Mamba model's config looks like transformers' own).
    public func jsonObject() -> [String: JSONValue] {
        var keys = extraKeys
        func int(_ value: Int) -> JSONValue { .integer(Int64(value)) }
        keys["model_type"] = keys["model_type"] ?? .string("mamba")
        // transformers has no pad_vocab_size_multiple: it gets the padded size, the embedding's real row count.
        keys["vocab_size"] = int(paddedVocabSize)
        keys["hidden_size"] = int(hiddenSize)
        keys["state_size"] = int(stateSize)
        keys["num_hidden_layers"] = int(numHiddenLayers)
        keys["expand"] = int(expand)
        keys["intermediate_size"] = int(intermediateSize)
        keys["conv_kernel"] = int(convKernel)
        keys["time_step_rank"] = int(resolvedTimeStepRank)
        keys["use_bias"] = .bool(useBias)
        keys["use_conv_bias"] = .bool(useConvBias)
        keys["layer_norm_epsilon"] = .number(layerNormEpsilon)
        keys["tie_word_embeddings"] = .bool(tieWordEmbeddings)
        keys["residual_in_fp32"] = .bool(residualInFP32)
        keys["hidden_act"] = .string(hiddenAct)
        keys["time_step_min"] = .number(timeStepMin)
        keys["time_step_max"] = .number(timeStepMax)
        keys["time_step_scale"] = .number(timeStepScale)
        keys["time_step_floor"] = .number(timeStepFloor)
        keys["time_step_init_scheme"] = .string(timeStepInitScheme)
        keys["initializer_range"] = .number(initializerRange)
        keys["rescale_prenorm_residual"] = .bool(rescalePrenormResidual)
        keys["pad_token_id"] = padTokenID.map(int) ?? .null
        keys["bos_token_id"] = bosTokenID.map(int) ?? .null
        if keys["eos_token_id"] == nil { keys["eos_token_id"] = eosTokenID.map(int) ?? .null }
        if let mixers = layerMixers { keys["layer_mixers"] = .array(mixers.map { .string($0.rawValue) }) }
        if bidirectional {
            keys["bidirectional"] = .bool(true)
            keys["bidirectional_weight_tie"] = .bool(bidirectionalWeightTie)
        }
        if headType != .causalLM {
            keys["head_type"] = .string(headType.rawValue)
            keys["classifier_pooling"] = .string(classifierPooling.rawValue)
            var id2label: [String: JSONValue] = [:]
            var label2id: [String: JSONValue] = [:]
            for (index, label) in labels.enumerated() {
                id2label[String(index)] = .string(label)
                label2id[label] = int(index)
            }
            keys["id2label"] = .object(id2label)
            keys["label2id"] = .object(label2id)
        }
        if let tokenizer { keys["tokenizer"] = .string(tokenizer) }
        if let sampleRate { keys["sample_rate"] = int(sampleRate) }
        if let ngram = ngramEmbedding {
            keys["ngram_embedding"] = .object(["order": int(ngram.order), "alphabet": .array(ngram.alphabet.map(int))])
        }
        return keys
    }
}

extension MambaConfiguration {
    /// Equality of the interpreted settings and the preserved keys.
    public static func == (lhs: MambaConfiguration, rhs: MambaConfiguration) -> Bool {
        lhs.jsonObject() == rhs.jsonObject()
    }
}
