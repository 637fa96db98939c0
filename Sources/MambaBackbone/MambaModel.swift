// The Mamba language / classification model: transformers' MambaForCausalLM (modeling_mamba.py) and state-spaces/mamba's
// MambaLMHeadModel, plus MambaKit's S4D layers, BiMamba and classification head.
//
// Glossary of dimensions
//   b        batch size (sequences)
//   l        sequence length (padded); lengths[i] <= l is sequence i's valid length, padding only at the end
//   t        a position, 0 ..< l
//   d_model  hidden size (D), the residual stream's width
//   d_inner  the mixer's width, expand · d_model (E)
//   n        SSM state size per channel (N)
//   r        Δ's low rank (dt_rank, "auto" = ceil(d_model / 16))
//   k        convolution width (conv_kernel)
//   V        vocabulary (padded to pad_vocab_size_multiple) or number of classes
//   rows     b · l_chunk, the GEMM's m: all sequences' positions of a chunk at once
//
// Data flow (pre-norm residual stack, as MambaBlock):
//   h = embeddings[ids]                                       {b, l, d_model}
//       (+ ngram_embeddings[k-mer ids] with ngram_embedding: NGramEmbedding.swift)
//   for each layer: h = h + mixer(rmsnorm(h))                 (BiMamba: + reverse(mixer'(reverse(rmsnorm(h)))))
//   last_hidden_state = rmsnorm_f(h)                          {b, l, d_model}
//   logits = last_hidden_state @ lm_headᵀ (tied: embeddings)  {b, l, V}
//   classification: pool(last_hidden_state) @ classifierᵀ + bias   {b, classes}
//
// Design
// - Parameters: one contiguous buffer laid out by `ParameterLayout` (names = transformers' state-dict keys), so
//   gradients share the layout and a checkpoint is one pass over one buffer.
// - Kernels: every arithmetic step goes through a `MambaBackend` (Backend.swift); `CPUBackend` is the only one so far.
//   This file computes offsets and loops over layers and chunks; it never touches activation memory itself.
// - Memory: the forward is layer-outer, chunk-inner. Each layer runs over chunks of l_chunk positions of all sequences,
//   carrying the convolution window and SSM state between chunks (the same state that recurrent inference carries),
//   so scratch memory is O(b · l_chunk · d_inner) shared by all layers; what grows with l is only the residual stream
//   {b, l, d_model} and the outputs (logits {b, l, V}). Never O(l · d_inner · n).
// - Recurrent inference: `step` is a chunk of length 1 through the same mixer code; `prefill` is the full pass
//   returning the state. Bidirectional models cannot step (the reverse direction needs the whole sequence).
// - Padding: embeddings of padded positions are zero, the scans leave the state untouched there, the convolution is
//   causal, and outputs (hidden states, logits) at padded positions are set to zero.
// - Time scale: every pass (forward, prefill, step, lossAndGradients, loss) can run at ρ = trained rate / input rate
//   (TimeScale.swift): Δ ·= ρ in every layer and conv1d uses taps resampled from a kernel defined in time. At ρ = 1
//   (the default) nothing is resampled or scaled: the pass is the plain Mamba block, bit for bit.
import Foundation
import MambaTensor
import Synchronization

/// Options of `MambaModel.forward`.
public struct ForwardOptions: Sendable {
    /// Also return the residual stream after each layer (and the final norm's output last), as transformers'
    /// output_hidden_states (b, l, d_model each; num_hidden_layers + 1 tensors).
    public var outputHiddenStates = false
    /// Also return the recurrent state after each sequence's last valid token (prefill).
    public var returnState = false
    /// The target number of rows (b · l_chunk) per chunk; the scratch memory is proportional to it.
    public var chunkRows = 4096
    /// ρ = trained rate / input rate (TimeScale.swift): Δ is scaled by ρ and the convolution resampled; 1 = the
    /// plain pass. Positive and finite.
    public var timeScale: Double = 1

    /// Default options.
    public init(outputHiddenStates: Bool = false, returnState: Bool = false, chunkRows: Int = 4096,
                timeScale: Double = 1) {
        self.outputHiddenStates = outputHiddenStates
        self.returnState = returnState
        self.chunkRows = chunkRows
        self.timeScale = timeScale
    }
}

