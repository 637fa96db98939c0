// The Mamba mixer over one chunk of positions of every sequence: transformers' MambaMixer.slow_forward /
// state-spaces/mamba's `Mamba` block (mamba_ssm/modules/mamba_simple.py, the non-fused path), and the S4D variant.
//
//   xz = in_proj(x)                     {rows, d_model} @ {d_model, 2·d_inner} => x {rows, d_inner}, z {rows, d_inner}
//   u = silu(conv1d(x))                 causal depthwise, window carried between chunks    => {rows, d_inner}
//   S6:  x_dbl = x_proj(u)              {rows, d_inner} @ {d_inner, r + 2n} => Δ_low {rows, r}, B {rows, n}, C {rows, n}
//        Δ_raw = dt_proj.weight · Δ_low {rows, r} @ {r, d_inner} => {rows, d_inner}; its bias is added in the scan
//        y = selective_scan(u, Δ = softplus(Δ_raw + dt_proj.bias), A = −exp(A_log), B, C, D, z)
//   S4D: y = s4d_scan(u, Δ = softplus(dt_bias) per channel, A = −exp(A_log), B, C per channel (d_inner, n), D, z)
//   out = out_proj(y)                   {rows, d_inner} @ {d_inner, d_model} => {rows, d_model}
// The scans discretise A by zero-order hold (exp(Δ·A)) and B by Euler (Δ·B), as selective_scan_ref; y includes the
// D skip and the silu(z) gate.
// At a time scale ρ ≠ 1 (input at another sample rate; TimeScale.swift, `MixerTimeScale`): Δ ·= ρ (S6: the scans'
// deltaScale; S4D: softplus(dt_bias) · ρ), and conv1d runs with the J taps resampled from the K learned ones. With no
// time scale (nil) every step below is exactly the plain block.
//
// rows = b · l_chunk, sequence-major. Inference reuses one `MixerWorkspace` for every layer and chunk, so activation
// memory is O(chunk · d_inner) and never O(l · d_inner · n): the scan keeps only the (b, d_inner, n) state.
// Training (the second half of this file): `trainingForward` runs the mixer over whole sequences from a zero state
// and keeps in a `MixerActivations` what `backward` needs: x, z, u, Δ_raw, x_dbl, B, C, y {rows, ·} and the scan's
// states at chunk boundaries {b, l / chunk, d_inner, n} (O(l · d_inner · n / chunk), never a state per position: the
// scan backward recomputes the states within each chunk). `backward` walks the forward in reverse:
//   out_proj:  dy = dout · W_out                    {rows, d_model} @ {d_model, d_inner} => {rows, d_inner}
//              dW_out += doutᵀ · y;  db_out += Σ dout
//   scan:      du, dΔ_raw, dB, dC, dz {rows, ·};  dA {d_inner, n}, dD, d(dt_proj.bias) (S6) / dΔ, dB, dC (S4D)
//   A = −exp(A_log):  dA_log += dA ⊙ A;   S4D Δ = softplus(dt_bias):  d(dt_bias) += dΔ ⊙ σ(dt_bias)
//              (at a time scale: S4D Δ = ρ·softplus(dt_bias), d(dt_bias) += ρ·dΔ ⊙ σ(dt_bias); S6 through deltaScale)
//   S6 dt_proj: dΔ_low = dΔ_raw · W_dt              {rows, d_inner} @ {d_inner, r} => {rows, r}
//              dW_dt += dΔ_rawᵀ · Δ_low
//   S6 x_proj:  du += dx_dbl · W_x                  {rows, r + 2n} @ {r + 2n, d_inner} => {rows, d_inner}
//              dW_x += dx_dblᵀ · u                  (dx_dbl = [dΔ_low | dB | dC])
//   conv+SiLU: dx {rows, d_inner}, dW_conv, db_conv (CausalConv1d.backward)
//              (at a time scale: dW' {d_inner, J} of the resampled taps, then dW_conv += its adjoint
//              resampling, CausalConv1d.resampleBackward)
//   in_proj:   dxn (+)= dx · W_in[x rows] + dz · W_in[z rows]   {rows, d_inner} @ {d_inner, d_model} => {rows, d_model}
//              dW_in[x rows] += dxᵀ · xn;  dW_in[z rows] += dzᵀ · xn;  db_in += Σ [dx | dz]
import Foundation
import MambaTensor

