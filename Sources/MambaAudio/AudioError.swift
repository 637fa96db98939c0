// Errors raised by MambaAudio: each says what was expected, what was found and where (file, frame, channel).

/// Everything that can go wrong while reading or writing audio with MambaAudio.
///
/// Messages from libsndfile (`sf_strerror`) are carried verbatim in `reason`, so a malformed header is described
/// in libsndfile's own words. Paths are as given by the caller; an in-memory reader uses the name it was given.
public enum AudioError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file or folder exists at `path`.
    case fileNotFound(path: String)
    /// The file exists but cannot be read as a file: a folder, no permission, or an I/O error.
    case unreadable(path: String, reason: String)
    /// libsndfile does not recognise the data as any audio format it reads (a text file, an empty file), or the
    /// container is known but its encoding is not supported.
    case unsupportedFormat(path: String, reason: String)
    /// The format is recognised but the file is broken: a truncated or inconsistent header, a missing chunk.
    case malformedFile(path: String, reason: String)
    /// The file opened but holds no audio frames, so there is nothing to read.
    case noFrames(path: String)
    /// A frame range reaches outside `0..<frameCount`.
    case frameRangeOutOfBounds(path: String, requested: Range<Int>, frameCount: Int)
    /// Decoding stopped before the frames the header announced: truncated or corrupt audio data.
    /// `frame` is the first frame that could not be read.
    case readFailed(path: String, frame: Int, reason: String)
    /// A NaN or infinite sample, at `frame` and `channel` (both counted from 0).
    case nonFiniteSample(path: String, frame: Int, channel: Int, value: Float)
    /// An argument outside what the function accepts (a chunk size of 0, samples not a whole number of frames, ...).
    case invalidArgument(String)
    /// Writing `path` failed, or the writer was used after `finish()` or after an earlier failure. A failed
    /// writer removes its temporary file and leaves `path` as it was.
    case writeFailed(path: String, reason: String)

    /// A one-line message naming the file, what was expected and what was found.
    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "audio file not found: \(path)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .unsupportedFormat(let path, let reason):
            return "\(path): not an audio format libsndfile can read (\(reason))"
        case .malformedFile(let path, let reason):
            return "\(path): malformed audio file (\(reason))"
        case .noFrames(let path):
            return "\(path): the file holds no audio frames (expected at least one)"
        case .frameRangeOutOfBounds(let path, let requested, let frameCount):
            return "\(path): frame range \(requested.lowerBound)..<\(requested.upperBound) is outside the file, "
                + "which has \(frameCount) frames (valid range 0..<\(frameCount))"
        case .readFailed(let path, let frame, let reason):
            return "\(path): reading failed at frame \(frame): \(reason)"
        case .nonFiniteSample(let path, let frame, let channel, let value):
            return "\(path): non-finite sample \(value) at frame \(frame), channel \(channel) (both counted from 0); "
                + "expected finite samples"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }

    /// Equal cases with equal payloads. Two NaN sample values count as equal, so a test can name the error it expects
    /// (synthesised equality would make every `.nonFiniteSample(..., value: .nan)` unequal to itself).
    public static func == (lhs: AudioError, rhs: AudioError) -> Bool {
        switch (lhs, rhs) {
        case let (.fileNotFound(a), .fileNotFound(b)):
            return a == b
        case let (.unreadable(a, r), .unreadable(b, s)),
             let (.unsupportedFormat(a, r), .unsupportedFormat(b, s)),
             let (.malformedFile(a, r), .malformedFile(b, s)),
             let (.writeFailed(a, r), .writeFailed(b, s)):
            return a == b && r == s
        case let (.noFrames(a), .noFrames(b)):
            return a == b
        case let (.frameRangeOutOfBounds(a, r, n), .frameRangeOutOfBounds(b, s, m)):
            return a == b && r == s && n == m
        case let (.readFailed(a, f, r), .readFailed(b, g, s)):
            return a == b && f == g && r == s
        case let (.nonFiniteSample(a, f, c, x), .nonFiniteSample(b, g, d, y)):
            return a == b && f == g && c == d && (x == y || (x.isNaN && y.isNaN))
        case let (.invalidArgument(a), .invalidArgument(b)):
            return a == b
        default:
            return false
        }
    }
}
