// The state of recurrent inference: per layer, the last k − 1 inputs of the convolution and the SSM state.
// Its size is fixed (layers · b · d_inner · (k − 1 + n) floats), so each `MambaModel.step` costs O(1) time and memory
// in the number of tokens already seen. A state belongs to one time scale ρ (TimeScale.swift): the input rate of the
// prompt and of every step; k is then the J taps of the resampled convolution.
import Foundation
import MambaTensor

/// Per-layer convolution windows and SSM states of `batch` sequences (see `MambaModel.step` and `prefill`).
/// A state belongs to one generation loop: `step` mutates it, so one state must not be stepped from two threads at
/// once (use `copy()` to branch).
public final class RecurrentState: @unchecked Sendable {
    /// The number of sequences.
    public let batch: Int
    /// The number of layers.
    public let layers: Int
    /// Convolution windows, (layers, b, k − 1, d_inner) (k = timeScale.kernel): the last k − 1 inputs of each layer's convolution, oldest
    /// first (transformers keeps (b, d_inner, k) per layer; this layout keeps channels contiguous for SIMD).
    public let convWindows: Tensor
    /// SSM states, (layers, b, d_inner, n).
    public let ssmStates: Tensor
    /// Tokens seen by each sequence (the prompt's valid length, then one per step).
    public internal(set) var positions: [Int]
    /// The time scale every step of this state runs at (ρ = 1: the trained rate).
    public let timeScale: TimeScale
    /// For a model with an n-gram embedding of order k: each sequence's last k − 1 tokens (fewer at the start),
    /// oldest first; empty otherwise.
    public internal(set) var recentTokens: [[Int32]]

    let windowStride: Int
    let stateStride: Int
    var stepWorkspace: StepWorkspace?

    /// A zero state (the state before any token) for `batch` sequences of a model with these dimensions, at
    /// `timeScale` (default: ρ = 1).
    init(batch: Int, layers: Int, dims: MixerDimensions, timeScale: TimeScale? = nil, backend: any MambaBackend) {
        self.batch = batch
        self.layers = layers
        let timeScale = timeScale ?? .identity(trainedKernel: dims.kernel)
        self.timeScale = timeScale
        let kernel = timeScale.kernel
        windowStride = batch * (kernel - 1) * dims.inner
        stateStride = batch * dims.inner * dims.state
        convWindows = backend.makeBuffer(layers * windowStride).reshaped([layers, batch, kernel - 1, dims.inner])
        ssmStates = backend.makeBuffer(layers * stateStride).reshaped([layers, batch, dims.inner, dims.state])
        positions = Array(repeating: 0, count: batch)
        recentTokens = Array(repeating: [], count: batch)
    }

    /// Layer `layer`'s window, (b, k − 1, d_inner).
    func window(_ layer: Int) -> UnsafeMutablePointer<Float> { convWindows.pointer + layer * windowStride }
    /// Layer `layer`'s SSM state, (b, d_inner, n).
    func ssm(_ layer: Int) -> UnsafeMutablePointer<Float> { ssmStates.pointer + layer * stateStride }

    /// An independent copy (e.g. to branch generation from one prompt).
    public func copy() -> RecurrentState {
        let other = RecurrentState(batch: batch, layers: layers, windowStride: windowStride, stateStride: stateStride,
                                   convWindows: convWindows.copy(), ssmStates: ssmStates.copy(), timeScale: timeScale)
        other.positions = positions
        other.recentTokens = recentTokens
        return other
    }

    private init(batch: Int, layers: Int, windowStride: Int, stateStride: Int, convWindows: Tensor, ssmStates: Tensor,
                 timeScale: TimeScale) {
        self.timeScale = timeScale
        self.batch = batch
        self.layers = layers
        self.windowStride = windowStride
        self.stateStride = stateStride
        self.convWindows = convWindows
        self.ssmStates = ssmStates
        positions = Array(repeating: 0, count: batch)
        recentTokens = Array(repeating: [], count: batch)
    }
}

/// Buffers reused by every `step` of one state: b rows of the residual stream and a mixer workspace for b rows.
final class StepWorkspace {
    let hidden: Tensor
    let mixer: MixerWorkspace
    let ids: UnsafeMutablePointer<Int32>
    let valid: UnsafeMutablePointer<Int32>
    /// The resampled convolution taps at the state's time scale (nil at ρ = 1).
    let timeScale: MixerTimeScale?

    init(batch: Int, dims: MixerDimensions, timeScale: TimeScale, backend: any MambaBackend) {
        hidden = backend.makeBuffer(batch * dims.model)
        mixer = MixerWorkspace(dims: dims, sequences: batch, capacity: batch, backend: backend)
        self.timeScale = timeScale.isIdentity ? nil : MixerTimeScale(timeScale, dims: dims, backend: backend)
        ids = .allocate(capacity: batch)
        valid = .allocate(capacity: batch)
        valid.initialize(repeating: 1, count: batch)
    }

    deinit {
        ids.deallocate()
        valid.deallocate()
    }
}
