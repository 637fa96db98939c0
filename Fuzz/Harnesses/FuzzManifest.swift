// libFuzzer harness: label manifests (TSV or CSV, optionally gzip), as `mambakit train --labels` reads them.
// Invariants of an accepted manifest: ids are unique, each has a non-empty label and a line number.
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
    return 0
}