/// The result of `MambaModel.forward`.
public struct MambaOutput {
    /// Causal LM: (b, l, V), zero at padded positions. Classification: (b, classes).
    public var logits: Tensor
    /// The final norm's output (b, l, d_model), zero at padded positions.
    public var lastHiddenState: Tensor
    /// With `outputHiddenStates`: the residual stream after each layer, then `lastHiddenState`.
    public var hiddenStates: [Tensor]
    /// Classification: the pooled final hidden states (b, d_model).
    public var pooled: Tensor?
    /// With `returnState`: the recurrent state after each sequence's last valid token.
    public var state: RecurrentState?
}

/// The result of `MambaModel.step`.
public struct StepOutput {
    /// (b, V) next-token logits.
    public var logits: Tensor
    /// (b, d_model) final hidden states.
    public var lastHiddenState: Tensor
}

/// A Mamba model: configuration, parameters in one buffer, and the forward / recurrent passes.
public final class MambaModel: @unchecked Sendable {
    /// The configuration (validated).
    public let configuration: MambaConfiguration
    /// Where each parameter lives in `parameters`.
    public let layout: ParameterLayout
    /// All parameters, (layout.totalCount) floats.
    public let parameters: Tensor
    /// Where the arithmetic runs.
    public let backend: any MambaBackend
    /// The mixer sizes.
    public let dims: MixerDimensions
    /// The n-gram embedding's indexing, when the configuration has one.
    public let ngram: NGramEmbedding?
    /// The last forward's scratch buffers, reused by the next forward of the same or a smaller chunk (so repeated
    /// passes neither allocate nor page-fault their scratch memory); nil while a forward is using it.
    private let workspaceCache = Mutex<MixerWorkspace?>(nil)
    /// The last `lossAndGradients`' buffers (MambaModel+Training.swift), reused by the next call of the same shape.
    let trainingBuffersCache = Mutex<TrainingBuffers?>(nil)

    /// A model over existing parameters (laid out by `ParameterLayout(configuration)`).
    public init(configuration: MambaConfiguration, parameters: Tensor, backend: any MambaBackend = CPUBackend()) throws {
        try configuration.validate()
        let layout = ParameterLayout(configuration)
        guard parameters.count == layout.totalCount else {
            throw ModelInputError("expected a parameter buffer of \(layout.totalCount) floats, found \(parameters.count)")
        }
        self.configuration = configuration
        self.layout = layout
        self.parameters = parameters
        self.backend = backend
        self.dims = MixerDimensions(configuration)
        self.ngram = configuration.ngramEmbedding.map { NGramEmbedding($0, vocabulary: configuration.paddedVocabSize) }
    }

    /// A randomly initialised model (see Initialization.swift for the distributions).
    public convenience init(configuration: MambaConfiguration, seed: UInt64, backend: any MambaBackend = CPUBackend()) throws {
        try configuration.validate()
        let layout = ParameterLayout(configuration)
        try Self.requireMemory(floats: layout.totalCount, for: "the parameters")
        let parameters = Tensor(zeros: [layout.totalCount])
        var generator = Xoshiro256StarStar(seed: seed)
        ParameterInitializer.initialize(parameters.pointer, layout: layout, configuration: configuration,
                                        generator: &generator)
        try self.init(configuration: configuration, parameters: parameters, backend: backend)
    }

    /// A view of the parameter `name` (internal shape), or nil.
    public func parameter(_ name: String) -> Tensor? {
        layout.entry(name).map { parameters.view(offset: $0.offset, shape: $0.shape) }
    }

    /// A zero recurrent state for `batch` sequences (the state before any token).
    public func makeRecurrentState(batch: Int) -> RecurrentState {
        RecurrentState(batch: batch, layers: configuration.numHiddenLayers, dims: dims, backend: backend)
    }

    /// A zero recurrent state for `batch` sequences whose steps run at ρ = `timeScale` (trained rate / input rate).
    public func makeRecurrentState(batch: Int, timeScale: Double) throws -> RecurrentState {
        RecurrentState(batch: batch, layers: configuration.numHiddenLayers, dims: dims,
                       timeScale: try TimeScale(ratio: timeScale, trainedKernel: dims.kernel), backend: backend)
    }

    /// The time scale ρ = `ratio` of this model and, when ρ ≠ 1, the mixers' scratch for it.
    func resolveTimeScale(_ ratio: Double) throws -> (TimeScale, MixerTimeScale?) {
        let timeScale = try TimeScale(ratio: ratio, trainedKernel: dims.kernel)
        return (timeScale, timeScale.isIdentity ? nil : MixerTimeScale(timeScale, dims: dims, backend: backend))
    }

