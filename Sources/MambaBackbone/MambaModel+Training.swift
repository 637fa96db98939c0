// Training: the loss of a batch and its gradient with respect to every parameter (forward + backward), and the
// loss alone (validation). Dimensions as in the glossary of MambaModel.swift.
//
// Forward (whole sequences, layer after layer, each mixer from a zero state):
//   H[0] = embeddings[ids]                                   {b, l, d_model}     (padding rows: zeros)
//          (+ ngram_embeddings[k-mer ids]; backward: the same scatter-add of dH[0] into that table)
//   xn_i = rmsnorm_i(H[i])  (rstd_i kept)                    {b, l, d_model}
//   H[i+1] = H[i] + mixer_i(xn_i)  (+ reverse(mixer'_i(reverse(xn_i))) for BiMamba)
//   hf = rmsnorm_f(H[L])                                     {b, l, d_model}
//   causal LM: logits = hf · Wᵀ (W = lm_head or the tied embeddings), in blocks of rows, each block's
//              cross-entropy and gradient computed before the next: never a {b, l, V} tensor.
//   classification: logits = pool(hf) · W_clsᵀ + b_cls      {b, classes}
// Backward, in reverse: dhf from the head; dH[L] = rmsnorm_f'(dhf); for each layer, last first:
//   dxn_i = mixer_i'(dH[i+1])  (+ reverse(mixer'_i'(reverse(dH[i+1]))));  dH[i] = dH[i+1] + rmsnorm_i'(dxn_i);
//   dEmbeddings[ids] += dH[0]. (The residual stream's gradient is one buffer updated in place.)
//
// Memory: the residual stream H[0...L] {(L + 1), b, l, d_model} and each mixer's `MixerActivations` (x, z, u, Δ,
// x_dbl, B, C, y: about 5·d_inner + r + 4n floats per row, plus the scan state every `scanChunkLength` steps), so
// O(b · l · d_inner) per layer and never O(l · d_inner · n). With `.recompute` only one mixer's activations exist at
// a time: the backward recomputes each layer's from H[i] (one more mixer forward per layer, out_proj excepted), the
// hardware-aware trade of Gu & Dao 2023, 3.3.2; `.automatic` saves them while they fit in `saveLimitBytes`.
// The recomputed activations are bitwise the saved ones (same kernels, same inputs), so both give the same gradients.
// The buffers stay with the model for the next call of the same shape (`releaseTrainingBuffers()` frees them).
//
// Objectives: `nextToken` = transformers' labels = input_ids (position t < len − 1 predicts id[t + 1], mean over all
// predictions of the batch); `tokenTargets` gives the target of every position (negative = ignored, as −100);
// `classification` one label per sequence. Every gradient is scaled by lossScale / count and ADDED to the caller's
// buffer (gradient accumulation = several calls with lossScale = 1 / steps).
import Foundation
import MambaTensor

/// What a training step predicts.
public enum TrainingObjective: Sendable, Equatable {
    /// Causal LM: each valid position t < len − 1 predicts the id at t + 1 (transformers' labels = input_ids).
    case nextToken
    /// Sequence classification: one label (a class index) per sequence.
    case classification(labels: [Int32])
    /// Causal LM with explicit targets (b · l, row-major): targets[i · l + t] is the id the logits at position t
    /// must predict (no shift applied), negative = ignored (as −100). Positions at or past a sequence's length are
    /// ignored whatever they hold.
    case tokenTargets(targets: [Int32])
}

/// The mean loss over a batch's predictions.
public struct LossResult: Sendable, Equatable {
    /// The mean cross-entropy (natural log) over the `count` predictions; 0 when there are none.
    public var loss: Double
    /// The number of predictions averaged over.
    public var count: Int
    /// Predictions whose largest logit is the target.
    public var correct: Int

    /// A result.
    public init(loss: Double, count: Int, correct: Int) {
        self.loss = loss
        self.count = count
        self.correct = correct
    }
}

