// Inspection: the step sizes Δ a model chose at each position of one input, per layer (and per direction of a
// bidirectional layer). This is the picture of selectivity: an S6 mixer computes
//   Δ = softplus(dt_proj(x_proj(u))[:r] + dt_proj.bias)      {l, d_inner}   (MambaMixer.swift)
// from its input, so Δ moves along the sequence (a large Δ lets the token in and forgets the state, a small Δ
// ignores it); an S4D mixer's Δ = softplus(dt_bias) is one value per channel, the same at every position.
//
// How it is computed: one `forward` with `outputHiddenStates` gives each layer's input (the residual stream before
// the layer); each layer's mixer then runs again over that input through the same code as the forward
// (`backend.rmsNorm`, `MambaMixer.prepare`, `MambaMixer.forward`, chunk by chunk with the carried convolution window
// and SSM state), and Δ is read from the mixer workspace (`delta` holds Δ_raw, before the bias and the softplus that
// the scan applies). Nothing here changes the model. Reading only: O(layers · l · d_inner) floats for the result,
// scratch memory O(chunk · d_inner) as the forward's.
import Foundation
import MambaTensor

/// The step sizes Δ that a model chose along one input (see `MambaModel.deltaTrace(ids:chunkRows:)`).
public struct DeltaTrace: Sendable, Equatable {
    /// Which direction of a layer a trace belongs to.
    public enum Direction: String, Sendable, Equatable {
        /// The (only, or first) mixer, reading the sequence left to right.
        case forward
        /// A bidirectional layer's second mixer, reading the sequence right to left (its Δ is stored by original
        /// position: `values` row t is the Δ it chose when it reached position t).
        case reverse
    }

    /// Δ of one mixer.
    public struct Layer: Sendable, Equatable {
        /// The layer index, 0 ..< num_hidden_layers.
        public var layer: Int
        /// The mixer's direction.
        public var direction: Direction
        /// Whether the mixer is selective (S6, Δ depends on the input) or time-invariant (S4D, Δ constant along the
        /// sequence).
        public var selective: Bool
        /// Δ {length, channels}, row-major: `values[t * channels + c]` is channel c's Δ at position t. Positive;
        /// dimensionless (the step of the discretised continuous-time system, in units of one position).
        public var values: [Float]

        /// The number of channels (d_inner) of each row.
        public var channels: Int { values.isEmpty ? 0 : values.count / max(1, length) }
        /// The number of positions.
        public let length: Int

        /// A trace.
        public init(layer: Int, direction: Direction, selective: Bool, length: Int, values: [Float]) {
            self.layer = layer
            self.direction = direction
            self.selective = selective
            self.length = length
            self.values = values
        }

        /// Channel `c`'s Δ at every position (length values).
        public func channel(_ c: Int) -> [Float] {
            let e = channels
            precondition(c >= 0 && c < e, "DeltaTrace.Layer.channel: \(c) is outside 0..<\(e)")
            return (0..<length).map { values[$0 * e + c] }
        }

        /// The mean of Δ over channels at every position (length values).
        public var meanOverChannels: [Float] {
            let e = channels
            return (0..<length).map { t in
                var sum = 0.0
                for c in 0..<e { sum += Double(values[t * e + c]) }
                return Float(sum / Double(max(1, e)))
            }
        }

        /// The channels whose log Δ varies most along the sequence (standard deviation over positions), most
        /// varying first: the most selective channels. At most `count`.
        public func mostVaryingChannels(_ count: Int) -> [Int] {
            let e = channels
            guard length > 0, e > 0 else { return [] }
            let spread: [Double] = (0..<e).map { c in
                var sum = 0.0, squares = 0.0
                for t in 0..<length {
                    let v = Foundation.log(Double(max(values[t * e + c], Float.leastNormalMagnitude)))
                    sum += v
                    squares += v * v
                }
                let mean = sum / Double(length)
                return max(0, squares / Double(length) - mean * mean)
            }
            return Array((0..<e).sorted { spread[$0] > spread[$1] || (spread[$0] == spread[$1] && $0 < $1) }
                .prefix(max(0, count)))
        }
    }

