// libFuzzer harness: the audio reader on bytes in memory (libsndfile virtual I/O), every way a command reads audio:
// whole reads (interleaved and mono), a frame range, chunks, and the statistics `mambakit inspect` prints.
// A header may claim far more frames than the bytes hold; the reader must fail with a typed error, not reserve
// memory for the claim (libFuzzer's -malloc_limit_mb reports a large allocation as a crash).
import MambaAudio

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let reader: AudioFileReader
    do {
        reader = try AudioFileReader(bytes: bytes, name: "fuzz-input", allowNonFiniteSamples: size % 3 == 0)
    } catch {
        require(!error.description.isEmpty, "empty error message")
        return 0
    }
    let info = reader.info
    require(info.channels >= 1 && info.sampleRate >= 1 && info.frames >= 0, "header accepted: \(info)")
    do {
        let whole = try reader.read()
        require(whole.samples.count == info.frames * info.channels, "read \(whole.samples.count) samples for \(info)")
        let mono = try reader.read(channels: .mono)
        require(mono.samples.count == info.frames, "mono read \(mono.samples.count) samples for \(info.frames) frames")
        let lower = info.frames / 3
        let range = try reader.read(frames: lower..<(info.frames - lower))
        require(range.samples.count == (info.frames - 2 * lower) * info.channels, "range read size")
        var chunks = try reader.chunks(frames: 1 + size % 1000, channels: .mono)
        var total = 0
        while let chunk = try chunks.next() { total += chunk.samples.count }
        require(total == info.frames, "chunks gave \(total) frames of \(info.frames)")
        _ = try reader.statistics()
    } catch {
        require(!error.description.isEmpty, "empty error message")
    }
    return 0
}
