// Windows of a long recording read in chunks, so that a file of any length is cut with memory bounded by one window
// plus one chunk. Reading is strictly forward (chunks decoded in order): windows that overlap are served from the
// buffer, never by seeking back, which for Vorbis, Opus and MP3 would mean decoding from the file's start again.

import MambaAudio

/// One window of a recording: its place in the file and its samples.
public struct AudioWindow: Sendable, Equatable {
    /// Where it lies (in frames): `window.sequence` is the stream's sequence index, `window.start` the first frame.
    public var window: Window
    /// `window.length` frames of `channels` interleaved samples (`channels` is 1 for a mono mix), zero after the
    /// `window.validLength` real frames.
    public var samples: [Float]
    /// Samples per frame.
    public var channels: Int
    /// The file's sample rate in Hz.
    public var sampleRate: Int
}

/// Streams the windows of an audio file (`Windows` in frames) without reading the file whole.
///
/// ```swift
/// let stream = try AudioWindowStream(path: "long.flac", windows: Windows(length: 16_000, hop: 8_000, remainder: .pad))
/// while let w = try stream.next() { scores.append(model(w.samples)) }   // w.window.start: the frame it starts at
/// ```
///
/// Memory: about `window length + chunk` frames. Samples are as the reader gives them (integer PCM in [-1, 1));
/// tokenize or normalize each window afterwards.
public final class AudioWindowStream {
    /// The file's header.
    public let info: AudioInfo
    /// The window plan, in frames.
    public let windows: Windows
    /// Mono mix (default) or all channels interleaved.
    public let channels: ChannelMix
    /// The sequence index written into each `Window` (e.g. the file's index in a dataset).
    public let sequence: Int
    /// The number of windows the file gives.
    public let windowCount: Int
    /// How many windows `next()` has returned.
    public private(set) var windowsRead = 0

    private let reader: AudioFileReader
    private let chunkFrames: Int
    private var chunks: AudioChunks?
    private let samplesPerFrame: Int
    /// Decoded samples; `buffer[offset...]` are frames `bufferStart...`.
    private var buffer: [Float] = []
    private var offset = 0
    private var bufferStart = 0

    /// Streams the windows of an open reader (which the stream then owns: do not read from it meanwhile).
    ///
    /// - Throws: `AudioError.invalidArgument` when `chunkFrames` is below 1.
    public init(reader: AudioFileReader, windows: Windows, channels: ChannelMix = .mono, sequence: Int = 0,
                chunkFrames: Int = 65_536) throws(AudioError) {
        guard chunkFrames >= 1 else {
            throw .invalidArgument("a chunk must hold at least 1 frame, got \(chunkFrames)")
        }
        self.reader = reader
        self.info = reader.info
        self.windows = windows
        self.channels = channels
        self.sequence = sequence
        self.chunkFrames = chunkFrames
        self.samplesPerFrame = channels == .mono ? 1 : reader.info.channels
        self.windowCount = windows.count(sequenceLength: reader.info.frames)
    }

    /// Opens `path` and streams its windows.
    ///
    /// - Throws: as `AudioFileReader(path:)`, and `AudioError.invalidArgument` for `chunkFrames` below 1.
    public convenience init(path: String, windows: Windows, channels: ChannelMix = .mono, sequence: Int = 0,
                            chunkFrames: Int = 65_536) throws(AudioError) {
        try self.init(reader: AudioFileReader(path: path), windows: windows, channels: channels,
                      sequence: sequence, chunkFrames: chunkFrames)
    }

    /// The next window, or nil after the last.
    ///
    /// - Throws: `AudioError.readFailed` (truncated or corrupt data) or `.nonFiniteSample` from the reader.
    public func next() throws(AudioError) -> AudioWindow? {
        guard windowsRead < windowCount else { return nil }
        let w = windows.window(windowsRead, sequenceLength: info.frames, sequence: sequence)
        try fill(from: w.start, to: w.end)
        let c = samplesPerFrame
        let first = offset + (w.start - bufferStart) * c
        var samples = [Float](repeating: 0, count: w.length * c)
        samples.withUnsafeMutableBufferPointer { out in
            buffer.withUnsafeBufferPointer { b in
                for i in 0..<(w.validLength * c) { out[i] = b[first + i] }
            }
        }
        windowsRead += 1
        return AudioWindow(window: w, samples: samples, channels: c, sampleRate: info.sampleRate)
    }

    /// Makes the buffer hold frames `start..<end`, dropping frames before `start` (window starts never decrease).
    private func fill(from start: Int, to end: Int) throws(AudioError) {
        let c = samplesPerFrame
        while true {
            let held = (buffer.count - offset) / c
            let discard = min(max(start - bufferStart, 0), held)
            offset += discard * c
            bufferStart += discard
            if bufferStart + (buffer.count - offset) / c >= end { return }
            if offset == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                offset = 0
            } else if offset > buffer.count / 2 {
                buffer.removeFirst(offset)
                offset = 0
            }
            if chunks == nil { chunks = try reader.chunks(frames: chunkFrames, channels: channels) }
            guard let chunk = try chunks!.next() else {
                throw .readFailed(path: info.path, frame: bufferStart + (buffer.count - offset) / c,
                                  reason: "the stream ended before frame \(end) of the \(info.frames) announced")
            }
            buffer.append(contentsOf: chunk.samples)
        }
    }
}
