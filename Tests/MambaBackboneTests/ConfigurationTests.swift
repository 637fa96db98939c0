// MambaConfiguration: transformers' config.json keys, aliases of state-spaces' config, MambaKit keys, round trips,
// and refusals with the key named.
import Foundation
import MambaBackbone
import Testing
import _MambaTestSupport

struct ConfigurationTests {
    func parse(_ json: String) throws -> MambaConfiguration {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        let configuration = try MambaConfiguration(json: value, file: "test.json")
        try configuration.validate(file: "test.json")
        return configuration
    }

    @Test func readsTransformersConfigOfAFixture() throws {
        let c = try MambaConfiguration.load(from: fixturesDirectory.appendingPathComponent("tiny-options/config.json"))
        #expect(c.vocabSize == 29 && c.hiddenSize == 24 && c.stateSize == 4 && c.numHiddenLayers == 3)
        #expect(c.intermediateSize == 40)  // explicit intermediate_size wins over expand · hidden_size = 48
        #expect(c.convKernel == 3 && c.resolvedTimeStepRank == 3)
        #expect(c.useBias && !c.useConvBias && !c.tieWordEmbeddings && c.layerNormEpsilon == 0.001)
        #expect(c.extraKeys["architectures"] == .array([.string("MambaForCausalLM")]))
        #expect(c.extraKeys["use_mambapy"] == .bool(false))
    }

