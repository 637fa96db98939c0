// Cutting long sequences (token ids or audio samples) into fixed-length windows, each remembering where it came
// from, and averaging per-window predictions back into one per sequence.
//
// For a sequence of n elements, window length L and hop h:
//   full windows start at 0, h, 2h, ... while start + L <= n;
//   when the last full window ends before n and the next start s is inside the sequence (s < n), the elements
//   from s on are the remainder, handled by `Remainder`:
//     drop        no window: the tail is not seen (the usual choice for training on random crops);
//     pad         a window at s with n − s valid elements, padded to L (the mask says which are real);
//     shiftToEnd  a full window ending at n, starting at n − L (overlapping the one before), so nothing is padded.
// A sequence shorter than L has no full window: `drop` gives none, `pad` and `shiftToEnd` one padded window at 0
// (there is nothing to shift into). With h > L the elements between windows are skipped, by design.

/// One window of one sequence: where it starts, how many of its elements are real.
public struct Window: Sendable, Hashable, Codable {
    /// The index of the sequence it was cut from (in the list given to `Windows.windows(lengths:)`, or as given).
    public var sequence: Int
    /// The offset of its first element in that sequence.
    public var start: Int
    /// Its length as fed to a model (the window length, padding included).
    public var length: Int
    /// How many elements are real (from `start`); the rest, up to `length`, is padding.
    public var validLength: Int

    /// A window; `validLength` must lie in 0...`length`.
    public init(sequence: Int, start: Int, length: Int, validLength: Int) {
        self.sequence = sequence
        self.start = start
        self.length = length
        self.validLength = validLength
    }

    /// One past its last real element in the sequence: `start + validLength`.
    public var end: Int { start + validLength }
    /// The sequence positions it covers with real elements.
    public var range: Range<Int> { start..<end }
    /// Whether it ends in padding.
    public var isPadded: Bool { validLength < length }
}

/// A plan for cutting sequences into windows of `length` elements every `hop` elements.
public struct Windows: Sendable, Equatable, Codable {
    /// What happens to the elements after the last full window.
    public enum Remainder: String, Sendable, Equatable, Codable, CaseIterable {
        /// Leave them out.
        case drop
        /// One more window starting where the next would, padded at its end.
        case pad
        /// One more full window ending at the sequence's end (overlapping the previous one).
        case shiftToEnd
    }

    /// Elements per window.
    public let length: Int
    /// Elements between the starts of consecutive windows (`length` for windows that touch without overlap).
    public let hop: Int
    /// The handling of the tail.
    public let remainder: Remainder

    /// A plan; `hop` defaults to `length` (consecutive windows, no overlap).
    ///
    /// - Throws: `BatchingError.invalidArgument` when `length` or `hop` is below 1.
    public init(length: Int, hop: Int? = nil, remainder: Remainder) throws(BatchingError) {
        guard length >= 1 else { throw .invalidArgument("a window length must be at least 1, got \(length)") }
        let hop = hop ?? length
        guard hop >= 1 else { throw .invalidArgument("a window hop must be at least 1, got \(hop)") }
        self.length = length
        self.hop = hop
        self.remainder = remainder
    }

    private enum CodingKeys: String, CodingKey { case length, hop, remainder }

