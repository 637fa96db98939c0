// Reads any format libsndfile decodes (WAV, FLAC, OGG/Vorbis, AIFF, ...) as Float32: whole, by frame range,
// or in fixed-size chunks with constant memory.
import CSndFile
import Foundation

/// How a read returns the channels of a multi-channel file.
public enum ChannelMix: Sendable, Equatable {
    /// All channels, interleaved: `samples[frame * channels + channel]`.
    case interleaved
    /// One channel: the mean of all channels in each frame.
    case mono
}

/// An open audio file (or in-memory audio bytes), decoded by libsndfile.
///
/// Samples come as Float32: integer PCM is scaled into [-1, 1) (`SFC_SET_NORM_FLOAT`); float files are passed on
/// as stored, so they may exceed ±1. A NaN or infinite sample is an `AudioError.nonFiniteSample` naming the frame
/// and channel, unless the reader was opened with `allowNonFiniteSamples: true`.
///
/// Reads seek to the frames they need, so whole reads, range reads, chunk iterators and statistics may be mixed
/// freely on one reader, and a range always holds the same samples as that slice of a whole read. A reader is not
/// safe to use from two threads at once: open one per thread.
public final class AudioFileReader {
    /// The file's header: rate, channels, frames, format.
    public let info: AudioInfo
    /// Whether NaN and infinite samples are passed on instead of raising `AudioError.nonFiniteSample`.
    public let allowsNonFiniteSamples: Bool

    /// Where the data comes from, so that the stream can be opened again (see `seekByDecoding`).
    private enum Origin {
        case file(String)
        /// Also keeps the bytes alive while libsndfile holds a raw pointer to them.
        case memory(InMemoryByteSource)
    }

    private let origin: Origin
    private var handle: OpaquePointer
    /// libsndfile's `SF_INFO.format` code, to recognise the same stream when it is opened again.
    private let sndfileFormat: Int32
    /// Whether `sf_seek` lands on exactly the samples a decode from the start gives (see `hasExactSeek`).
    private let seeksExactly: Bool
    /// Size of the encoded input in bytes: bounds how much a header's frame count is believed (see `read(frames:)`).
    private let encodedByteCount: Int
    /// Whether every sample takes at least one byte of the input (uncompressed encodings), so that honest files
    /// have at most `encodedByteCount` samples.
    private let isUncompressed: Bool
    /// The frame `sf_readf_float` returns next; nil when unknown (after a failed read or seek).
    private var position: Int? = 0
    /// One block of interleaved samples, reused by every read: a range of any length is decoded block by block.
    private let scratch: UnsafeMutableBufferPointer<Float>
    private let scratchFrames: Int

    /// Samples decoded per block: 64 Ki Float32 = 256 KiB, small enough for L2, large enough to amortise calls.
    private static let blockSamples = 1 << 16
    /// The fewest samples a read may reserve up front even when the input is small (16 Mi samples, 64 MiB).
    private static let minimumReservationBound = 1 << 24

