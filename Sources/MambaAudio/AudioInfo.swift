// What an audio file holds, from its header: rate, channels, length and a human name for its format.
import CSndFile

/// The header of an opened audio file.
public struct AudioInfo: Sendable, Equatable, CustomStringConvertible {
    /// The path the file was opened from (or the name given to an in-memory reader).
    public let path: String
    /// Sample rate in Hz.
    public let sampleRate: Int
    /// Number of interleaved channels.
    public let channels: Int
    /// Number of frames (samples per channel).
    public let frames: Int
    /// Container and encoding in a few words, e.g. "WAV PCM 24-bit", "FLAC PCM 16-bit", "OGG Vorbis",
    /// "WAV float 32-bit". Built from libsndfile's own format names (`SFC_GET_FORMAT_INFO`), shortened.
    public let formatName: String

    /// Length in seconds: `frames / sampleRate`.
    public var duration: Double { Double(frames) / Double(sampleRate) }

    /// One line, e.g. "speech.wav: WAV PCM 16-bit, 16000 Hz, 1 channel, 48000 frames (3.000 s)".
    public var description: String {
        let seconds = (duration * 1000).rounded() / 1000
        return "\(path): \(formatName), \(sampleRate) Hz, \(channels) channel\(channels == 1 ? "" : "s"), "
            + "\(frames) frames (\(seconds) s)"
    }
}

// MARK: - Format names

/// "WAV PCM 24-bit" from an `SF_INFO.format` code: the container's name from libsndfile without its parenthesised
/// gloss ("WAV (Microsoft)" -> "WAV"), then the encoding.
func formatName(sndfileFormat format: Int32) -> String {
    let major = format & Int32(SF_FORMAT_TYPEMASK)
    let subtype = format & Int32(SF_FORMAT_SUBMASK)
    let majorName: String
    if major == Int32(SF_FORMAT_NIST) {
        majorName = "NIST Sphere"  // libsndfile calls it "WAV (NIST Sphere)": not a RIFF WAV
    } else {
        let full = sndfileFormatName(major) ?? "format 0x" + String(UInt32(major), radix: 16)
        majorName = full.split(separator: " (", maxSplits: 1).first.map(String.init) ?? full
    }
    return "\(majorName) \(subtypeName(subtype))"
}

/// The encoding in the words an audio engineer uses; libsndfile's own name for the rarer ones.
private func subtypeName(_ subtype: Int32) -> String {
    switch Int(subtype) {
    case SF_FORMAT_PCM_S8: return "PCM 8-bit"
    case SF_FORMAT_PCM_U8: return "PCM 8-bit unsigned"
    case SF_FORMAT_PCM_16: return "PCM 16-bit"
    case SF_FORMAT_PCM_24: return "PCM 24-bit"
    case SF_FORMAT_PCM_32: return "PCM 32-bit"
    case SF_FORMAT_FLOAT: return "float 32-bit"
    case SF_FORMAT_DOUBLE: return "float 64-bit"
    case SF_FORMAT_VORBIS: return "Vorbis"
    case SF_FORMAT_OPUS: return "Opus"
    case SF_FORMAT_ULAW: return "mu-law"
    case SF_FORMAT_ALAW: return "A-law"
    case SF_FORMAT_MPEG_LAYER_I: return "Layer I"
    case SF_FORMAT_MPEG_LAYER_II: return "Layer II"
    case SF_FORMAT_MPEG_LAYER_III: return "Layer III"
    default:
        return sndfileFormatName(subtype) ?? "encoding 0x" + String(UInt32(subtype), radix: 16)
    }
}

/// libsndfile's name for one major format or one subtype code (`SFC_GET_FORMAT_INFO`); nil if it has none.
private func sndfileFormatName(_ code: Int32) -> String? {
    var info = SF_FORMAT_INFO(format: code, name: nil, extension: nil)
    let status = sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
    guard status == 0, let name = info.name else { return nil }
    return String(cString: name)
}