    /// Refuses, before allocating, a buffer of more floats than the machine has memory for.
    static func requireMemory(floats: Int, for purpose: String) throws {
        let (bytes, overflow) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        let available = ProcessInfo.processInfo.physicalMemory
        if overflow || UInt64(bytes) > available {
            throw ModelInputError("\(purpose) need \(overflow ? "more than Int.max" : String(bytes)) bytes; this machine has \(available)")
        }
    }

    // MARK: - Forward

    /// The full pass over a batch (see `ForwardOptions` and `MambaOutput`).
    public func forward(_ batch: TokenBatch, options: ForwardOptions = ForwardOptions()) throws -> MambaOutput {
        try forward(batch, inputEmbeddings: nil, options: options)
    }

    /// The forward pass over continuous inputs: `embeddings` {b, l, d_model} replace the embedding lookup (an audio
    /// front end's frames, `input_kind: continuous`); rows at or past `lengths[i]` are ignored (treated as zero).
    public func forward(embeddings: Tensor, lengths: [Int], options: ForwardOptions = ForwardOptions()) throws -> MambaOutput {
        let batch = try continuousBatch(embeddings: embeddings, lengths: lengths)
        return try withExtendedLifetime(embeddings) {
            try forward(batch, inputEmbeddings: UnsafePointer(embeddings.pointer), options: options)
        }
    }

    /// A TokenBatch of zero ids with the shape and lengths of continuous inputs {b, l, d_model}.
    func continuousBatch(embeddings: Tensor, lengths: [Int]) throws -> TokenBatch {
        guard ngram == nil else {
            throw ModelInputError("a model with an n-gram embedding reads token ids, not continuous inputs")
        }
        guard embeddings.shape.count == 3, embeddings.shape[2] == dims.model else {
            throw ModelInputError("expected input embeddings of shape (batch, length, \(dims.model)), found \(embeddings.shape)")
        }
        let b = embeddings.shape[0], l = embeddings.shape[1]
        guard lengths.count == b, lengths.allSatisfy({ $0 >= 0 && $0 <= l }) else {
            throw ModelInputError("expected \(b) lengths in 0...\(l), found \(lengths)")
        }
        return try TokenBatch(ids: [Int32](repeating: 0, count: b * l), batch: b, length: l, lengths: lengths)
    }