    /// Opens the audio file at `path` and reads its header.
    ///
    /// - Throws: `AudioError.fileNotFound`, `.unreadable` (a folder, no permission), `.unsupportedFormat` (not audio,
    ///   an empty file, an encoding libsndfile lacks) or `.malformedFile` (a broken header), with libsndfile's message.
    public convenience init(path: String, allowNonFiniteSamples: Bool = false) throws(AudioError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue {
            throw .unreadable(path: path, reason: "it is a folder, expected an audio file")
        }
        // libsndfile reports an empty file as "Format not recognised."; say what is actually wrong.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 {
            throw .unsupportedFormat(path: path, reason: "the file is empty (0 bytes)")
        }
        try self.init(origin: .file(path), name: path, byteCount: size ?? 0,
                      allowNonFiniteSamples: allowNonFiniteSamples)
    }

    /// Opens audio held in memory (the bytes of a WAV, FLAC, ... file) through libsndfile's virtual I/O.
    ///
    /// - Parameters:
    ///   - bytes: the whole encoded file.
    ///   - name: used in place of a path in `info` and in error messages.
    ///   - allowNonFiniteSamples: accept NaN or infinite samples (float formats) instead of throwing.
    /// - Throws: as `init(path:)`, except `.fileNotFound` and `.unreadable`.
    public convenience init(bytes: [UInt8], name: String = "<memory>", allowNonFiniteSamples: Bool = false)
        throws(AudioError)
    {
        if bytes.isEmpty {
            throw .unsupportedFormat(path: name, reason: "the data is empty (0 bytes)")
        }
        try self.init(origin: .memory(InMemoryByteSource(bytes)), name: name, byteCount: bytes.count,
                      allowNonFiniteSamples: allowNonFiniteSamples)
    }

    private init(origin: Origin, name: String, byteCount: Int, allowNonFiniteSamples: Bool) throws(AudioError) {
        let (handle, sfInfo) = try Self.open(origin, name: name)
        // libsndfile checks these for the formats it knows; a reader must never divide by a zero it missed.
        guard sfInfo.channels >= 1, sfInfo.samplerate >= 1, sfInfo.frames >= 0 else {
            sf_close(handle)
            throw .malformedFile(
                path: name,
                reason: "header gives \(sfInfo.channels) channels, \(sfInfo.samplerate) Hz, \(sfInfo.frames) frames; "
                    + "expected at least 1 channel and 1 Hz")
        }
        // SF_COUNT_MAX is libsndfile's "length unknown" (a stream without a length field).
        guard sfInfo.frames < Int64.max else {
            sf_close(handle)
            throw .malformedFile(path: name, reason: "the header does not give the number of frames")
        }
        self.origin = origin
        self.handle = handle
        self.sndfileFormat = sfInfo.format
        self.seeksExactly = hasExactSeek(sndfileFormat: sfInfo.format)
        self.isUncompressed = isUncompressedEncoding(sndfileFormat: sfInfo.format)
        self.encodedByteCount = byteCount
        self.allowsNonFiniteSamples = allowNonFiniteSamples
        self.info = AudioInfo(
            path: name, sampleRate: Int(sfInfo.samplerate), channels: Int(sfInfo.channels), frames: Int(sfInfo.frames),
            formatName: formatName(sndfileFormat: sfInfo.format))
        self.scratchFrames = max(1, Self.blockSamples / info.channels)
        self.scratch = .allocate(capacity: scratchFrames * info.channels)
    }

    /// Opens `origin` with libsndfile for reading, with samples normalised to [-1, 1).
    private static func open(_ origin: Origin, name: String) throws(AudioError) -> (OpaquePointer, SF_INFO) {
        var sfInfo = SF_INFO()
        let handle: OpaquePointer
        switch origin {
        case .file(let path):
            handle = try openForReading(path: name) { sf_open(path, Int32(SFM_READ), &sfInfo) }
        case .memory(let source):
            source.position = 0
            var callbacks = InMemoryByteSource.callbacks
            handle = try openForReading(path: name) {
                sf_open_virtual(&callbacks, Int32(SFM_READ), &sfInfo, Unmanaged.passUnretained(source).toOpaque())
            }
        }
        sf_command(handle, Int32(SFC_SET_NORM_FLOAT), nil, Int32(SF_TRUE))
        return (handle, sfInfo)
    }

    deinit {
        sf_close(handle)
        scratch.deallocate()
    }

    // MARK: - Reading

    /// The whole file as one buffer.
    ///
    /// - Throws: `AudioError.noFrames` for a file without frames; `.readFailed` when the data ends before the
    ///   frames the header announced; `.nonFiniteSample` (unless allowed).
    public func read(channels mix: ChannelMix = .interleaved) throws(AudioError) -> AudioBuffer {
        guard info.frames > 0 else { throw .noFrames(path: info.path) }
        return try read(frames: 0..<info.frames, channels: mix)
    }

    /// Frames `range` (counted from 0), decoded after a seek: the frames before it are not decoded.
    /// An empty range gives an empty buffer.
    ///
    /// - Throws: `AudioError.frameRangeOutOfBounds` when `range` reaches outside `0..<info.frames`; `.readFailed`;
    ///   `.nonFiniteSample` (unless allowed).
    public func read(frames range: Range<Int>, channels mix: ChannelMix = .interleaved) throws(AudioError)
        -> AudioBuffer
    {
        guard range.lowerBound >= 0, range.upperBound <= info.frames else {
            throw .frameRangeOutOfBounds(path: info.path, requested: range, frameCount: info.frames)
        }
        let outputChannels = mix == .mono ? 1 : info.channels
        var samples: [Float] = []
        samples.reserveCapacity(reservation(frames: range.count, channels: outputChannels))
        var frame = range.lowerBound
        while frame < range.upperBound {
            let count = min(scratchFrames, range.upperBound - frame)
            let start = samples.count
            samples.append(contentsOf: repeatElement(0, count: count * outputChannels))
            try samples.withUnsafeMutableBufferPointer { (output) throws(AudioError) in
                let destination = output.baseAddress! + start
                if mix == .mono && info.channels > 1 {
                    try decodeBlock(frames: frame..<(frame + count), into: scratch.baseAddress!)
                    mixToMono(frames: count, into: destination)
                } else {
                    // Interleaved (or already mono): decode straight into the result, no copy.
                    try decodeBlock(frames: frame..<(frame + count), into: destination)
                }
            }
            frame += count
        }
        return AudioBuffer(validated: samples, channels: outputChannels, sampleRate: info.sampleRate)
    }

    /// An iterator over consecutive chunks of `frames` frames each (the last one shorter), for recordings too long
    /// to hold in memory: memory stays at one chunk whatever the file's length.
    ///
    /// ```swift
    /// var chunks = try reader.chunks(frames: 16_000, channels: .mono)
    /// while let chunk = try chunks.next() { process(chunk.samples) }
    /// ```
    /// - Throws: `AudioError.invalidArgument` when `frames` is below 1; `.noFrames` for a file without frames.
    public func chunks(frames: Int, channels mix: ChannelMix = .interleaved) throws(AudioError) -> AudioChunks {
        guard frames >= 1 else {
            throw .invalidArgument("a chunk must hold at least 1 frame, got \(frames)")
        }
        guard info.frames > 0 else { throw .noFrames(path: info.path) }
        return AudioChunks(reader: self, chunkFrames: frames, channels: mix)
    }

    /// Peak and RMS over every sample of every channel, decoded block by block (constant memory).
    ///
    /// - Throws: `AudioError.noFrames`, `.readFailed`, `.nonFiniteSample` (unless allowed: then the statistics are
    ///   NaN or infinite as the samples are).
    public func statistics() throws(AudioError) -> AudioStatistics {
        guard info.frames > 0 else { throw .noFrames(path: info.path) }
        var accumulator = AudioStatistics.Accumulator()
        var frame = 0
        while frame < info.frames {
            let count = min(scratchFrames, info.frames - frame)
            try decodeBlock(frames: frame..<(frame + count), into: scratch.baseAddress!)
            accumulator.add(UnsafeBufferPointer(rebasing: scratch[0..<(count * info.channels)]))
            frame += count
        }
        return accumulator.result
    }

    /// How many samples to reserve for `frames` frames of `channels`: all of them when the input could hold them,
    /// else a bound, beyond which the result grows as data actually arrives. A header may lie (a FLAC STREAMINFO
    /// can announce 2^36 frames in a 100-byte file); believing it would abort on a failed allocation.
    /// Uncompressed encodings store at least one byte per sample; compressed ones are given 2 samples per byte
    /// (FLAC, Vorbis, Opus and MP3 at common rates decode to 0.5-12 samples per byte; more means regrowth).
    private func reservation(frames: Int, channels: Int) -> Int {
        let (wanted, overflow) = frames.multipliedReportingOverflow(by: channels)
        let believable = max(Self.minimumReservationBound, isUncompressed ? encodedByteCount : 2 * encodedByteCount)
        return overflow ? believable : min(wanted, believable)
    }

    // MARK: - Decoding one block

    /// Decodes `frames` (at most `scratchFrames` of them) into `destination` (room for `frames.count * channels`
    /// floats), interleaved, and checks them.
    private func decodeBlock(frames: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws(AudioError) {
        if position == nil {
            // After a failed read or seek the decoder's state is unknown (libFLAC refuses to seek after a truncated
            // frame): start again from a fresh stream.
            try reopen()
        }
        if position != frames.lowerBound {
            if seeksExactly {
                let landed = sf_seek(handle, sf_count_t(frames.lowerBound), Int32(SEEK_SET))
                guard landed == frames.lowerBound else {
                    position = nil
                    throw .readFailed(
                        path: info.path, frame: frames.lowerBound,
                        reason: "seek to frame \(frames.lowerBound) failed (\(String(cString: sf_strerror(handle))))")
                }
                position = frames.lowerBound
            } else {
                try seekByDecoding(to: frames.lowerBound)
            }
        }
        var done = 0
        while done < frames.count {
            let got = Int(sf_readf_float(handle, destination + done * info.channels,
                                         sf_count_t(frames.count - done)))
            if got <= 0 { break }
            done += got
        }
        guard done == frames.count else {
            position = nil
            let code = sf_error(handle)
            let detail = code != 0 ? " (\(String(cString: sf_strerror(handle))))" : ""
            throw .readFailed(
                path: info.path, frame: frames.lowerBound + done,
                reason: "the header announces \(info.frames) frames but the audio data ends at frame "
                    + "\(frames.lowerBound + done)\(detail): the file is truncated or corrupt")
        }
        position = frames.upperBound
        if !allowsNonFiniteSamples,
           let index = firstNonFiniteIndex(UnsafeBufferPointer(start: destination, count: done * info.channels))
        {
            throw .nonFiniteSample(
                path: info.path, frame: frames.lowerBound + index / info.channels, channel: index % info.channels,
                value: destination[index])
        }
    }

    /// Moves to `target` by decoding and discarding frames, from the current position when it lies before
    /// `target`, else from a freshly opened stream. libsndfile 1.2's `sf_seek` into Vorbis, Opus and MP3 streams can
    /// land a few hundred frames off or return a not yet converged decoder state (libsndfile issue #885; measured
    /// here: 38 % of random Vorbis seeks, 56 % of mono MP3 and 5 % of stereo Opus seeks gave other samples than a
    /// full decode), so exact positioning costs decoding everything before the target.
    private func seekByDecoding(to target: Int) throws(AudioError) {
        if position == nil || position! > target { try reopen() }
        var current = position ?? 0
        while current < target {
            let got = Int(sf_readf_float(handle, scratch.baseAddress!, sf_count_t(min(scratchFrames, target - current))))
            guard got > 0 else {
                position = nil
                throw .readFailed(
                    path: info.path, frame: current,
                    reason: "the header announces \(info.frames) frames but the audio data ends at frame \(current): "
                        + "the file is truncated or corrupt")
            }
            current += got
        }
        position = current
    }

    /// Replaces the handle with a freshly opened one at frame 0.
    private func reopen() throws(AudioError) {
        let (fresh, sfInfo) = try Self.open(origin, name: info.path)
        // A file replaced on disk since it was opened must not be read with the old header: more channels than
        // the scratch block was sized for would overrun it.
        guard Int(sfInfo.channels) == info.channels, Int(sfInfo.samplerate) == info.sampleRate,
              Int(sfInfo.frames) == info.frames, sfInfo.format == sndfileFormat
        else {
            sf_close(fresh)
            throw .readFailed(
                path: info.path, frame: 0,
                reason: "the file changed since it was opened (now \(sfInfo.channels) channels, \(sfInfo.samplerate) Hz, "
                    + "\(sfInfo.frames) frames)")
        }
        sf_close(handle)
        handle = fresh
        position = 0
    }

    /// Writes the mean of the channels of each of the first `frames` frames of `scratch` to `destination`.
    private func mixToMono(frames: Int, into destination: UnsafeMutablePointer<Float>) {
        let channels = info.channels
        let scale = 1 / Float(channels)
        for f in 0..<frames {
            var sum: Float = 0
            for c in 0..<channels { sum += scratch[f * channels + c] }
            destination[f] = sum * scale
        }
    }
}