/// Memory and speed settings of `MambaModel.lossAndGradients`.
public struct TrainingOptions: Sendable {
    /// What happens to the mixers' activations between the forward and the backward.
    public enum Activations: Sendable, Equatable {
        /// Every layer's activations are kept (fastest; about 5·d_inner + r + 4n floats per token per mixer).
        case save
        /// Only the residual stream is kept; each layer's activations are recomputed in the backward.
        case recompute
        /// `.save` while the saved activations take at most `saveLimitBytes`, else `.recompute`.
        case automatic
    }
    /// The activation policy (default `.automatic`).
    public var activations: Activations = .automatic
    /// The limit of `.automatic`, in bytes (default 1 GiB).
    public var saveLimitBytes = 1 << 30
    /// Scan steps between saved scan states (the scan backward recomputes the states within a chunk); nil (the
    /// default) = `ScanDimensions.recommendedChunkLength` (64 at n = 16, 16 at n = 64: one segment of the scan
    /// backward, so that no chunk is recomputed twice).
    public var scanChunkLength: Int? = nil
    /// Rows (positions) per block of the LM head: its logits {rows, V} exist for one block at a time.
    public var headRows = 2048
    /// ρ = trained rate / input rate of the batch (TimeScale.swift; 1 = the plain pass): the loss and gradients of
    /// the model run at that time scale, down to the learned convolution taps through their resampling.
    public var timeScale: Double = 1

    /// Default options.
    public init(activations: Activations = .automatic, saveLimitBytes: Int = 1 << 30, scanChunkLength: Int? = nil,
                headRows: Int = 2048, timeScale: Double = 1) {
        self.activations = activations
        self.saveLimitBytes = saveLimitBytes
        self.scanChunkLength = scanChunkLength
        self.headRows = headRows
        self.timeScale = timeScale
    }
}

/// Every buffer of one `lossAndGradients` call, kept by the model for the next call of the same shape (a training
/// loop's steps then neither allocate nor page-fault them; `releaseTrainingBuffers()` frees them).
final class TrainingBuffers: @unchecked Sendable {
    struct Key: Equatable {
        var sequences: Int, length: Int, recompute: Bool, chunkLength: Int, headRows: Int
    }
    let key: Key
    /// H[0...L] {L + 1, rows, d_model}.
    let streams: Tensor
    /// rstd of each norm {L + 1, rows}.
    let rstd: Tensor
    /// xn, the mixer output, BiMamba's reversed copies {rows, d_model} each; then the residual gradient dH.
    let scratch: Tensor
    /// The head: logits of one block of rows {block, V} (causal LM) or pooled, dpooled, logits (classifier).
    let head: Tensor
    let gradientWorkspace: MixerGradientWorkspace
    /// One activation set per mixer (save), or one shared set (recompute).
    let saved: [MixerActivations]
    let shared: MixerActivations?

    init(key: Key, model: MambaModel) {
        self.key = key
        let c = model.configuration, backend = model.backend, dims = model.dims
        let b = key.sequences, l = key.length, rows = b * l, d = dims.model, layers = c.numHiddenLayers
        let directions = c.bidirectional ? 2 : 1
        streams = backend.makeBuffer((layers + 1) * rows * d)
        rstd = backend.makeBuffer((layers + 1) * rows)
        scratch = backend.makeBuffer((c.bidirectional ? 5 : 3) * rows * d)
        switch c.headType {
        case .causalLM: head = backend.makeBuffer(min(rows, key.headRows) * c.paddedVocabSize)
        case .sequenceClassification: head = backend.makeBuffer(2 * b * d + b * c.labels.count)
        }
        gradientWorkspace = MixerGradientWorkspace(dims: dims, rows: rows, backend: backend)
        let anySelective = (0..<layers).contains { c.mixer(ofLayer: $0) == .s6 }
        if key.recompute {
            saved = []
            shared = MixerActivations(dims: dims, sequences: b, length: l, chunkLength: key.chunkLength,
                                      selective: anySelective, backend: backend)
        } else {
            shared = nil
            saved = (0..<(layers * directions)).map { index in
                MixerActivations(dims: dims, sequences: b, length: l, chunkLength: key.chunkLength,
                                 selective: c.mixer(ofLayer: index / directions) == .s6, backend: backend)
            }
        }
    }

