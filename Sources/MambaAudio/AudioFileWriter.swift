// Writes WAV files (PCM 16-bit or float 32-bit, any channel count and rate) through libsndfile, into a temporary
// file beside the destination that is renamed into place only when complete.
import CSndFile
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes interleaved Float32 samples to a WAV file, all at once (`AudioFileWriter.write(_:to:format:)`) or
/// block by block for long outputs.
///
/// The data goes to a hidden temporary file in the destination's folder; `finish()` closes it and renames it onto
/// `path` (an atomic replace), so a reader never sees a half-written file and a failure leaves nothing behind.
/// A writer dropped before `finish()` removes its temporary file.
///
/// The output is plain RIFF WAV (format tag 1 or 3, not WAVE_FORMAT_EXTENSIBLE), which every reader accepts. Its
/// 32-bit size fields limit the audio data to 4 GiB: about 37 hours of 16 kHz mono PCM16, 6 hours of 48 kHz stereo
/// Float32; a write past that limit fails.
public final class AudioFileWriter {
    /// The sample encoding of the file.
    public enum SampleFormat: Sendable, Equatable {
        /// Signed 16-bit integers. Samples outside [-1, 1] are clipped to full scale (not wrapped around):
        /// x is stored as x * 32768 rounded to the nearest integer (ties to even), limited to [-32768, 32767],
        /// so reading back gives x within half a step (2^-16) for x in [-1, 32767/32768].
        case pcm16
        /// IEEE Float32, stored exactly as given (values beyond ±1 are kept).
        case float32
    }

    /// The destination path.
    public let path: String
    /// Sample rate in Hz.
    public let sampleRate: Int
    /// Channels per frame.
    public let channels: Int
    /// The encoding written.
    public let format: SampleFormat
    /// Frames written so far.
    public private(set) var framesWritten = 0

    private var handle: OpaquePointer?
    private let temporaryPath: String
    private var finished = false
    /// The most frames the 4 GiB of a WAV file's data can hold, header chunks included (`PEAK` grows with channels).
    private let maxFrames: Int
    /// PCM16 conversion buffer of 64 Ki samples, allocated on the first `pcm16` write: see `writePCM16`.
    private var pcmBlock: [Int16] = []

