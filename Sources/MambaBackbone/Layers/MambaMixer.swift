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
//
// rows = b · l_chunk, sequence-major. Inference reuses one `MixerWorkspace` for every layer and chunk, so activation
// memory is O(chunk · d_inner) and never O(l · d_inner · n): the scan keeps only the (b, d_inner, n) state.
// Backward (next issue): a training forward passes a workspace sized for the whole sequence per layer, so that x, z,
// u, x_dbl, Δ_raw and y stay available; the scan's chunk states let its backward recompute within chunks.
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

/// The mixer's forward over one chunk.
public enum MambaMixer {
    /// Computes A = −exp(A_log) (and S4D's Δ = softplus(dt_bias)) into the workspace; call once per layer before
    /// its chunks.
    public static func prepare(backend: any MambaBackend, dims: MixerDimensions, parameters: UnsafePointer<Float>,
                               offsets: MixerOffsets, workspace: MixerWorkspace) {
        backend.negativeExp(parameters + offsets.aLog, into: workspace.a, count: dims.inner * dims.state)
        if case .timeInvariant(let dtBias, _, _) = offsets.ssm {
            backend.softplus(parameters + dtBias, into: workspace.s4dDelta, count: dims.inner)
        }
    }

    /// One chunk: reads `workspace.xn` {b · length, d_model}, writes `workspace.out` {b · length, d_model} (out_proj
    /// included, bias too), and advances `convWindow` {b, k − 1, d_inner} and `ssmState` {b, d_inner, n} over the
    /// first `valid[i]` positions of each sequence (later positions are padding: they change no state).
    public static func forward(backend: any MambaBackend, dims: MixerDimensions, parameters: UnsafePointer<Float>,
                               offsets: MixerOffsets, sequences: Int, length: Int, valid: UnsafePointer<Int32>,
                               convWindow: UnsafeMutablePointer<Float>, ssmState: UnsafeMutablePointer<Float>,
                               workspace ws: MixerWorkspace) {
        let rows = sequences * length
        precondition(rows <= ws.capacity && sequences <= ws.sequences, "mixer workspace too small")
        let d = dims.model, e = dims.inner, n = dims.state, r = dims.rank, k = dims.kernel
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
                                 channels: e, kernel: k, weight: p + offsets.convWeight,
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
                                          h: ssmState, y: y)
            } else {
                backend.selectiveScan(scanDims, u: ws.u, delta: ws.delta, A: ws.a, B: ws.b, C: ws.c,
                                      D: p + offsets.d, z: ws.z, deltaBias: p + dtProjBias, lengths: valid,
                                      initialState: ssmState, y: y, finalState: ws.finalState)
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