/// Runs `open` (an `sf_open` or `sf_open_virtual` call for reading) and turns a NULL result into a typed error
/// carrying libsndfile's message.
private func openForReading(path: String, _ open: () -> OpaquePointer?) throws(AudioError) -> OpaquePointer {
    switch openSndfile(open) {
    case .success(let handle):
        return handle
    case .failure(let failure):
        switch failure.code {
        case SF_ERR_SYSTEM:
            throw .unreadable(path: path, reason: failure.message)
        case SF_ERR_UNRECOGNISED_FORMAT, SF_ERR_UNSUPPORTED_ENCODING:
            throw .unsupportedFormat(path: path, reason: failure.message)
        default:
            // SF_ERR_MALFORMED_FILE and libsndfile's many format-specific codes ("No 'data' chunk marker.", ...)
            throw .malformedFile(path: path, reason: failure.message)
        }
    }
}

/// Whether every sample of this encoding takes at least one byte: PCM, float, mu-law and A-law, outside FLAC,
/// OGG and MPEG containers.
private func isUncompressedEncoding(sndfileFormat format: Int32) -> Bool {
    let major = Int(format) & SF_FORMAT_TYPEMASK
    return hasFixedSizeSamples(sndfileFormat: format) && major != SF_FORMAT_FLAC
}

/// Whether the subtype stores every sample in a fixed number of bytes, and the container does not compress it.
private func hasFixedSizeSamples(sndfileFormat format: Int32) -> Bool {
    let major = Int(format) & SF_FORMAT_TYPEMASK
    let subtype = Int(format) & SF_FORMAT_SUBMASK
    let fixedSizeSubtypes = [SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_PCM_32,
                             SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE, SF_FORMAT_ULAW, SF_FORMAT_ALAW]
    // OGG and MPEG never carry these subtypes in practice; a damaged header might claim it.
    return fixedSizeSubtypes.contains(subtype) && major != SF_FORMAT_OGG && major != SF_FORMAT_MPEG
}

/// Whether libsndfile's `sf_seek` is sample-exact for this encoding: uncompressed PCM, float, mu-law and A-law
/// (fixed bytes per frame), and FLAC (libFLAC seeks to the sample). Everything else is positioned by decoding.
private func hasExactSeek(sndfileFormat format: Int32) -> Bool {
    // FLAC keeps the PCM subtypes, so this covers it too.
    hasFixedSizeSamples(sndfileFormat: format)
}