    @Test func defaultsAndAutoRank() throws {
        let c = try parse(#"{"hidden_size": 40, "time_step_rank": "auto"}"#)
        #expect(c.resolvedTimeStepRank == 3)  // ceil(40 / 16)
        #expect(c.intermediateSize == 80 && c.stateSize == 16 && c.vocabSize == 50280)
        #expect(c.mixer(ofLayer: 5) == .s6 && c.headType == .causalLM)
    }

    @Test func roundTripKeepsEverythingIncludingUnknownKeys() throws {
        var c = try parse(#"{"hidden_size": 32, "num_hidden_layers": 3, "vocab_size": 5, "some_future_key": {"a": [1, 2.5]}, "eos_token_id": [1, 2]}"#)
        c.layerMixers = [.s4d, .s6, .s4d]
        c.bidirectional = true
        c.bidirectionalWeightTie = false
        c.headType = .sequenceClassification
        c.classifierPooling = .last
        c.labels = ["promoter", "enhancer"]
        c.tokenizer = "dna-char"
        c.sampleRate = 16000
        c.ngramEmbedding = NGramEmbeddingConfiguration(order: 3, alphabet: [4, 1, 2])
        let folder = try makeTemporaryDirectory()
        let url = folder.appendingPathComponent("config.json")
        try c.write(to: url)
        let back = try MambaConfiguration.load(from: url)
        #expect(back == c)
        #expect(back.labels == ["promoter", "enhancer"] && back.sampleRate == 16000 && back.tokenizer == "dna-char")
        #expect(back.ngramEmbedding == NGramEmbeddingConfiguration(order: 3, alphabet: [4, 1, 2]))
        #expect(ParameterLayout(back).entry("backbone.ngram_embeddings.weight")?.shape == [28, 32])
        #expect(ParameterLayout.parameterCount(back) == ParameterLayout(back).entries.reduce(0) { $0 + $1.count })
        #expect(back.extraKeys["some_future_key"] == .object(["a": .array([.integer(1), .number(2.5)])]))
        #expect(back.extraKeys["eos_token_id"] == .array([.integer(1), .integer(2)]))
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("\"time_step_rank\": 2,") && text.contains("\"model_type\": \"mamba\""))
        #expect(text.contains("\"time_step_scale\": 1.0,") && text.contains("\"layer_norm_epsilon\": 1e-05,"))
        #expect(text.contains("\"label2id\""))
    }

    @Test func plainConfigIsWrittenWithTransformersKeysOnly() throws {
        let c = MambaConfiguration(vocabSize: 8, hiddenSize: 16, stateSize: 4, numHiddenLayers: 2)
        let keys = Set(c.jsonObject().keys)
        let transformers: Set = ["model_type", "vocab_size", "hidden_size", "state_size", "num_hidden_layers", "expand",
                                 "intermediate_size", "conv_kernel", "time_step_rank", "use_bias", "use_conv_bias",
                                 "layer_norm_epsilon", "tie_word_embeddings", "residual_in_fp32", "hidden_act",
                                 "time_step_min", "time_step_max", "time_step_scale", "time_step_floor",
                                 "time_step_init_scheme", "initializer_range", "rescale_prenorm_residual",
                                 "pad_token_id", "bos_token_id", "eos_token_id"]
        #expect(keys == transformers)
    }

    @Test func stateSpacesOriginalConfigIsUnderstood() throws {
        let c = try parse(#"{"d_model": 64, "n_layer": 2, "vocab_size": 50277, "ssm_cfg": {"d_state": 8, "d_conv": 3}, "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8, "tie_embeddings": true}"#)
        #expect(c.hiddenSize == 64 && c.numHiddenLayers == 2 && c.stateSize == 8 && c.convKernel == 3)
        #expect(c.paddedVocabSize == 50280)
        #expect(c.extraKeys.isEmpty)
        // Written for transformers: the padded size as vocab_size, which reads back to the same model shape.
        #expect(c.jsonObject()["vocab_size"] == .integer(50280) && c.jsonObject()["pad_vocab_size_multiple"] == nil)
        let back = try MambaConfiguration(json: .object(c.jsonObject()), file: nil)
        #expect(back.paddedVocabSize == 50280 && ParameterLayout(back).totalCount == ParameterLayout(c).totalCount)
    }

    @Test(arguments: [
        (#"{"hidden_act": "gelu"}"#, "hidden_act"),
        (#"{"hidden_size": "wide"}"#, "hidden_size"),
        (#"{"hidden_size": 1000000000}"#, "hidden_size"),
        (#"{"vocab_size": 0}"#, "vocab_size"),
        (#"{"state_size": -3}"#, "state_size"),
        (#"{"time_step_rank": "big"}"#, "time_step_rank"),
        (#"{"use_bias": 1}"#, "use_bias"),
        (#"{"num_hidden_layers": 2, "layer_mixers": ["s6"]}"#, "layer_mixers"),
        (#"{"num_hidden_layers": 1, "layer_mixers": ["s5"]}"#, "layer_mixers[0]"),
        (#"{"head_type": "sequence_classification"}"#, "id2label"),
        (#"{"head_type": "regression"}"#, "head_type"),
        (#"{"rms_norm": false}"#, "rms_norm"),
        (#"{"ssm_cfg": {"layer": "Mamba2"}}"#, "ssm_cfg.layer"),
        (#"{"time_step_min": 0.5, "time_step_max": 0.1}"#, "time_step_max"),
        (#"{"time_step_init_scheme": "zeros"}"#, "time_step_init_scheme"),
        (#"{"hidden_size": 32768, "vocab_size": 4000000, "num_hidden_layers": 1000}"#, "hidden_size"),
        (#"[1, 2]"#, "(root)"),
        (#"{"ngram_embedding": 3}"#, "ngram_embedding"),
        (#"{"ngram_embedding": {"order": 3, "alphabet": [1, "A"]}}"#, "ngram_embedding.alphabet"),
        (#"{"ngram_embedding": {"order": 0, "alphabet": [1, 2]}}"#, "ngram_embedding.order"),
        (#"{"ngram_embedding": {"order": 2, "alphabet": []}}"#, "ngram_embedding.alphabet"),
        (#"{"ngram_embedding": {"order": 2, "alphabet": [1, 1]}}"#, "ngram_embedding.alphabet"),
        (#"{"vocab_size": 8, "ngram_embedding": {"order": 2, "alphabet": [1, 8]}}"#, "ngram_embedding.alphabet"),
        (#"{"vocab_size": 64, "ngram_embedding": {"order": 12, "alphabet": [0, 1, 2, 3, 4, 5, 6, 7]}}"#, "ngram_embedding"),
    ])
    func badValuesAreRefusedNamingTheKey(_ json: String, _ key: String) throws {
        do {
            _ = try parse(json)
            Issue.record("accepted \(json)")
        } catch let error as ConfigurationError {
            #expect(error.key == key, "\(error)")
            #expect(error.description.contains("test.json"))
        }
    }

    @Test func modelOfAbsurdSizeIsRefusedBeforeAllocating() {
        var c = MambaConfiguration(vocabSize: 10, hiddenSize: 1_000_000_000, stateSize: 16, numHiddenLayers: 1)
        #expect(throws: ConfigurationError.self) { try MambaModel(configuration: c, seed: 1) }
        c.hiddenSize = 60_000
        c.numHiddenLayers = 1000  // each size is within limits, the parameter count is not
        #expect(throws: ConfigurationError.self) { try MambaModel(configuration: c, seed: 1) }
    }
}