/// The sizes of a mixer (see the glossary in MambaModel.swift).
public struct MixerDimensions: Sendable, Equatable {
    /// d_model.
    public var model: Int
    /// d_inner.
    public var inner: Int
    /// n, the state size.
    public var state: Int
    /// r, the Δ rank (S6).
    public var rank: Int
    /// k, the convolution width.
    public var kernel: Int

    /// The sizes of `configuration`'s mixers.
    public init(_ configuration: MambaConfiguration) {
        model = configuration.hiddenSize
        inner = configuration.intermediateSize
        state = configuration.stateSize
        rank = configuration.resolvedTimeStepRank
        kernel = configuration.convKernel
    }
}

/// Scratch buffers for one chunk of up to `capacity` rows of `sequences` sequences.
public struct MixerWorkspace: @unchecked Sendable {
    /// Rows (b · l_chunk) the buffers hold.
    public let capacity: Int
    /// The number of sequences (b).
    public let sequences: Int
    let storage: Tensor
    /// Mixer input (normalised rows) {rows, d_model}.
    let xn: UnsafeMutablePointer<Float>
    /// x half of in_proj, later y {rows, d_inner}.
    let x: UnsafeMutablePointer<Float>
    /// z half of in_proj {rows, d_inner}.
    let z: UnsafeMutablePointer<Float>
    /// silu(conv(x)) {rows, d_inner}.
    let u: UnsafeMutablePointer<Float>
    /// Δ before bias and softplus {rows, d_inner}.
    let delta: UnsafeMutablePointer<Float>
    /// x_proj output {rows, r + 2n}.
    let xdbl: UnsafeMutablePointer<Float>
    /// B and C, contiguous {rows, n} each.
    let b: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>
    /// Mixer output {rows, d_model}.
    let out: UnsafeMutablePointer<Float>
    /// A = −exp(A_log) {d_inner, n} and S4D's Δ {d_inner}, per layer.
    let a: UnsafeMutablePointer<Float>
    let s4dDelta: UnsafeMutablePointer<Float>
    /// The scan's final state before it is copied back {b, d_inner, n}.
    let finalState: UnsafeMutablePointer<Float>

    /// Allocates the buffers through `backend`.
    public init(dims: MixerDimensions, sequences: Int, capacity: Int, backend: any MambaBackend) {
        self.capacity = capacity
        self.sequences = sequences
        let d = dims.model, e = dims.inner, n = dims.state, r = dims.rank
        func round(_ count: Int) -> Int { (count + 15) / 16 * 16 }
        let sizes = [capacity * d, capacity * e, capacity * e, capacity * e, capacity * e, capacity * (r + 2 * n),
                     capacity * n, capacity * n, capacity * d, e * n, e, sequences * e * n].map(round)
        storage = backend.makeBuffer(sizes.reduce(0, +))
        var offset = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            pointers.append(storage.pointer + offset)
            offset += size
        }
        (xn, x, z, u, delta, xdbl) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5])
        (b, c, out, a, s4dDelta, finalState) = (pointers[6], pointers[7], pointers[8], pointers[9], pointers[10], pointers[11])
    }
}

/// What a mixer pass needs at a time scale ρ ≠ 1: ρ (TimeScale.swift) and scratch for the resampled convolution taps
/// and their gradient, {d_inner, J} each. One per model pass, shared by all its layers (each layer rewrites the taps
/// before it uses them).
public struct MixerTimeScale: @unchecked Sendable {
    /// ρ and the convolution's resampling plan.
    public let timeScale: TimeScale
    let storage: Tensor
    /// The resampled taps {d_inner, J}.
    let taps: UnsafeMutablePointer<Float>
    /// Their gradient {d_inner, J} (training).
    let dTaps: UnsafeMutablePointer<Float>

    /// Allocates the scratch through `backend` for a model with these sizes.
    public init(_ timeScale: TimeScale, dims: MixerDimensions, backend: any MambaBackend) {
        precondition(timeScale.trainedKernel == dims.kernel,
                     "MixerTimeScale: a time scale for \(timeScale.trainedKernel) taps given to a \(dims.kernel)-tap model")
        self.timeScale = timeScale
        let count = dims.inner * timeScale.kernel
        storage = backend.makeBuffer(2 * count)
        taps = storage.pointer
        dTaps = storage.pointer + count
    }