    /// Opens a temporary file beside `path` for writing.
    ///
    /// - Throws: `AudioError.invalidArgument` for a sample rate or channel count below 1; `.writeFailed` when the
    ///   folder does not exist or is not writable, `path` is a folder, or libsndfile refuses the parameters.
    public init(path: String, sampleRate: Int, channels: Int, format: SampleFormat) throws(AudioError) {
        guard sampleRate >= 1, sampleRate <= Int(Int32.max) else {
            throw .invalidArgument("a sample rate must be between 1 and \(Int32.max) Hz, got \(sampleRate)")
        }
        guard channels >= 1, channels <= Int(Int32.max) else {
            throw .invalidArgument("a file needs at least 1 channel, got \(channels)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .writeFailed(path: path, reason: "it is a folder, expected a file path")
        }
        let destination = URL(fileURLWithPath: path)
        self.temporaryPath = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp").path
        self.path = path
        self.sampleRate = sampleRate
        self.channels = channels
        self.format = format

        let subtype = format == .pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT
        let bytesPerSample = format == .pcm16 ? 2 : 4
        self.maxFrames = (Int(UInt32.max) - 1024 - 8 * channels) / (channels * bytesPerSample)
        var sfInfo = SF_INFO(
            frames: 0, samplerate: Int32(sampleRate), channels: Int32(channels),
            format: Int32(SF_FORMAT_WAV | subtype), sections: 0, seekable: 0)
        guard sf_format_check(&sfInfo) == Int32(SF_TRUE) else {
            throw .writeFailed(
                path: path, reason: "libsndfile cannot write \(channels) channels at \(sampleRate) Hz in this format")
        }
        let temporaryPath = self.temporaryPath
        switch openSndfile({ sf_open(temporaryPath, Int32(SFM_WRITE), &sfInfo) }) {
        case .success(let handle):
            self.handle = handle
        case .failure(let failure):
            throw .writeFailed(path: path, reason: "cannot create \(temporaryPath): \(failure.message)")
        }
    }

    deinit {
        if let handle {
            sf_close(handle)
            unlink(temporaryPath)
        }
    }

    /// Appends interleaved samples: `samples[frame * channels + channel]`.
    ///
    /// - Throws: `AudioError.invalidArgument` when `samples.count` is not a whole number of frames;
    ///   `.nonFiniteSample` naming the frame (counted in the output file) and channel of a NaN or infinity, in which
    ///   case nothing of `samples` is written and the writer stays usable; `.writeFailed` on an I/O error (disk full)
    ///   or past the 4 GiB WAV limit, after which the temporary file is removed and the writer is unusable.
    public func write(_ samples: [Float]) throws(AudioError) {
        guard let handle else {
            throw .writeFailed(path: path, reason: finished ? "the file was already finished" : "an earlier write failed")
        }
        guard samples.count % channels == 0 else {
            throw .invalidArgument(
                "\(samples.count) samples are not a whole number of frames of \(channels) channels "
                    + "(\(samples.count % channels) left over)")
        }
        let frames = samples.count / channels
        if let index = samples.withUnsafeBufferPointer(firstNonFiniteIndex) {
            throw .nonFiniteSample(
                path: path, frame: framesWritten + index / channels, channel: index % channels, value: samples[index])
        }
        guard framesWritten + frames <= maxFrames else {
            abandon()
            throw .writeFailed(
                path: path,
                reason: "a WAV file holds at most \(maxFrames) frames of \(channels) channels in this format "
                    + "(4 GiB of data); this write would make \(framesWritten + frames)")
        }
        let written: Int
        switch format {
        case .float32:
            written = samples.withUnsafeBufferPointer { Int(sf_writef_float(handle, $0.baseAddress!, sf_count_t(frames))) }
        case .pcm16:
            written = writePCM16(samples, frames: frames, to: handle)
        }
        guard written == frames else {
            let message = String(cString: sf_strerror(handle))
            abandon()
            throw .writeFailed(path: path, reason: "wrote \(written) of \(frames) frames (\(message))")
        }
        framesWritten += frames
    }

    /// Quantises and writes block by block; returns the frames written (fewer only on an I/O error).
    ///
    /// libsndfile's own clipping float-to-short conversion rounds toward minus infinity (its result is an int
    /// shifted right by 16: -0.9 becomes -29492, not -29491), a bias of half a step; rounding here keeps the error
    /// within half a step and centred.
    private func writePCM16(_ samples: [Float], frames: Int, to handle: OpaquePointer) -> Int {
        let blockFrames = max(1, (1 << 16) / channels)
        if pcmBlock.isEmpty { pcmBlock = [Int16](repeating: 0, count: blockFrames * channels) }
        var done = 0
        while done < frames {
            let count = min(blockFrames, frames - done)
            let got = pcmBlock.withUnsafeMutableBufferPointer { block in
                samples.withUnsafeBufferPointer { source in
                    for i in 0..<(count * channels) { block[i] = quantize(source[done * channels + i]) }
                    return Int(sf_writef_short(handle, block.baseAddress!, sf_count_t(count)))
                }
            }
            done += got
            if got < count { break }
        }
        return done
    }

    /// Appends a buffer, whose channel count and sample rate must match the writer's.
    ///
    /// - Throws: `AudioError.invalidArgument` on a mismatch; otherwise as `write(_:)` for its samples.
    public func write(_ buffer: AudioBuffer) throws(AudioError) {
        guard buffer.channels == channels, buffer.sampleRate == sampleRate else {
            throw .invalidArgument(
                "the buffer has \(buffer.channels) channels at \(buffer.sampleRate) Hz; \(path) is being written "
                    + "with \(channels) channels at \(sampleRate) Hz")
        }
        try write(buffer.samples)
    }

    /// Completes the header, flushes the file to disk and renames it onto `path`, replacing any file there.
    /// A writer with no frames written produces a valid WAV file of 0 frames.
    ///
    /// - Throws: `AudioError.writeFailed`; the temporary file is then removed.
    public func finish() throws(AudioError) {
        guard let handle else {
            throw .writeFailed(path: path, reason: finished ? "the file was already finished" : "an earlier write failed")
        }
        sf_write_sync(handle)  // fsync, so a rename after a crash cannot point at unwritten data
        self.handle = nil
        let closeStatus = sf_close(handle)
        guard closeStatus == 0 else {
            unlink(temporaryPath)
            throw .writeFailed(path: path, reason: String(cString: sf_error_number(closeStatus)))
        }
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .writeFailed(path: path, reason: "cannot move the finished file into place: \(reason)")
        }
        finished = true
    }

    /// Writes `buffer` to `path` in one call: open, write, finish.
    ///
    /// - Throws: as `init`, `write(_:)` and `finish()`; nothing is left at `path` or beside it after a failure.
    public static func write(_ buffer: AudioBuffer, to path: String, format: SampleFormat) throws(AudioError) {
        let writer = try AudioFileWriter(
            path: path, sampleRate: buffer.sampleRate, channels: buffer.channels, format: format)
        try writer.write(buffer.samples)
        try writer.finish()
    }

    /// Closes and deletes the temporary file after an I/O error.
    private func abandon() {
        if let handle {
            sf_close(handle)
            unlink(temporaryPath)
        }
        handle = nil
    }
}

/// x * 32768 clipped to the Int16 range and rounded to the nearest integer (ties to even); x must be finite.
@inline(__always)
func quantize(_ x: Float) -> Int16 {
    let y = min(max(x * 32768, -32768), 32767)
    // Adding and subtracting 1.5 * 2^23 leaves y rounded to an integer in the default rounding mode (to nearest,
    // ties to even), for |y| < 2^22. Two adds vectorise on plain SSE2, where `rounded()` is a libm call per sample.
    let roundingShift: Float = 12_582_912
    return Int16((y + roundingShift) - roundingShift)
}