    /// The forward pass; `inputEmbeddings` {b, l, d_model}, when given, replace the embedding lookup of the ids.
    func forward(_ batch: TokenBatch, inputEmbeddings: UnsafePointer<Float>?,
                 options: ForwardOptions) throws -> MambaOutput {
        let maskedIDs = try checkedIDs(batch)
        let (timeScale, mixerTimeScale) = try resolveTimeScale(options.timeScale)
        let b = batch.batch, l = batch.length, d = dims.model
        let rows = b * l
        // The residual stream and the outputs: refuse before allocating what cannot fit.
        let widths = d * (options.outputHiddenStates ? configuration.numHiddenLayers + 1 : 1)
            + (configuration.headType == .causalLM ? configuration.paddedVocabSize : 0)
            + (configuration.bidirectional ? d : 0)
        let (floats, overflow) = rows.multipliedReportingOverflow(by: widths)
        try Self.requireMemory(floats: overflow ? Int.max / 4 : floats, for: "a batch of \(b) × \(l) tokens' activations and outputs")
        let p = UnsafePointer(parameters.pointer)
        let lengths = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        let valid = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        defer { lengths.deallocate(); valid.deallocate() }
        for i in 0..<b { lengths[i] = Int32(batch.lengths[i]) }

        // h {b, l, d_model}: the residual stream.
        let h = backend.makeBuffer(rows * d).reshaped([b, l, d])
        if let inputEmbeddings {
            backend.copy(inputEmbeddings, into: h.pointer, count: rows * d)
            backend.zeroPadding(h.pointer, sequences: b, length: l, dim: d, lengths: lengths)
        } else {
            maskedIDs.withUnsafeBufferPointer { ids in
                backend.embedding(ids: ids.baseAddress!, rows: rows, table: p + layout.embeddings, dim: d, out: h.pointer)
            }
            addNGramEmbeddings(maskedIDs, batch: batch, into: h.pointer)
        }
        let chunk = max(1, min(l, options.chunkRows / b))
        let workspace = takeWorkspace(sequences: b, capacity: b * chunk)
        defer { workspaceCache.withLock { $0 = workspace } }
        let state = RecurrentState(batch: b, layers: configuration.numHiddenLayers, dims: dims, timeScale: timeScale,
                                   backend: backend)
        let reverseStream = configuration.bidirectional ? backend.makeBuffer(rows * d) : nil
        let reverseState = configuration.bidirectional
            ? RecurrentState(batch: b, layers: 1, dims: dims, timeScale: timeScale, backend: backend) : nil
        var hiddenStates: [Tensor] = []
        let epsilon = Float(configuration.layerNormEpsilon)

        /// Runs one mixer over all chunks: `fill` puts a chunk's mixer input in workspace.xn, `drain` uses
        /// workspace.out.
        func runChunks(_ offsets: MixerOffsets, window: UnsafeMutablePointer<Float>, ssm: UnsafeMutablePointer<Float>,
                       fill: (RowMap) -> Void, drain: (RowMap) -> Void) {
            MambaMixer.prepare(backend: backend, dims: dims, parameters: p, offsets: offsets, workspace: workspace,
                               timeScale: mixerTimeScale)
            for start in stride(from: 0, to: l, by: chunk) {
                let count = min(chunk, l - start)
                let map = RowMap(sequences: b, rowsPerSequence: count, sequenceStride: l, start: start)
                for i in 0..<b { valid[i] = Int32(max(0, min(count, batch.lengths[i] - start))) }
                fill(map)
                MambaMixer.forward(backend: backend, dims: dims, parameters: p, offsets: offsets, sequences: b,
                                   length: count, valid: valid, convWindow: window, ssmState: ssm,
                                   workspace: workspace, timeScale: mixerTimeScale)
                drain(map)
            }
        }

        withExtendedLifetime((h, workspace.storage, state, reverseStream, reverseState, mixerTimeScale?.storage)) {
            for (index, layer) in layout.layers.enumerated() {
                let norm = p + layer.norm
                if let reverseStream {
                    // The reverse direction's input, taken before the forward direction changes h.
                    backend.rmsNorm(input: h.pointer, rows: .contiguous(rows), dim: d, weight: norm, epsilon: epsilon,
                                    output: reverseStream.pointer, rstd: nil)
                    backend.reverseValid(reverseStream.pointer, sequences: b, length: l, dim: d, lengths: lengths,
                                         zeroPadding: true)
                }
                runChunks(layer.mixer, window: state.window(index), ssm: state.ssm(index),
                          fill: { map in
                              backend.rmsNorm(input: h.pointer, rows: map, dim: d, weight: norm, epsilon: epsilon,
                                              output: workspace.xn, rstd: nil)
                          },
                          drain: { map in
                              backend.addRows(workspace.out, bias: nil, into: h.pointer, rows: map, dim: d)
                          })
                if let reverseStream, let reverseState, let reverseMixer = layer.reverseMixer {
                    reverseState.convWindows.fill(0)
                    reverseState.ssmStates.fill(0)
                    runChunks(reverseMixer, window: reverseState.window(0), ssm: reverseState.ssm(0),
                              fill: { map in
                                  backend.copyRows(reverseStream.pointer, into: workspace.xn, rows: map, dim: d,
                                                   scatter: false)
                              },
                              drain: { map in
                                  backend.copyRows(workspace.out, into: reverseStream.pointer, rows: map, dim: d,
                                                   scatter: true)
                              })
                    backend.reverseValid(reverseStream.pointer, sequences: b, length: l, dim: d, lengths: lengths,
                                         zeroPadding: true)
                    backend.addRows(reverseStream.pointer, bias: nil, into: h.pointer, rows: .contiguous(rows), dim: d)
                }
                if options.outputHiddenStates {
                    let copy = backend.makeBuffer(rows * d).reshaped([b, l, d])
                    backend.copy(h.pointer, into: copy.pointer, count: rows * d)
                    backend.zeroPadding(copy.pointer, sequences: b, length: l, dim: d, lengths: lengths)
                    hiddenStates.append(copy)
                }
            }
            // The final norm, in place: h becomes last_hidden_state.
            backend.rmsNorm(input: h.pointer, rows: .contiguous(rows), dim: d, weight: p + layout.normF,
                            epsilon: epsilon, output: h.pointer, rstd: nil)
            backend.zeroPadding(h.pointer, sequences: b, length: l, dim: d, lengths: lengths)
        }
        if options.outputHiddenStates { hiddenStates.append(h) }
        for i in 0..<b { state.positions[i] = batch.lengths[i] }
        if let ngram, options.returnState {
            for i in 0..<b {
                let end = i * l + batch.lengths[i]
                state.recentTokens[i] = Array(batch.ids[max(i * l, end - (ngram.order - 1))..<end])
            }
        }

        switch configuration.headType {
        case .causalLM:
            let v = configuration.paddedVocabSize
            let logits = backend.makeBuffer(rows * v).reshaped([b, l, v])
            withExtendedLifetime((h, logits)) {
                // {rows, d_model} @ {d_model, V} => logits, in blocks of rows: one GEMM over all b · l rows made
                // multi-threaded OpenBLAS take about b · l · d_model floats of extra memory (measured).
                let block = max(1, options.chunkRows)
                for start in stride(from: 0, to: rows, by: block) {
                    backend.linear(input: h.pointer + start * d, inputStride: d, rows: min(block, rows - start),
                                   inFeatures: d, weight: p + (layout.lmHead ?? layout.embeddings), outFeatures: v,
                                   bias: nil, output: logits.pointer + start * v, outputStride: v, accumulate: false)
                }
                backend.zeroPadding(logits.pointer, sequences: b, length: l, dim: v, lengths: lengths)
            }
            return MambaOutput(logits: logits, lastHiddenState: h, hiddenStates: hiddenStates, pooled: nil,
                               state: options.returnState ? state : nil)
        case .sequenceClassification:
            let classes = configuration.labels.count
            let pooled = backend.makeBuffer(b * d).reshaped([b, d])
            let logits = backend.makeBuffer(b * classes).reshaped([b, classes])
            withExtendedLifetime((h, pooled, logits)) {
                backend.pool(h.pointer, sequences: b, length: l, dim: d, lengths: lengths,
                             pooling: configuration.classifierPooling, into: pooled.pointer)
                // {b, d_model} @ {d_model, classes} => logits
                backend.linear(input: pooled.pointer, inputStride: d, rows: b, inFeatures: d,
                               weight: p + layout.classifierWeight!, outFeatures: classes,
                               bias: p + layout.classifierBias!, output: logits.pointer, outputStride: classes,
                               accumulate: false)
            }
            return MambaOutput(logits: logits, lastHiddenState: h, hiddenStates: hiddenStates, pooled: pooled,
                               state: options.returnState ? state : nil)
        }
    }