    /// Writes the layer's resampled taps (from the learned ones at `weight`) into `taps`.
    func resample(backend: any MambaBackend, weight: UnsafePointer<Float>, channels: Int) {
        backend.resampleConvolution(weight: weight, channels: channels, timeScale: timeScale, into: taps)
    }
}

/// The mixer's forward over one chunk.
public enum MambaMixer {
    /// Computes A = −exp(A_log) (and S4D's Δ = softplus(dt_bias), times ρ) into the workspace, and at a time scale
    /// the resampled convolution taps into `timeScale`; call once per layer before its chunks.
    public static func prepare(backend: any MambaBackend, dims: MixerDimensions, parameters: UnsafePointer<Float>,
                               offsets: MixerOffsets, workspace: MixerWorkspace, timeScale: MixerTimeScale? = nil) {
        backend.negativeExp(parameters + offsets.aLog, into: workspace.a, count: dims.inner * dims.state)
        if case .timeInvariant(let dtBias, _, _) = offsets.ssm {
            backend.softplus(parameters + dtBias, into: workspace.s4dDelta, count: dims.inner)
            if let timeScale {
                backend.scale(workspace.s4dDelta, by: Float(timeScale.timeScale.ratio), count: dims.inner)
            }
        }
        timeScale?.resample(backend: backend, weight: parameters + offsets.convWeight, channels: dims.inner)
    }

    /// One chunk: reads `workspace.xn` {b · length, d_model}, writes `workspace.out` {b · length, d_model} (out_proj
    /// included, bias too), and advances `convWindow` {b, k − 1, d_inner} and `ssmState` {b, d_inner, n} over the
    /// first `valid[i]` positions of each sequence (later positions are padding: they change no state).
    /// With `timeScale` (as given to `prepare`), k = its J and Δ is scaled by ρ.
    public static func forward(backend: any MambaBackend, dims: MixerDimensions, parameters: UnsafePointer<Float>,
                               offsets: MixerOffsets, sequences: Int, length: Int, valid: UnsafePointer<Int32>,
                               convWindow: UnsafeMutablePointer<Float>, ssmState: UnsafeMutablePointer<Float>,
                               workspace ws: MixerWorkspace, timeScale: MixerTimeScale? = nil) {
        let rows = sequences * length
        precondition(rows <= ws.capacity && sequences <= ws.sequences, "mixer workspace too small")
        let d = dims.model, e = dims.inner, n = dims.state, r = dims.rank
        let k = timeScale?.timeScale.kernel ?? dims.kernel
        let convWeight = timeScale.map { UnsafePointer($0.taps) } ?? parameters + offsets.convWeight
        let deltaScale = timeScale?.timeScale.deltaScale ?? 1
        let p = parameters
        // {rows, d_model} @ {d_model, d_inner} => x; the second half of in_proj's rows gives z.
        backend.linear(input: ws.xn, inputStride: d, rows: rows, inFeatures: d, weight: p + offsets.inProjWeight,
                       outFeatures: e, bias: offsets.inProjBias.map { p + $0 }, output: ws.x, outputStride: e,
                       accumulate: false)
        backend.linear(input: ws.xn, inputStride: d, rows: rows, inFeatures: d,
                       weight: p + offsets.inProjWeight + e * d, outFeatures: e,
                       bias: offsets.inProjBias.map { p + $0 + e }, output: ws.z, outputStride: e, accumulate: false)
        // u = silu(conv(x)) {rows, d_inner}, then the window moves past this chunk's valid positions.
        backend.causalConv1dSiLU(input: ws.x, inputStride: e, window: convWindow, sequences: sequences, length: length,
                                 channels: e, kernel: k, weight: convWeight,
                                 bias: offsets.convBias.map { p + $0 }, output: ws.u)
        backend.updateConvWindow(input: ws.x, inputStride: e, window: convWindow, valid: valid, sequences: sequences,
                                 length: length, channels: e, kernel: k)
        let scanDims = ScanDimensions(batch: sequences, length: length, channels: e, state: n)
        // One position that every sequence uses (a recurrent step): the scans' single-step kernels update the state
        // in place, without the full scan's per-call setup.
        let singleStep = length == 1 && (0..<sequences).allSatisfy { valid[$0] == 1 }
        // x is dead after the convolution: y reuses its buffer.
        let y = ws.x
        switch offsets.ssm {
        case .selective(let xProjWeight, let dtProjWeight, let dtProjBias):
            // {rows, d_inner} @ {d_inner, r + 2n} => x_dbl = [Δ_low | B | C]
            backend.linear(input: ws.u, inputStride: e, rows: rows, inFeatures: e, weight: p + xProjWeight,
                           outFeatures: r + 2 * n, bias: nil, output: ws.xdbl, outputStride: r + 2 * n,
                           accumulate: false)
            // {rows, r} @ {r, d_inner} => Δ_raw (dt_proj.bias is added inside the scan, before softplus)
            backend.linear(input: ws.xdbl, inputStride: r + 2 * n, rows: rows, inFeatures: r,
                           weight: p + dtProjWeight, outFeatures: e, bias: nil, output: ws.delta, outputStride: e,
                           accumulate: false)
            backend.copyColumns(ws.xdbl, stride: r + 2 * n, start: r, count: n, rows: rows, into: ws.b)
            backend.copyColumns(ws.xdbl, stride: r + 2 * n, start: r + n, count: n, rows: rows, into: ws.c)
            if singleStep {
                backend.selectiveScanStep(batch: sequences, channels: e, state: n, u: ws.u, delta: ws.delta, A: ws.a,
                                          B: ws.b, C: ws.c, D: p + offsets.d, z: ws.z, deltaBias: p + dtProjBias,
                                          deltaScale: deltaScale, h: ssmState, y: y)
            } else {
                backend.selectiveScan(scanDims, u: ws.u, delta: ws.delta, A: ws.a, B: ws.b, C: ws.c,
                                      D: p + offsets.d, z: ws.z, deltaBias: p + dtProjBias, deltaScale: deltaScale,
                                      lengths: valid, initialState: ssmState, y: y, finalState: ws.finalState)
            }
        case .timeInvariant(_, let bOffset, let cOffset):
            if singleStep {
                backend.timeInvariantScanStep(batch: sequences, channels: e, state: n, u: ws.u, delta: ws.s4dDelta,
                                              A: ws.a, B: p + bOffset, C: p + cOffset, D: p + offsets.d, z: ws.z,
                                              h: ssmState, y: y)
            } else {
                backend.timeInvariantScan(scanDims, u: ws.u, delta: ws.s4dDelta, A: ws.a, B: p + bOffset,
                                          C: p + cOffset, D: p + offsets.d, z: ws.z, lengths: valid,
                                          initialState: ssmState, y: y, finalState: ws.finalState)
            }
        }
        if !singleStep { backend.copy(ws.finalState, into: ssmState, count: sequences * e * n) }
        // {rows, d_inner} @ {d_inner, d_model} => out
        backend.linear(input: y, inputStride: e, rows: rows, inFeatures: e, weight: p + offsets.outProjWeight,
                       outFeatures: d, bias: offsets.outProjBias.map { p + $0 }, output: ws.out, outputStride: d,
                       accumulate: false)
    }
}

