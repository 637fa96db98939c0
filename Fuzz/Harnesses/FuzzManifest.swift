// libFuzzer harness: the two manifest readers, on the same bytes: FASTA label manifests (`LabelManifest`: TSV or
// CSV with id and label columns, optionally gzip) and audio clip manifests (`ClipDataset(manifest:)`: file and label
// columns, each file resolved next to the manifest and required to exist).
// Invariants of an accepted manifest: ids (files) are unique, each has a non-empty label and a line number.
import MambaAudio
import MambaGenomics

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    do {
        let manifest = try LabelManifest(path: path)
        require(Set(manifest.ids).count == manifest.ids.count, "repeated ids accepted")
        require(manifest.labels.count == manifest.count && manifest.lines.count == manifest.count, "tables disagree")
        for id in manifest.ids {
            require(!id.isEmpty && !(manifest[id]?.isEmpty ?? true), "empty id or label for '\(id)'")
            require((manifest.lines[id] ?? 0) >= 1, "no line for '\(id)'")
        }
        _ = manifest.distinctLabels
    } catch {
        require(!error.description.isEmpty, "empty error message")
    }
    do {
        let clips = try ClipDataset(manifest: path)
        require(clips.count > 0 && !clips.labels.isEmpty, "accepted a manifest without clips or labels")
        require(Set(clips.clips.map(\.path)).count == clips.count, "a clip listed twice was accepted")
        for clip in clips.clips {
            require(clip.labelIndex >= 0 && clip.labelIndex < clips.labels.count && (clip.line ?? 0) >= 1, "bad clip \(clip)")
        }
    } catch {
        require(!error.description.isEmpty, "empty error message")
    }
    return 0
}