    func activations(_ layer: Int, _ direction: Int, directions: Int) -> MixerActivations {
        shared ?? saved[layer * directions + direction]
    }
}

extension MambaModel {
    /// Frees the buffers `lossAndGradients` keeps for its next call (activations, residual streams, gradient
    /// scratch: O(b · l · d_inner · layers) floats).
    public func releaseTrainingBuffers() {
        trainingBuffersCache.withLock { $0 = nil }
    }

    // MARK: - Targets

    /// The targets of `objective` for `batch`: per position (b · l; −1 = not scored) for a causal LM, per sequence
    /// (b) for a classifier. Throws when the objective does not fit the head or a target is out of range.
    func trainingTargets(_ batch: TokenBatch, _ objective: TrainingObjective) throws -> [Int32] {
        let b = batch.batch, l = batch.length
        switch objective {
        case .nextToken, .tokenTargets:
            guard configuration.headType == .causalLM else {
                throw ModelInputError("a token objective needs a causal LM head, the model has a \(configuration.headType.rawValue) head")
            }
            var targets = [Int32](repeating: -1, count: b * l)
            if case .tokenTargets(let given) = objective {
                guard given.count == b * l else {
                    throw ModelInputError("expected \(b) × \(l) token targets, found \(given.count)")
                }
                let v = configuration.paddedVocabSize
                for i in 0..<b {
                    for t in 0..<batch.lengths[i] {
                        let target = given[i * l + t]
                        if target >= 0 && Int(target) >= v {
                            throw ModelInputError("sequence \(i), position \(t): target id \(target) is outside 0..<\(v)")
                        }
                        targets[i * l + t] = target < 0 ? -1 : target
                    }
                }
            } else {
                // ids were range-checked by checkedIDs at valid positions.
                for i in 0..<b where batch.lengths[i] > 1 {
                    for t in 0..<(batch.lengths[i] - 1) { targets[i * l + t] = batch.ids[i * l + t + 1] }
                }
            }
            return targets
        case .classification(let labels):
            guard configuration.headType == .sequenceClassification else {
                throw ModelInputError("a classification objective needs a sequence_classification head, the model has a \(configuration.headType.rawValue) head")
            }
            guard labels.count == b else {
                throw ModelInputError("expected \(b) labels (one per sequence), found \(labels.count)")
            }
            let classes = configuration.labels.count
            if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
                throw ModelInputError("sequence \(bad): label \(labels[bad]) is outside 0..<\(classes)")
            }
            return labels
        }
    }

    // MARK: - Loss only

    /// The mean loss of `batch` under `objective`, forward only (the inference pass, chunked: validation), at
    /// ρ = `timeScale` (trained rate / input rate; 1 = the plain pass).
    public func loss(_ batch: TokenBatch, objective: TrainingObjective, timeScale: Double = 1) throws -> LossResult {
        _ = try checkedIDs(batch)
        let targets = try trainingTargets(batch, objective)
        guard targets.contains(where: { $0 >= 0 }) else { return LossResult(loss: 0, count: 0, correct: 0) }
        let output = try forward(batch, options: ForwardOptions(timeScale: timeScale))
        let logits = output.logits
        let classes = configuration.numOutputs
        let result = withExtendedLifetime(logits) {
            targets.withUnsafeBufferPointer { targets in
                backend.crossEntropy(logits: logits.pointer, rows: targets.count, classes: classes, stride: classes,
                                     targets: targets.baseAddress!, scale: 0, gradient: false)
            }
        }
        return LossResult(loss: result.lossSum / Double(result.count), count: result.count, correct: result.correct)
    }

    // MARK: - Loss and gradients

    /// Forward and backward over `batch`: returns the mean loss under `objective` and ADDS lossScale · d(mean
    /// loss)/d(parameters) into `gradients` ((layout.totalCount) floats laid out as `parameters`; tied embeddings
    /// receive one summed gradient). Padding positions contribute nothing. Bitwise reproducible for the same inputs
    /// and `Parallel.threadCount`. With no scored position the result is (0, 0, 0) and `gradients` is untouched.
    public func lossAndGradients(_ batch: TokenBatch, objective: TrainingObjective, gradients: Tensor,
                                 lossScale: Float = 1, options: TrainingOptions = TrainingOptions()) throws -> LossResult {
        try lossAndGradients(batch, inputEmbeddings: nil, inputGradients: nil, objective: objective,
                             gradients: gradients, lossScale: lossScale, options: options)
    }

    /// `lossAndGradients` over continuous inputs (`input_kind: continuous`): `embeddings` {b, l, d_model} replace the
    /// embedding lookup, and lossScale · d(mean loss)/d(embeddings) is WRITTEN (not added) into `inputGradients`
    /// {b, l, d_model} (zero at padding rows), for the front end that made them. The embedding table gets no gradient.
    public func lossAndGradients(embeddings: Tensor, lengths: [Int], inputGradients: Tensor,
                                 objective: TrainingObjective, gradients: Tensor, lossScale: Float = 1,
                                 options: TrainingOptions = TrainingOptions()) throws -> LossResult {
        let batch = try continuousBatch(embeddings: embeddings, lengths: lengths)
        guard inputGradients.count == embeddings.count else {
            throw ModelInputError("expected an input gradient buffer of \(embeddings.count) floats, found \(inputGradients.count)")
        }
        inputGradients.fill(0)
        return try withExtendedLifetime((embeddings, inputGradients)) {
            try lossAndGradients(batch, inputEmbeddings: UnsafePointer(embeddings.pointer),
                                 inputGradients: inputGradients.pointer, objective: objective, gradients: gradients,
                                 lossScale: lossScale, options: options)
        }
    }

    func lossAndGradients(_ batch: TokenBatch, inputEmbeddings: UnsafePointer<Float>?,
                          inputGradients: UnsafeMutablePointer<Float>?, objective: TrainingObjective,
                          gradients: Tensor, lossScale: Float, options: TrainingOptions) throws -> LossResult {
        guard gradients.count == layout.totalCount else {
            throw ModelInputError("expected a gradient buffer of \(layout.totalCount) floats (the parameter layout), found \(gradients.count)")
        }
        guard (options.scanChunkLength ?? 1) >= 1, options.headRows >= 1 else {
            throw ModelInputError("expected scanChunkLength and headRows >= 1, found \(options.scanChunkLength ?? 0) and \(options.headRows)")
        }
        let maskedIDs = try checkedIDs(batch)
        let targets = try trainingTargets(batch, objective)
        let count = targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        guard count > 0 else { return LossResult(loss: 0, count: 0, correct: 0) }
        let (_, timeScale) = try resolveTimeScale(options.timeScale)

        let b = batch.batch, l = batch.length, d = dims.model, rows = b * l
        let layers = configuration.numHiddenLayers
        let directions = configuration.bidirectional ? 2 : 1
        let anySelective = (0..<layers).contains { configuration.mixer(ofLayer: $0) == .s6 }
        let chunk = options.scanChunkLength
            ?? ScanDimensions(batch: b, length: l, channels: dims.inner, state: dims.state).recommendedChunkLength
        func activationFloats(_ selective: Bool) -> Int {
            MixerActivations.floatCount(dims: dims, sequences: b, length: l, chunkLength: chunk, selective: selective)
        }
        let savedFloats = (0..<layers).reduce(0) { $0 + directions * activationFloats(configuration.mixer(ofLayer: $1) == .s6) }
        let recompute: Bool
        switch options.activations {
        case .save: recompute = false
        case .recompute: recompute = true
        case .automatic: recompute = savedFloats.multipliedReportingOverflow(by: 4).partialValue > options.saveLimitBytes
        }
        // Refuse, before allocating, what cannot fit: streams, norms' rstd, one or all activation sets, the
        // gradient workspace, the head's block.
        let headWidth = configuration.headType == .causalLM ? configuration.paddedVocabSize : 0
        let perRow = (layers + 1) * d + (layers + 1) + 5 * d
        let (streamFloats, o1) = rows.multipliedReportingOverflow(by: perRow)
        let fixed = (recompute ? activationFloats(anySelective) : savedFloats)
            + MixerGradientWorkspace.floatCount(dims: dims, rows: rows) + min(rows, options.headRows) * headWidth
        try Self.requireMemory(floats: o1 ? Int.max / 4 : streamFloats + fixed,
                               for: "training on a batch of \(b) × \(l) tokens")

        let p = UnsafePointer(parameters.pointer)
        let dp = gradients.pointer
        let epsilon = Float(configuration.layerNormEpsilon)
        let lengths = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        defer { lengths.deallocate() }
        for i in 0..<b { lengths[i] = Int32(batch.lengths[i]) }

        // The buffers: the last call's when the shape matches, else new (the old ones are freed first).
        let key = TrainingBuffers.Key(sequences: b, length: l, recompute: recompute, chunkLength: chunk,
                                      headRows: options.headRows)
        let buffers = trainingBuffersCache.withLock { cache -> TrainingBuffers in
            defer { cache = nil }
            if let cached = cache, cached.key == key { return cached }
            cache = nil
            return TrainingBuffers(key: key, model: self)
        }
        defer { trainingBuffersCache.withLock { $0 = buffers } }
        let streams = buffers.streams, rstd = buffers.rstd, scratch = buffers.scratch
        let gradientWorkspace = buffers.gradientWorkspace
        func stream(_ i: Int) -> UnsafeMutablePointer<Float> { streams.pointer + i * rows * d }
        let xn = scratch.pointer, mixed = scratch.pointer + rows * d, dH = scratch.pointer + 2 * rows * d
        let xnReverse = scratch.pointer + 3 * rows * d, mixedReverse = scratch.pointer + 4 * rows * d
        func activations(_ layer: Int, _ direction: Int) -> MixerActivations {
            buffers.activations(layer, direction, directions: directions)
        }

        /// xn = rmsnorm_i(H[i]) (rstd_i written), and BiMamba's reversed copy.
        func normalize(_ layer: Int) {
            backend.rmsNorm(input: stream(layer), rows: .contiguous(rows), dim: d, weight: p + layout.layers[layer].norm,
                            epsilon: epsilon, output: xn, rstd: rstd.pointer + layer * rows)
            if configuration.bidirectional {
                backend.copy(xn, into: xnReverse, count: rows * d)
                backend.reverseValid(xnReverse, sequences: b, length: l, dim: d, lengths: lengths, zeroPadding: true)
            }
        }

        var result = CrossEntropy.Result()
        var ngramIDs: [Int32]? = nil
        withExtendedLifetime((buffers, timeScale?.storage)) {
            // MARK: Forward
            if let inputEmbeddings {
                backend.copy(inputEmbeddings, into: stream(0), count: rows * d)
                backend.zeroPadding(stream(0), sequences: b, length: l, dim: d, lengths: lengths)
            } else {
                maskedIDs.withUnsafeBufferPointer { ids in
                    backend.embedding(ids: ids.baseAddress!, rows: rows, table: p + layout.embeddings, dim: d,
                                      out: stream(0))
                }
                ngramIDs = addNGramEmbeddings(maskedIDs, batch: batch, into: stream(0))
            }
            for (index, layer) in layout.layers.enumerated() {
                normalize(index)
                backend.copy(stream(index), into: stream(index + 1), count: rows * d)
                MambaMixer.trainingForward(backend: backend, dims: dims, parameters: p, offsets: layer.mixer,
                                           lengths: lengths, xn: xn, activations: activations(index, 0), out: mixed,
                                           timeScale: timeScale)
                backend.addRows(mixed, bias: nil, into: stream(index + 1), rows: .contiguous(rows), dim: d)
                if let reverseMixer = layer.reverseMixer {
                    MambaMixer.trainingForward(backend: backend, dims: dims, parameters: p, offsets: reverseMixer,
                                               lengths: lengths, xn: xnReverse, activations: activations(index, 1),
                                               out: mixedReverse, timeScale: timeScale)
                    backend.reverseValid(mixedReverse, sequences: b, length: l, dim: d, lengths: lengths,
                                         zeroPadding: true)
                    backend.addRows(mixedReverse, bias: nil, into: stream(index + 1), rows: .contiguous(rows), dim: d)
                }
            }
            // hf = rmsnorm_f(H[L]) into xn's buffer; its gradient dhf goes to `mixed`.
            let hf = xn, dhf = mixed
            backend.rmsNorm(input: stream(layers), rows: .contiguous(rows), dim: d, weight: p + layout.normF,
                            epsilon: epsilon, output: hf, rstd: rstd.pointer + layers * rows)

            // MARK: Head, loss, and the head's backward
            let scale = lossScale / Float(count)
            switch configuration.headType {
            case .causalLM:
                let v = configuration.paddedVocabSize
                let weightOffset = layout.lmHead ?? layout.embeddings
                let block = min(rows, options.headRows)
                let logits = buffers.head
                do {
                    targets.withUnsafeBufferPointer { targets in
                        for start in stride(from: 0, to: rows, by: block) {
                            let count = min(block, rows - start)
                            // {rows, d_model} @ {d_model, V} => logits
                            backend.linear(input: hf + start * d, inputStride: d, rows: count, inFeatures: d,
                                           weight: p + weightOffset, outFeatures: v, bias: nil,
                                           output: logits.pointer, outputStride: v, accumulate: false)
                            let part = backend.crossEntropy(logits: logits.pointer, rows: count, classes: v, stride: v,
                                                            targets: targets.baseAddress! + start, scale: scale,
                                                            gradient: true)
                            result.lossSum += part.lossSum
                            result.count += part.count
                            result.correct += part.correct
                            // dhf = dlogits · W {rows, V} @ {V, d_model};  dW += dlogitsᵀ · hf
                            backend.linearBackward(input: hf + start * d, inputStride: d, rows: count, inFeatures: d,
                                                   weight: p + weightOffset, outFeatures: v, dOutput: logits.pointer,
                                                   dOutputStride: v, dInput: dhf + start * d, dInputStride: d,
                                                   accumulateInput: false, dWeight: dp + weightOffset, dBias: nil)
                        }
                    }
                }
            case .sequenceClassification:
                let classes = configuration.labels.count
                let head = buffers.head
                let pooled = head.pointer, dPooled = head.pointer + b * d, logits = head.pointer + 2 * b * d
                do {
                    backend.pool(hf, sequences: b, length: l, dim: d, lengths: lengths,
                                 pooling: configuration.classifierPooling, into: pooled)
                    // {b, d_model} @ {d_model, classes} + bias => logits
                    backend.linear(input: pooled, inputStride: d, rows: b, inFeatures: d,
                                   weight: p + layout.classifierWeight!, outFeatures: classes,
                                   bias: p + layout.classifierBias!, output: logits, outputStride: classes,
                                   accumulate: false)
                    result = targets.withUnsafeBufferPointer { targets in
                        backend.crossEntropy(logits: logits, rows: b, classes: classes, stride: classes,
                                             targets: targets.baseAddress!, scale: scale, gradient: true)
                    }
                    // dpooled = dlogits · W;  dW += dlogitsᵀ · pooled;  db += Σ dlogits
                    backend.linearBackward(input: pooled, inputStride: d, rows: b, inFeatures: d,
                                           weight: p + layout.classifierWeight!, outFeatures: classes,
                                           dOutput: logits, dOutputStride: classes, dInput: dPooled, dInputStride: d,
                                           accumulateInput: false, dWeight: dp + layout.classifierWeight!,
                                           dBias: dp + layout.classifierBias!)
                    backend.poolBackward(dPooled, input: hf, sequences: b, length: l, dim: d, lengths: lengths,
                                         pooling: configuration.classifierPooling, into: dhf)
                }
            }

            // MARK: Backward through the stack
            // dH {rows, d_model}: the residual stream's gradient, updated in place layer by layer. Buffers per layer:
            // xn and xnReverse are rewritten by `normalize`; dxn goes to `mixed`; BiMamba's reversed output gradient
            // to `mixedReverse`, and its input gradient to xn's buffer (xn is dead once the forward mixer's backward
            // has read it).
            let dxn = mixed, dOutReverse = mixedReverse, dxnReverse = xn
            do {
                backend.rmsNormBackward(input: stream(layers), rows: rows, dim: d, weight: p + layout.normF,
                                        rstd: rstd.pointer + layers * rows, dOutput: dhf, dInput: dH,
                                        accumulate: false, dWeight: dp + layout.normF)
                for index in stride(from: layers - 1, through: 0, by: -1) {
                    let layer = layout.layers[index]
                    normalize(index)
                    if recompute {
                        MambaMixer.trainingForward(backend: backend, dims: dims, parameters: p, offsets: layer.mixer,
                                                   lengths: lengths, xn: xn, activations: activations(index, 0),
                                                   out: nil, timeScale: timeScale)
                    }
                    MambaMixer.backward(backend: backend, dims: dims, parameters: p, offsets: layer.mixer,
                                        lengths: lengths, xn: xn, activations: activations(index, 0),
                                        dOut: dH, workspace: gradientWorkspace, gradients: dp, dxn: dxn,
                                        accumulateInput: false, timeScale: timeScale)
                    if let reverseMixer = layer.reverseMixer {
                        if recompute {
                            MambaMixer.trainingForward(backend: backend, dims: dims, parameters: p,
                                                       offsets: reverseMixer, lengths: lengths, xn: xnReverse,
                                                       activations: activations(index, 1), out: nil,
                                                       timeScale: timeScale)
                        }
                        // reverseValid with zero padding is its own adjoint.
                        backend.copy(dH, into: dOutReverse, count: rows * d)
                        backend.reverseValid(dOutReverse, sequences: b, length: l, dim: d, lengths: lengths,
                                             zeroPadding: true)
                        MambaMixer.backward(backend: backend, dims: dims, parameters: p, offsets: reverseMixer,
                                            lengths: lengths, xn: xnReverse, activations: activations(index, 1),
                                            dOut: dOutReverse, workspace: gradientWorkspace, gradients: dp,
                                            dxn: dxnReverse, accumulateInput: false, timeScale: timeScale)
                        backend.reverseValid(dxnReverse, sequences: b, length: l, dim: d, lengths: lengths,
                                             zeroPadding: true)
                        backend.addRows(dxnReverse, bias: nil, into: dxn, rows: .contiguous(rows), dim: d)
                    }
                    // dH += rmsnorm_i'(dxn)
                    backend.rmsNormBackward(input: stream(index), rows: rows, dim: d, weight: p + layer.norm,
                                            rstd: rstd.pointer + index * rows, dOutput: dxn, dInput: dH,
                                            accumulate: true, dWeight: dp + layer.norm)
                }
                if let inputGradients {
                    backend.copy(dH, into: inputGradients, count: rows * d)
                    backend.zeroPadding(inputGradients, sequences: b, length: l, dim: d, lengths: lengths)
                } else {
                    maskedIDs.withUnsafeBufferPointer { ids in
                        backend.embeddingBackward(ids: ids.baseAddress!, rows: rows, dOut: dH, dim: d,
                                                  dTable: dp + layout.embeddings)
                    }
                    if let ngramIDs, let table = layout.ngramEmbeddings {
                        ngramIDs.withUnsafeBufferPointer { ids in
                            backend.embeddingBackward(ids: ids.baseAddress!, rows: rows, dOut: dH, dim: d,
                                                      dTable: dp + table)
                        }
                    }
                }
            }
        }
        return LossResult(loss: result.lossSum / Double(result.count), count: result.count, correct: result.correct)
    }
}
