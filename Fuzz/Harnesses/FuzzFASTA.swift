// libFuzzer harness: the FASTA reader (plain, gzip, multi-member gzip, BGZF; detected from the first bytes).
//
// Oracle besides "no crash, no sanitizer report, no huge allocation": the records and the error must not depend on
// the block size the reader decodes into (lines, headers and gzip members straddle blocks differently), so each
// input is read twice, with a tiny block (chosen from the input's length, 1-13 bytes) and the default 256 KiB block.
import MambaGenomics

private func readAll(_ path: String, blockSize: Int, uppercase: Bool) -> (records: [FASTARecord], error: FASTAError?) {
    var records: [FASTARecord] = []
    do {
        let reader = try FASTAReader(path: path, options: .init(uppercase: uppercase, blockSize: blockSize))
        while let record = try reader.next() {
            records.append(record)
            require(reader.recordsRead == records.count, "recordsRead \(reader.recordsRead) != \(records.count)")
        }
        // A finished reader stays finished.
        require((try? reader.next()) == nil, "next() after the end gave a record")
        return (records, nil)
    } catch {
        require(!error.description.isEmpty, "empty error message")
        require(error.file == path, "error names \(error.file), not \(path)")
        return (records, error)
    }
}

/// The error's case name ("corruptGzip"), nil for no error.
private func kind(_ error: FASTAError?) -> String? {
    error.map { Mirror(reflecting: $0).children.first?.label ?? "\($0)" }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFASTA(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = writeScratch(UnsafeRawBufferPointer(start: data, count: size))
    let uppercase = size % 2 == 0
    let small = readAll(path, blockSize: 1 + size % 13, uppercase: uppercase)
    let large = readAll(path, blockSize: 256 * 1024, uppercase: uppercase)
    if small.error == nil && large.error == nil {
        require(small.records == large.records,
                "records differ by block size: \(small.records.count) vs \(large.records.count)")
    } else {
        // Records come out as they are completed, so a reader with a smaller block may hand out more of them
        // before it meets the error; those it hands out must be the same.
        let n = min(small.records.count, large.records.count)
        require(small.records.prefix(n) == large.records.prefix(n), "the first \(n) records differ by block size")
        // A gzip error (a bad checksum at a member's end, say) and a text error before it may be met in either
        // order: the smaller block parses the text before zlib reaches the checksum. Otherwise, the same error.
        let gzipErrors: Set<String?> = ["truncatedGzip", "corruptGzip", "trailingData"]
        let eitherGzip = gzipErrors.contains(kind(small.error)) || gzipErrors.contains(kind(large.error))
        require(eitherGzip || kind(small.error) == kind(large.error),
                "errors differ by block size: \(String(describing: small.error)) vs \(String(describing: large.error))")
        // Plain text errors name a line and column, which must not depend on the block size either. (Gzip errors
        // name a byte offset of the compressed stream as far as zlib had read it, which may.)
        if !eitherGzip, case .some(let error) = small.error, large.records.count == small.records.count, error.line != nil {
            require(small.error == large.error, "errors differ: \(error) vs \(String(describing: large.error))")
        }
    }
    // The summary `mambakit inspect` prints, over the records read.
    var summary = FASTASummary()
    for record in large.records { summary.add(record) }
    require(summary.records == large.records.count, "summary counts \(summary.records) records")
    _ = summary.medianLength
    _ = summary.problems
    return 0
}