    /// The full pass that also returns the recurrent state after each sequence's last valid token, ready for `step`.
    /// `timeScale`: ρ = trained rate / input rate of the prompt; the state keeps it for its steps.
    public func prefill(_ batch: TokenBatch, timeScale: Double = 1) throws -> (output: MambaOutput, state: RecurrentState) {
        guard !configuration.bidirectional else {
            throw ModelInputError("a bidirectional model has no recurrent state: its reverse direction needs the whole sequence")
        }
        var options = ForwardOptions(timeScale: timeScale)
        options.returnState = true
        let output = try forward(batch, options: options)
        return (output, output.state!)
    }

    // MARK: - Recurrent step

    /// One token per sequence, in O(1) time and memory: advances `state` and returns the next-token logits. The step
    /// runs at the state's time scale (`prefill(_:timeScale:)`, `makeRecurrentState(batch:timeScale:)`).
    public func step(_ tokens: [Int32], state: RecurrentState) throws -> StepOutput {
        guard !configuration.bidirectional else {
            throw ModelInputError("a bidirectional model cannot step: its reverse direction needs the whole sequence")
        }
        guard configuration.headType == .causalLM else {
            throw ModelInputError("step needs a causal LM head, the model has a \(configuration.headType.rawValue) head")
        }
        guard state.layers == configuration.numHiddenLayers, state.convWindows.shape.last == dims.inner,
              state.ssmStates.shape.last == dims.state, state.timeScale.trainedKernel == dims.kernel else {
            throw ModelInputError("the recurrent state was made for another model")
        }
        let b = state.batch, d = dims.model, v = configuration.paddedVocabSize
        guard tokens.count == b else {
            throw ModelInputError("expected \(b) tokens (one per sequence of the state), found \(tokens.count)")
        }
        for (i, id) in tokens.enumerated() where id < 0 || Int(id) >= v {
            throw ModelInputError("sequence \(i), step \(state.positions[i]): token id \(id) is outside 0..<\(v)")
        }
        let ws = state.stepWorkspace ?? StepWorkspace(batch: b, dims: dims, timeScale: state.timeScale, backend: backend)
        state.stepWorkspace = ws
        let p = UnsafePointer(parameters.pointer)
        let epsilon = Float(configuration.layerNormEpsilon)
        for i in 0..<b { ws.ids[i] = tokens[i] }
        var ngramIDs: [Int32] = []
        if let ngram {
            ngramIDs = (0..<b).map { i in Int32(ngram.index(window: state.recentTokens[i] + [tokens[i]])) }
        }
        let logits = backend.makeBuffer(b * v).reshaped([b, v])
        let last = backend.makeBuffer(b * d).reshaped([b, d])
        withExtendedLifetime((ws, logits, last)) {
            let hidden = ws.hidden.pointer
            backend.embedding(ids: ws.ids, rows: b, table: p + layout.embeddings, dim: d, out: hidden)
            if let table = layout.ngramEmbeddings {
                ngramIDs.withUnsafeBufferPointer { ids in
                    backend.embeddingAccumulate(ids: ids.baseAddress!, rows: b, table: p + table, dim: d, out: hidden)
                }
            }
            for (index, layer) in layout.layers.enumerated() {
                backend.rmsNorm(input: hidden, rows: .contiguous(b), dim: d, weight: p + layer.norm, epsilon: epsilon,
                                output: ws.mixer.xn, rstd: nil)
                MambaMixer.prepare(backend: backend, dims: dims, parameters: p, offsets: layer.mixer,
                                   workspace: ws.mixer, timeScale: ws.timeScale)
                MambaMixer.forward(backend: backend, dims: dims, parameters: p, offsets: layer.mixer, sequences: b,
                                   length: 1, valid: ws.valid, convWindow: state.window(index),
                                   ssmState: state.ssm(index), workspace: ws.mixer, timeScale: ws.timeScale)
                backend.addRows(ws.mixer.out, bias: nil, into: hidden, rows: .contiguous(b), dim: d)
            }
            backend.rmsNorm(input: hidden, rows: .contiguous(b), dim: d, weight: p + layout.normF, epsilon: epsilon,
                            output: last.pointer, rstd: nil)
            backend.linear(input: last.pointer, inputStride: d, rows: b, inFeatures: d,
                           weight: p + (layout.lmHead ?? layout.embeddings), outFeatures: v, bias: nil,
                           output: logits.pointer, outputStride: v, accumulate: false)
        }
        for i in 0..<b { state.positions[i] += 1 }
        if let ngram, ngram.order > 1 {
            for i in 0..<b {
                state.recentTokens[i].append(tokens[i])
                if state.recentTokens[i].count >= ngram.order { state.recentTokens[i].removeFirst() }
            }
        }
        return StepOutput(logits: logits, lastHiddenState: last)
    }