    /// The number of positions (l).
    public var length: Int
    /// d_inner.
    public var channels: Int
    /// One entry per layer, in layer order; a bidirectional layer gives its forward then its reverse mixer.
    public var layers: [Layer]

    /// A trace.
    public init(length: Int, channels: Int, layers: [Layer]) {
        self.length = length
        self.channels = channels
        self.layers = layers
    }
}

extension MambaModel {
    /// Δ at every position of one token sequence, per layer (see `DeltaTrace`). `ids`: the sequence (at least one
    /// token, each in 0 ..< padded vocabulary size). `chunkRows`: positions per chunk (scratch memory), as in
    /// `ForwardOptions`.
    public func deltaTrace(ids: [Int32], chunkRows: Int = 4096) throws -> DeltaTrace {
        let batch = try TokenBatch(ids: ids, batch: 1, length: ids.count)
        _ = try checkedIDs(batch)
        return try deltaTrace(batch, inputEmbeddings: nil, chunkRows: chunkRows)
    }

    /// Δ at every position of one continuous input (an audio front end's frames, `input_kind: continuous`), per
    /// layer. `embeddings`: {l, d_model} or {1, l, d_model}, every row valid.
    public func deltaTrace(embeddings: Tensor, chunkRows: Int = 4096) throws -> DeltaTrace {
        let shaped: Tensor
        switch embeddings.shape.count {
        case 2: shaped = embeddings.reshaped([1, embeddings.shape[0], embeddings.shape[1]])
        case 3 where embeddings.shape[0] == 1: shaped = embeddings
        default:
            throw ModelInputError("expected one input's embeddings of shape (length, \(dims.model)) or (1, length, \(dims.model)), found \(embeddings.shape)")
        }
        guard shaped.shape[1] >= 1 else {
            throw ModelInputError("expected at least one position, found an input of shape \(embeddings.shape)")
        }
        let batch = try continuousBatch(embeddings: shaped, lengths: [shaped.shape[1]])
        return try withExtendedLifetime(shaped) {
            try deltaTrace(batch, inputEmbeddings: UnsafePointer(shaped.pointer), chunkRows: chunkRows)
        }
    }

