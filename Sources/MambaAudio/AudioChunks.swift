// Iterating over a long recording in fixed-size chunks, with memory bounded by one chunk.

/// Consecutive chunks of a file, each an `AudioBuffer` of `chunkFrames` frames (the last one shorter).
///
/// Not a `Sequence`: `IteratorProtocol.next()` cannot throw, and a read error in the middle of a recording must
/// not end a `for` loop as if the file were over. Iterate with `while let chunk = try chunks.next() { ... }`.
public struct AudioChunks {
    /// Frames per chunk (the last chunk may be shorter).
    public let chunkFrames: Int
    /// Whether chunks keep all channels or mix them to mono.
    public let channels: ChannelMix
    private let reader: AudioFileReader
    private var nextFrame = 0

    init(reader: AudioFileReader, chunkFrames: Int, channels: ChannelMix) {
        self.reader = reader
        self.chunkFrames = chunkFrames
        self.channels = channels
    }

    /// The next chunk, or nil after the last one.
    ///
    /// - Throws: `AudioError.readFailed` or `.nonFiniteSample` (unless allowed) for the chunk's frames.
    public mutating func next() throws(AudioError) -> AudioBuffer? {
        guard nextFrame < reader.info.frames else { return nil }
        let end = min(nextFrame + chunkFrames, reader.info.frames)
        let chunk = try reader.read(frames: nextFrame..<end, channels: channels)
        nextFrame = end
        return chunk
    }
}