// MARK: - Training

/// Carves one backend buffer into named pieces, each rounded up to 16 floats (64 bytes).
struct BufferArena {
    private(set) var sizes: [Int] = []

    /// Reserves `count` floats; returns the piece's index.
    mutating func reserve(_ count: Int) -> Int {
        sizes.append((count + 15) / 16 * 16)
        return sizes.count - 1
    }

    /// The total floats reserved.
    var total: Int { sizes.reduce(0, +) }

    /// The pieces' pointers in `storage`.
    func pointers(in storage: Tensor) -> [UnsafeMutablePointer<Float>] {
        var offset = 0
        return sizes.map { size in
            defer { offset += size }
            return storage.pointer + offset
        }
    }
}

/// What a mixer's training forward keeps for its backward, over whole sequences (rows = b · l). The S6 buffers
/// (delta, xdbl, b, c) are empty when the activations are only for S4D mixers.
public final class MixerActivations: @unchecked Sendable {
    /// b.
    public let sequences: Int
    /// l.
    public let length: Int
    /// The scan's chunk length (the states at chunk starts are kept).
    public let chunkLength: Int
    /// Whether the S6 buffers exist.
    public let selective: Bool
    let storage: Tensor
    /// Convolution input (x half of in_proj) {rows, d_inner}.
    let x: UnsafeMutablePointer<Float>
    /// Gate (z half of in_proj) {rows, d_inner}.
    let z: UnsafeMutablePointer<Float>
    /// silu(conv(x)) {rows, d_inner}.
    let u: UnsafeMutablePointer<Float>
    /// Δ_raw (before dt_proj.bias and softplus) {rows, d_inner} (S6).
    let delta: UnsafeMutablePointer<Float>
    /// x_proj output [Δ_low | B | C] {rows, r + 2n} (S6).
    let xdbl: UnsafeMutablePointer<Float>
    /// B and C, contiguous {rows, n} each (S6).
    let b: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>
    /// Scan output (out_proj input) {rows, d_inner}.
    let y: UnsafeMutablePointer<Float>
    /// A = −exp(A_log) {d_inner, n}; S4D's Δ = softplus(dt_bias) {d_inner}.
    let a: UnsafeMutablePointer<Float>
    let s4dDelta: UnsafeMutablePointer<Float>
    /// The scan state at the start of every chunk {b, ceil(l / chunkLength), d_inner, n}.
    let chunkStates: UnsafeMutablePointer<Float>

