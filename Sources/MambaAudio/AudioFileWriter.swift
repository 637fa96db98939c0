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
/// Files past 4 GiB, where the RIFF size fields overflow, are written as RF64; smaller ones as plain WAV
/// (libsndfile's `SFC_RF64_AUTO_DOWNGRADE`).
public final class AudioFileWriter {
    /// The sample encoding of the file.
    public enum SampleFormat: Sendable, Equatable {
        /// Signed 16-bit integers. Samples outside [-1, 1] are clipped to full scale (not wrapped around);
        /// x is stored as round(x * 32768), limited to [-32768, 32767].
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
        var sfInfo = SF_INFO(
            frames: 0, samplerate: Int32(sampleRate), channels: Int32(channels),
            format: Int32(SF_FORMAT_RF64 | subtype), sections: 0, seekable: 0)
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
        // Both must be set before the first sample is written.
        sf_command(handle, Int32(SFC_RF64_AUTO_DOWNGRADE), nil, Int32(SF_TRUE))
        // Without clipping libsndfile converts 1.5 to a wrapped-around negative integer.
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
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
    ///   case nothing of `samples` is written and the writer stays usable; `.writeFailed` on an I/O error (disk full),
    ///   after which the temporary file is removed and the writer is unusable.
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
        let result: Result<Int, AudioError> = samples.withUnsafeBufferPointer { buffer in
            if let index = firstNonFiniteIndex(buffer) {
                return .failure(.nonFiniteSample(
                    path: path, frame: framesWritten + index / channels, channel: index % channels,
                    value: buffer[index]))
            }
            guard let base = buffer.baseAddress else { return .success(0) }
            return .success(Int(sf_writef_float(handle, base, sf_count_t(frames))))
        }
        let written = try result.get()
        guard written == frames else {
            let message = String(cString: sf_strerror(handle))
            abandon()
            throw .writeFailed(path: path, reason: "wrote \(written) of \(frames) frames (\(message))")
        }
        framesWritten += frames
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