    /// The shared body: `batch` holds one full-length sequence (ids checked, or zeros beside `inputEmbeddings`).
    private func deltaTrace(_ batch: TokenBatch, inputEmbeddings: UnsafePointer<Float>?,
                            chunkRows: Int) throws -> DeltaTrace {
        precondition(batch.batch == 1 && batch.lengths == [batch.length])
        let l = batch.length, d = dims.model, e = dims.inner
        let mixers = layout.layers.reduce(0) { $0 + ($1.reverseMixer == nil ? 1 : 2) }
        let (floats, overflow) = l.multipliedReportingOverflow(by: e * mixers + d * 2)
        try Self.requireMemory(floats: overflow ? Int.max / 4 : floats, for: "the Δ of \(mixers) mixers over \(l) positions")

        // The residual stream before each layer: the embeddings, then the forward's hidden states.
        let output = inputEmbeddings == nil
            ? try forward(batch, options: ForwardOptions(outputHiddenStates: true))
            : try forward(batch, inputEmbeddings: inputEmbeddings, options: ForwardOptions(outputHiddenStates: true))
        let p = UnsafePointer(parameters.pointer)
        let firstInput = backend.makeBuffer(l * d)
        if let inputEmbeddings {
            backend.copy(inputEmbeddings, into: firstInput.pointer, count: l * d)
        } else {
            batch.ids.withUnsafeBufferPointer { ids in
                backend.embedding(ids: ids.baseAddress!, rows: l, table: p + layout.embeddings, dim: d,
                                  out: firstInput.pointer)
            }
        }
        let chunk = max(1, min(l, chunkRows))
        let workspace = MixerWorkspace(dims: dims, sequences: 1, capacity: chunk, backend: backend)
        let normed = backend.makeBuffer(l * d)
        let biased = backend.makeBuffer(chunk * e)
        let valid = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        let fullLength = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { valid.deallocate(); fullLength.deallocate() }
        fullLength[0] = Int32(l)
        let epsilon = Float(configuration.layerNormEpsilon)
        var traces: [DeltaTrace.Layer] = []

        /// Runs `offsets`' mixer over `normed` {l, d_model} from a zero state and returns Δ {l, d_inner} by the
        /// mixer's own positions.
        func mixerDelta(_ offsets: MixerOffsets) -> (values: [Float], selective: Bool) {
            let state = RecurrentState(batch: 1, layers: 1, dims: dims, backend: backend)
            var values = [Float](repeating: 0, count: l * e)
            var selective = false
            withExtendedLifetime((state, workspace.storage, normed, biased)) {
                MambaMixer.prepare(backend: backend, dims: dims, parameters: p, offsets: offsets, workspace: workspace)
                for start in stride(from: 0, to: l, by: chunk) {
                    let count = min(chunk, l - start)
                    valid[0] = Int32(count)
                    backend.copy(normed.pointer + start * d, into: workspace.xn, count: count * d)
                    MambaMixer.forward(backend: backend, dims: dims, parameters: p, offsets: offsets, sequences: 1,
                                       length: count, valid: valid, convWindow: state.window(0),
                                       ssmState: state.ssm(0), workspace: workspace)
                    switch offsets.ssm {
                    case .selective(_, _, let dtProjBias):
                        selective = true
                        // Δ = softplus(Δ_raw + dt_proj.bias) {count, d_inner}, as the scan computes it.
                        backend.copy(workspace.delta, into: biased.pointer, count: count * e)
                        for row in 0..<count {
                            let line = biased.pointer + row * e
                            for c in 0..<e { line[c] += p[dtProjBias + c] }
                        }
                        backend.softplus(biased.pointer, into: biased.pointer, count: count * e)
                        for i in 0..<(count * e) { values[start * e + i] = biased.pointer[i] }
                    case .timeInvariant:
                        // Δ = softplus(dt_bias) {d_inner}, the same at every position.
                        for row in 0..<count {
                            for c in 0..<e { values[(start + row) * e + c] = workspace.s4dDelta[c] }
                        }
                    }
                }
            }
            return (values, selective)
        }

        withExtendedLifetime((firstInput, output.hiddenStates, normed)) {
            for (index, layer) in layout.layers.enumerated() {
                let input = index == 0 ? firstInput.pointer : output.hiddenStates[index - 1].pointer
                backend.rmsNorm(input: input, rows: .contiguous(l), dim: d, weight: p + layer.norm, epsilon: epsilon,
                                output: normed.pointer, rstd: nil)
                let forwardDelta = mixerDelta(layer.mixer)
                traces.append(DeltaTrace.Layer(layer: index, direction: .forward, selective: forwardDelta.selective,
                                               length: l, values: forwardDelta.values))
                if let reverseMixer = layer.reverseMixer {
                    backend.reverseValid(normed.pointer, sequences: 1, length: l, dim: d, lengths: fullLength,
                                         zeroPadding: true)
                    let reversed = mixerDelta(reverseMixer)
                    // Back to original positions: the reverse mixer's step s read position l − 1 − s.
                    var values = [Float](repeating: 0, count: l * e)
                    for s in 0..<l {
                        for c in 0..<e { values[(l - 1 - s) * e + c] = reversed.values[s * e + c] }
                    }
                    traces.append(DeltaTrace.Layer(layer: index, direction: .reverse, selective: reversed.selective,
                                                   length: l, values: values))
                }
            }
        }
        return DeltaTrace(length: l, channels: e, layers: traces)
    }
}