    /// The floats `MixerActivations` holds for these sizes.
    public static func floatCount(dims: MixerDimensions, sequences: Int, length: Int, chunkLength: Int,
                                  selective: Bool) -> Int {
        arena(dims: dims, sequences: sequences, length: length, chunkLength: chunkLength, selective: selective).total
    }

    private static func arena(dims: MixerDimensions, sequences: Int, length: Int, chunkLength: Int,
                              selective: Bool) -> BufferArena {
        let rows = sequences * length, e = dims.inner, n = dims.state, r = dims.rank
        let chunks = (length + chunkLength - 1) / chunkLength
        var arena = BufferArena()
        for count in [rows * e, rows * e, rows * e, selective ? rows * e : 0, selective ? rows * (r + 2 * n) : 0,
                      selective ? rows * n : 0, selective ? rows * n : 0, rows * e, e * n, e,
                      sequences * chunks * e * n] {
            _ = arena.reserve(count)
        }
        return arena
    }

    /// Allocates the buffers through `backend`.
    public init(dims: MixerDimensions, sequences: Int, length: Int, chunkLength: Int, selective: Bool,
                backend: any MambaBackend) {
        precondition(chunkLength >= 1, "MixerActivations: chunkLength must be >= 1")
        self.sequences = sequences
        self.length = length
        self.chunkLength = chunkLength
        self.selective = selective
        let arena = Self.arena(dims: dims, sequences: sequences, length: length, chunkLength: chunkLength,
                               selective: selective)
        storage = backend.makeBuffer(arena.total)
        let p = arena.pointers(in: storage)
        (x, z, u, delta, xdbl, b, c, y) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
        (a, s4dDelta, chunkStates) = (p[8], p[9], p[10])
    }
}

/// Scratch buffers of a mixer's backward, shared by all layers (rows = b · l).
public final class MixerGradientWorkspace: @unchecked Sendable {
    /// Rows (b · l) the buffers hold.
    public let rows: Int
    let storage: Tensor
    /// dy (the scan output's gradient), then dx (the convolution input's) {rows, d_inner}.
    let dyThenDx: UnsafeMutablePointer<Float>
    /// du, dΔ_raw, dz {rows, d_inner}.
    let du: UnsafeMutablePointer<Float>
    let ddelta: UnsafeMutablePointer<Float>
    let dz: UnsafeMutablePointer<Float>
    /// [dΔ_low | dB | dC] {rows, r + 2n}; the scan's dB, dC {rows, n}.
    let dxdbl: UnsafeMutablePointer<Float>
    let dB: UnsafeMutablePointer<Float>
    let dC: UnsafeMutablePointer<Float>
    /// dA {d_inner, n} and S4D's dΔ {d_inner}, zeroed before each scan backward.
    let dA: UnsafeMutablePointer<Float>
    let dDelta: UnsafeMutablePointer<Float>

    /// The floats the workspace holds for these sizes.
    public static func floatCount(dims: MixerDimensions, rows: Int) -> Int { arena(dims: dims, rows: rows).total }

    private static func arena(dims: MixerDimensions, rows: Int) -> BufferArena {
        let e = dims.inner, n = dims.state, r = dims.rank
        var arena = BufferArena()
        for count in [rows * e, rows * e, rows * e, rows * e, rows * (r + 2 * n), rows * n, rows * n, e * n, e] {
            _ = arena.reserve(count)
        }
        return arena
    }