    private func takeWorkspace(sequences: Int, capacity: Int) -> MixerWorkspace {
        let cached = workspaceCache.withLock { cache -> MixerWorkspace? in
            defer { cache = nil }
            return cache
        }
        if let cached, cached.sequences == sequences, cached.capacity >= capacity { return cached }
        return MixerWorkspace(dims: dims, sequences: sequences, capacity: capacity, backend: backend)
    }

    // MARK: - n-gram embedding

    /// Adds the n-gram embedding rows of the batch to `h` (nothing without one); returns the k-mer ids (padding −1)
    /// for the backward, or nil.
    @discardableResult
    func addNGramEmbeddings(_ maskedIDs: [Int32], batch: TokenBatch, into h: UnsafeMutablePointer<Float>) -> [Int32]? {
        guard let ngram, let table = layout.ngramEmbeddings else { return nil }
        let ids = ngram.ids(tokens: maskedIDs, sequences: batch.batch, length: batch.length)
        ids.withUnsafeBufferPointer { pointer in
            backend.embeddingAccumulate(ids: pointer.baseAddress!, rows: ids.count,
                                        table: UnsafePointer(parameters.pointer) + table, dim: dims.model, out: h)
        }
        return ids
    }

    // MARK: - Input checks

    /// The ids with padding replaced by −1 (zero embedding); throws on an id outside the vocabulary at a valid
    /// position.
    func checkedIDs(_ batch: TokenBatch) throws -> [Int32] {
        let vocabulary = configuration.paddedVocabSize
        var ids = batch.ids
        for i in 0..<batch.batch {
            for t in 0..<batch.length {
                let index = i * batch.length + t
                if t >= batch.lengths[i] {
                    ids[index] = -1
                } else if ids[index] < 0 || Int(ids[index]) >= vocabulary {
                    throw ModelInputError("sequence \(i), position \(t): token id \(ids[index]) is outside 0..<\(vocabulary)")
                }
            }
        }
        return ids
    }
}