    /// Decodes a plan, checking it as `init(length:hop:remainder:)` does (a saved hop of 0 would divide by zero).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let length = try container.decode(Int.self, forKey: .length)
        let hop = try container.decode(Int.self, forKey: .hop)
        let remainder = try container.decode(Remainder.self, forKey: .remainder)
        do {
            try self.init(length: length, hop: hop, remainder: remainder)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .length, in: container, debugDescription: error.description)
        }
    }

    /// The number of full windows of a sequence of `n` elements.
    private func fullCount(_ n: Int) -> Int { n >= length ? (n - length) / hop + 1 : 0 }

    /// Whether a sequence of `n` elements gets a remainder window: elements after the last full window are left,
    /// and the next window would start inside the sequence (with hop > length it may start past the end instead).
    private func hasRemainder(_ n: Int) -> Bool {
        let full = fullCount(n)
        let lastEnd = full == 0 ? 0 : (full - 1) * hop + length
        return remainder != .drop && lastEnd < n && full * hop < n
    }

    /// The number of windows of a sequence of `n` elements.
    public func count(sequenceLength n: Int) -> Int {
        guard n > 0 else { return 0 }
        return fullCount(n) + (hasRemainder(n) ? 1 : 0)
    }

    /// Window `k` (0 ..< `count(sequenceLength: n)`) of sequence `sequence`, which has `n` elements; computed
    /// directly, so that a stream over a long recording needs no list of all its windows.
    public func window(_ k: Int, sequenceLength n: Int, sequence: Int = 0) -> Window {
        let full = fullCount(n)
        precondition(k >= 0 && k < count(sequenceLength: n), "window \(k) of \(count(sequenceLength: n))")
        if k < full { return Window(sequence: sequence, start: k * hop, length: length, validLength: length) }
        if remainder == .shiftToEnd && n >= length {
            return Window(sequence: sequence, start: n - length, length: length, validLength: length)
        }
        let start = full * hop
        return Window(sequence: sequence, start: start, length: length, validLength: n - start)
    }

    /// The windows of one sequence of `n` elements, in order of their starts.
    public func windows(sequenceLength n: Int, sequence: Int = 0) -> [Window] {
        (0..<count(sequenceLength: n)).map { window($0, sequenceLength: n, sequence: sequence) }
    }

    /// The windows of every sequence, sequence by sequence; `Window.sequence` is the index in `lengths`.
    public func windows(lengths: [Int]) -> [Window] {
        lengths.enumerated().flatMap { windows(sequenceLength: $0.element, sequence: $0.offset) }
    }

    /// The elements of `window` taken from `sequence`, followed by `padding` up to `window.length`.
    /// (For a batch, give `SequenceBatch` the real part, `sequence[window.range]`: it pads and records the length,
    /// so the padding is masked.)
    ///
    /// - Throws: `BatchingError.invalidArgument` when the window reaches past the end of `sequence`.
    public func extract<C: RandomAccessCollection>(_ window: Window, from sequence: C, padding: C.Element)
        throws(BatchingError) -> [C.Element] where C.Index == Int
    {
        let base = sequence.startIndex
        guard window.start >= 0, window.validLength >= 0, window.validLength <= window.length,
              window.end <= sequence.count
        else {
            throw .invalidArgument("window \(window.start)..<\(window.end) (length \(window.length)) does not fit a "
                + "sequence of \(sequence.count) elements")
        }
        var out = Array(sequence[(base + window.start)..<(base + window.end)])
        out.append(contentsOf: repeatElement(padding, count: window.length - window.validLength))
        return out
    }
}

/// Averages per-window scores (logits, probabilities, embeddings) into one vector per sequence, so a long sequence
/// cut into windows gets a single prediction.
///
/// Each window's vector is weighted by its `validLength` by default (a window that is mostly padding counts less),
/// or equally.
public struct WindowAverager: Sendable {
    /// How windows are weighted.
    public enum Weighting: String, Sendable, Equatable, Codable, CaseIterable {
        /// By the number of real elements.
        case validLength
        /// Equally.
        case uniform
    }

    /// The number of scores per window.
    public let width: Int
    /// The weighting.
    public let weighting: Weighting
    private var sums: [Double]
    private var weights: [Double]

    /// An averager for `sequenceCount` sequences and score vectors of `width` values.
    ///
    /// - Throws: `BatchingError.invalidArgument` when `width` is below 1 or `sequenceCount` below 0.
    public init(sequenceCount: Int, width: Int, weighting: Weighting = .validLength) throws(BatchingError) {
        guard width >= 1 else { throw .invalidArgument("a score width must be at least 1, got \(width)") }
        guard sequenceCount >= 0 else {
            throw .invalidArgument("a sequence count must be at least 0, got \(sequenceCount)")
        }
        self.width = width
        self.weighting = weighting
        sums = [Double](repeating: 0, count: sequenceCount * width)
        weights = [Double](repeating: 0, count: sequenceCount)
    }

    /// Adds the scores of one window.
    ///
    /// - Throws: `BatchingError.invalidArgument` when `scores` does not hold `width` values or the window's sequence
    ///   is outside `0..<sequenceCount`.
    public mutating func add<C: Collection>(_ scores: C, for window: Window) throws(BatchingError)
    where C.Element == Float {
        guard scores.count == width else {
            throw .invalidArgument("expected \(width) scores for a window, got \(scores.count)")
        }
        guard window.sequence >= 0 && window.sequence < weights.count else {
            throw .invalidArgument("window of sequence \(window.sequence), expected 0..<\(weights.count)")
        }
        let w = weighting == .uniform ? 1.0 : Double(window.validLength)
        weights[window.sequence] += w
        for (j, s) in scores.enumerated() { sums[window.sequence * width + j] += w * Double(s) }
    }

    /// The weighted mean of the scores of sequence `sequence`'s windows, or nil when it had none (or only windows
    /// with no real element).
    public func mean(sequence: Int) -> [Float]? {
        precondition(sequence >= 0 && sequence < weights.count, "sequence \(sequence) of \(weights.count)")
        let w = weights[sequence]
        guard w > 0 else { return nil }
        return (0..<width).map { Float(sums[sequence * width + $0] / w) }
    }
}