    /// Allocates the buffers through `backend`.
    public init(dims: MixerDimensions, rows: Int, backend: any MambaBackend) {
        self.rows = rows
        let arena = Self.arena(dims: dims, rows: rows)
        storage = backend.makeBuffer(arena.total)
        let p = arena.pointers(in: storage)
        (dyThenDx, du, ddelta, dz, dxdbl, dB, dC, dA, dDelta) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8])
    }
}

extension MambaMixer {
    /// The training forward over whole sequences from a zero convolution window and SSM state: reads xn
    /// {b · l, d_model}, writes out {b · l, d_model} (out_proj included; skipped when out is nil, as when the backward
    /// recomputes the activations) and fills `activations` (sized for b, l). lengths: (b) valid lengths (padding
    /// changes no state; the scan writes y = 0 there). With `timeScale`, Δ is scaled by ρ and the convolution runs
    /// with the resampled taps (written into `timeScale`).
    public static func trainingForward(backend: any MambaBackend, dims: MixerDimensions,
                                       parameters p: UnsafePointer<Float>, offsets: MixerOffsets,
                                       lengths: UnsafePointer<Int32>, xn: UnsafePointer<Float>,
                                       activations act: MixerActivations, out: UnsafeMutablePointer<Float>?,
                                       timeScale: MixerTimeScale? = nil) {
        let bCount = act.sequences, l = act.length, rows = bCount * l
        let d = dims.model, e = dims.inner, n = dims.state, r = dims.rank
        let k = timeScale?.timeScale.kernel ?? dims.kernel
        timeScale?.resample(backend: backend, weight: p + offsets.convWeight, channels: e)
        let convWeight = timeScale.map { UnsafePointer($0.taps) } ?? p + offsets.convWeight
        let deltaScale = timeScale?.timeScale.deltaScale ?? 1
        backend.negativeExp(p + offsets.aLog, into: act.a, count: e * n)
        // {rows, d_model} @ {d_model, d_inner} => x, z (the two halves of in_proj's rows)
        backend.linear(input: xn, inputStride: d, rows: rows, inFeatures: d, weight: p + offsets.inProjWeight,
                       outFeatures: e, bias: offsets.inProjBias.map { p + $0 }, output: act.x, outputStride: e,
                       accumulate: false)
        backend.linear(input: xn, inputStride: d, rows: rows, inFeatures: d, weight: p + offsets.inProjWeight + e * d,
                       outFeatures: e, bias: offsets.inProjBias.map { p + $0 + e }, output: act.z, outputStride: e,
                       accumulate: false)
        // u = silu(conv(x)) {rows, d_inner}
        backend.causalConv1dSiLU(input: act.x, inputStride: e, window: nil, sequences: bCount, length: l,
                                 channels: e, kernel: k, weight: convWeight,
                                 bias: offsets.convBias.map { p + $0 }, output: act.u)
        let scanDims = ScanDimensions(batch: bCount, length: l, channels: e, state: n)
        switch offsets.ssm {
        case .selective(let xProjWeight, let dtProjWeight, let dtProjBias):
            precondition(act.selective, "MixerActivations without S6 buffers given to an S6 mixer")
            // {rows, d_inner} @ {d_inner, r + 2n} => x_dbl = [Δ_low | B | C]
            backend.linear(input: act.u, inputStride: e, rows: rows, inFeatures: e, weight: p + xProjWeight,
                           outFeatures: r + 2 * n, bias: nil, output: act.xdbl, outputStride: r + 2 * n,
                           accumulate: false)
            // {rows, r} @ {r, d_inner} => Δ_raw
            backend.linear(input: act.xdbl, inputStride: r + 2 * n, rows: rows, inFeatures: r,
                           weight: p + dtProjWeight, outFeatures: e, bias: nil, output: act.delta, outputStride: e,
                           accumulate: false)
            backend.copyColumns(act.xdbl, stride: r + 2 * n, start: r, count: n, rows: rows, into: act.b)
            backend.copyColumns(act.xdbl, stride: r + 2 * n, start: r + n, count: n, rows: rows, into: act.c)
            backend.selectiveScanTraining(scanDims, u: act.u, delta: act.delta, A: act.a, B: act.b, C: act.c,
                                          D: p + offsets.d, z: act.z, deltaBias: p + dtProjBias,
                                          deltaScale: deltaScale, lengths: lengths, y: act.y,
                                          chunkLength: act.chunkLength, chunkStates: act.chunkStates)
        case .timeInvariant(let dtBias, let bOffset, let cOffset):
            backend.softplus(p + dtBias, into: act.s4dDelta, count: e)
            if timeScale != nil { backend.scale(act.s4dDelta, by: deltaScale, count: e) }
            backend.timeInvariantScanTraining(scanDims, u: act.u, delta: act.s4dDelta, A: act.a, B: p + bOffset,
                                              C: p + cOffset, D: p + offsets.d, z: act.z, lengths: lengths,
                                              y: act.y, chunkLength: act.chunkLength, chunkStates: act.chunkStates)
        }
        // {rows, d_inner} @ {d_inner, d_model} => out
        guard let out else { return }
        backend.linear(input: act.y, inputStride: e, rows: rows, inFeatures: e, weight: p + offsets.outProjWeight,
                       outFeatures: d, bias: offsets.outProjBias.map { p + $0 }, output: out, outputStride: d,
                       accumulate: false)
    }

    /// The backward of `trainingForward` (steps in the file header): from dOut {b · l, d_model} (the gradient of the
    /// mixer's output) it ACCUMULATES every parameter gradient into `gradients` (laid out as the parameters, at the
    /// same offsets) and writes dxn {b · l, d_model} (or adds to it when `accumulateInput`). xn and `activations`
    /// must be those of the forward, and so must `timeScale` (its taps are recomputed here: other layers' passes
    /// may have overwritten them).
    public static func backward(backend: any MambaBackend, dims: MixerDimensions, parameters p: UnsafePointer<Float>,
                                offsets: MixerOffsets, lengths: UnsafePointer<Int32>, xn: UnsafePointer<Float>,
                                activations act: MixerActivations, dOut: UnsafePointer<Float>,
                                workspace g: MixerGradientWorkspace, gradients dp: UnsafeMutablePointer<Float>,
                                dxn: UnsafeMutablePointer<Float>, accumulateInput: Bool,
                                timeScale: MixerTimeScale? = nil) {
        let bCount = act.sequences, l = act.length, rows = bCount * l
        precondition(rows <= g.rows, "mixer gradient workspace too small")
        let d = dims.model, e = dims.inner, n = dims.state, r = dims.rank
        let k = timeScale?.timeScale.kernel ?? dims.kernel
        let deltaScale = timeScale?.timeScale.deltaScale ?? 1
        let scanDims = ScanDimensions(batch: bCount, length: l, channels: e, state: n)
        // out_proj: {rows, d_model} @ {d_model, d_inner} => dy;  dW_out += doutᵀ · y;  db_out += Σ dout
        let dy = g.dyThenDx
        backend.linearBackward(input: act.y, inputStride: e, rows: rows, inFeatures: e,
                               weight: p + offsets.outProjWeight, outFeatures: d, dOutput: dOut, dOutputStride: d,
                               dInput: dy, dInputStride: e, accumulateInput: false, dWeight: dp + offsets.outProjWeight,
                               dBias: offsets.outProjBias.map { dp + $0 })
        backend.zero(g.dA, count: e * n)
        switch offsets.ssm {
        case .selective(let xProjWeight, let dtProjWeight, let dtProjBias):
            // scan: du, dΔ_raw, dB, dC, dz {rows, ·}; dA {d_inner, n}; dD, d(dt_proj.bias) accumulated
            backend.selectiveScanBackward(scanDims, u: act.u, delta: act.delta, A: act.a, B: act.b, C: act.c,
                                          D: p + offsets.d, z: act.z, deltaBias: p + dtProjBias,
                                          deltaScale: deltaScale, lengths: lengths, chunkStates: act.chunkStates, chunkLength: act.chunkLength, dy: dy,
                                          du: g.du, ddelta: g.ddelta, dA: g.dA, dB: g.dB, dC: g.dC,
                                          dD: dp + offsets.d, dz: g.dz, ddeltaBias: dp + dtProjBias)
            // dt_proj: {rows, d_inner} @ {d_inner, r} => dΔ_low (into dx_dbl's first r columns);
            // dW_dt += dΔ_rawᵀ · Δ_low
            backend.linearBackward(input: act.xdbl, inputStride: r + 2 * n, rows: rows, inFeatures: r,
                                   weight: p + dtProjWeight, outFeatures: e, dOutput: g.ddelta, dOutputStride: e,
                                   dInput: g.dxdbl, dInputStride: r + 2 * n, accumulateInput: false,
                                   dWeight: dp + dtProjWeight, dBias: nil)
            backend.scatterColumns(g.dB, count: n, rows: rows, into: g.dxdbl, stride: r + 2 * n, start: r)
            backend.scatterColumns(g.dC, count: n, rows: rows, into: g.dxdbl, stride: r + 2 * n, start: r + n)
            // x_proj: du += {rows, r + 2n} @ {r + 2n, d_inner};  dW_x += dx_dblᵀ · u
            backend.linearBackward(input: act.u, inputStride: e, rows: rows, inFeatures: e, weight: p + xProjWeight,
                                   outFeatures: r + 2 * n, dOutput: g.dxdbl, dOutputStride: r + 2 * n,
                                   dInput: g.du, dInputStride: e, accumulateInput: true, dWeight: dp + xProjWeight,
                                   dBias: nil)
        case .timeInvariant(let dtBias, let bOffset, let cOffset):
            backend.zero(g.dDelta, count: e)
            // scan: du, dz {rows, d_inner}; dΔ, dA {d_inner, ·}; dB, dC, dD accumulated into the gradients
            backend.timeInvariantScanBackward(scanDims, u: act.u, delta: act.s4dDelta, A: act.a, B: p + bOffset,
                                              C: p + cOffset, D: p + offsets.d, z: act.z, lengths: lengths,
                                              chunkStates: act.chunkStates, chunkLength: act.chunkLength, dy: dy,
                                              du: g.du, ddelta: g.dDelta, dA: g.dA, dB: dp + bOffset,
                                              dC: dp + cOffset, dD: dp + offsets.d, dz: g.dz)
            // Δ = ρ · softplus(dt_bias) {d_inner}
            if timeScale != nil { backend.scale(g.dDelta, by: deltaScale, count: e) }
            backend.softplusBackward(input: p + dtBias, dOutput: g.dDelta, into: dp + dtBias, count: e)
        }
        // A = −exp(A_log) {d_inner, n}
        backend.negativeExpBackward(output: act.a, dOutput: g.dA, into: dp + offsets.aLog, count: e * n)
        // conv + SiLU: du {rows, d_inner} => dx {rows, d_inner} (dy's buffer, dead since the scan backward)
        let dx = g.dyThenDx
        if let timeScale {
            // The resampled taps {d_inner, J}: their gradient, then back through the interpolation to the K taps.
            timeScale.resample(backend: backend, weight: p + offsets.convWeight, channels: e)
            backend.zero(timeScale.dTaps, count: e * k)
            backend.causalConv1dSiLUBackward(input: act.x, inputStride: e, sequences: bCount, length: l, channels: e,
                                             kernel: k, weight: timeScale.taps,
                                             bias: offsets.convBias.map { p + $0 }, dOutput: g.du, dInput: dx,
                                             dWeight: timeScale.dTaps, dBias: offsets.convBias.map { dp + $0 })
            backend.resampleConvolutionBackward(dResampled: timeScale.dTaps, channels: e,
                                                timeScale: timeScale.timeScale, into: dp + offsets.convWeight)
        } else {
            backend.causalConv1dSiLUBackward(input: act.x, inputStride: e, sequences: bCount, length: l, channels: e,
                                             kernel: k, weight: p + offsets.convWeight,
                                             bias: offsets.convBias.map { p + $0 }, dOutput: g.du, dInput: dx,
                                             dWeight: dp + offsets.convWeight, dBias: offsets.convBias.map { dp + $0 })
        }
        // in_proj: dxn (+)= dx · W_in[x] + dz · W_in[z]   {rows, d_inner} @ {d_inner, d_model} => {rows, d_model}
        backend.linearBackward(input: xn, inputStride: d, rows: rows, inFeatures: d, weight: p + offsets.inProjWeight,
                               outFeatures: e, dOutput: dx, dOutputStride: e, dInput: dxn, dInputStride: d,
                               accumulateInput: accumulateInput, dWeight: dp + offsets.inProjWeight,
                               dBias: offsets.inProjBias.map { dp + $0 })
        backend.linearBackward(input: xn, inputStride: d, rows: rows, inFeatures: d,
                               weight: p + offsets.inProjWeight + e * d, outFeatures: e, dOutput: g.dz,
                               dOutputStride: e, dInput: dxn, dInputStride: d, accumulateInput: true,
                               dWeight: dp + offsets.inProjWeight + e * d,
                               dBias: offsets.inProjBias.map { dp + $0 + e })
    }
}
