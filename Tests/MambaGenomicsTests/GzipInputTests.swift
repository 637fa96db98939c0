import Foundation
import Testing
import MambaGenomics

@Suite("FASTAReader: gzip and BGZF input")
struct GzipInputTests {
    let text = Array(">a first\nACGTACGTNN\nacgt\n>b\nGGGG\n>c label=z\nTTTTTTTTTT\n".utf8)

    @Test func singleMember() throws {
        let s = try Scratch()
        // No .gz in the name: the format comes from the magic bytes.
        let reader = try FASTAReader(path: try s.write("reads.dat", gzipMember(text)))
        #expect(reader.format == .gzip)
        var ids: [String] = []
        while let r = try reader.next() { ids.append(r.id) }
        #expect(ids == ["a", "b", "c"])
    }

    @Test func plainTextNamedGzIsReadAsText() throws {
        let s = try Scratch()
        let reader = try FASTAReader(path: try s.write("liar.fa.gz", text))
        #expect(reader.format == .plain)
        #expect(try reader.next()?.id == "a")
    }

    @Test func multiMemberConcatenation() throws {
        let s = try Scratch()
        // `cat a.gz b.gz`, split mid-record and mid-line so the record continues across the member boundary.
        let cut = 15
        let joined = gzipMember(Array(text[..<cut])) + gzipMember(Array(text[cut...]), level: 1) + gzipMember([])
        let path = try s.write("joined.fa.gz", joined)
        for blockSize in [1, 5, 64, 256 * 1024] {
            let records = try FASTAReader.readAll(path: path, options: .init(blockSize: blockSize))
            #expect(records.map(ReferenceRecord.init) == referenceParse(text), "block \(blockSize)")
        }
    }

    @Test func bgzfBlocksWithExtraField() throws {
        let s = try Scratch()
        let payload = untidyFASTA(records: 60, seed: 11)
        let path = try s.write("x.fa.bgz", bgzfFile(payload, blockSize: 1000))
        let reader = try FASTAReader(path: path)
        #expect(reader.format == .bgzf)
        var records: [ReferenceRecord] = []
        while let r = try reader.next() { records.append(ReferenceRecord(r)) }
        #expect(records == referenceParse(payload))
    }

    @Test func bgzipToolOutputWhenInstalled() throws {
        guard let bgzip = ["/usr/bin/bgzip", "/usr/local/bin/bgzip"].first(where: FileManager.default.isExecutableFile)
        else { return }  // htslib's bgzip is optional; the hand-built BGZF test above always runs.
        let s = try Scratch()
        let payload = untidyFASTA(records: 200, seed: 12)
        let plain = try s.write("t.fa", payload)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bgzip)
        process.arguments = ["-f", plain]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let reader = try FASTAReader(path: plain + ".gz")
        #expect(reader.format == .bgzf)
        var records: [ReferenceRecord] = []
        while let r = try reader.next() { records.append(ReferenceRecord(r)) }
        #expect(records == referenceParse(payload))
    }

    @Test func handBuiltMemberIsValidGzip() throws {
        // Guards the test helper itself: zlib must accept the hand-built member and its CRC.
        let s = try Scratch()
        let records = try FASTAReader.readAll(path: try s.write("stored.gz", storedGzipMember(text, bgzf: false)))
        #expect(records.map(ReferenceRecord.init) == referenceParse(text))
        #expect(crc32Reference(Array("123456789".utf8)) == 0xCBF4_3926)  // the standard check value
    }

    @Test func truncatedMember() throws {
        let s = try Scratch()
        let whole = gzipMember(untidyFASTA(records: 50, seed: 3))
        for keep in [2, 5, 12, whole.count / 2, whole.count - 4, whole.count - 1] {
            let path = try s.write("cut\(keep).fa.gz", Array(whole[..<keep]))
            let error = try readError(path)
            #expect(error == .truncatedGzip(file: path, byteOffset: keep), "kept \(keep)")
            #expect(error.description.contains(path) && error.description.contains("truncated"))
        }
        // A complete first member followed by a cut second one.
        let path = try s.write("cut2.fa.gz", gzipMember(text) + Array(whole[..<(whole.count / 3)]))
        guard case .truncatedGzip = try readError(path) else { Issue.record("expected truncatedGzip"); return }
    }

    @Test func crcAndLengthMismatch() throws {
        let s = try Scratch()
        let whole = gzipMember(text)
        var badCRC = whole
        badCRC[whole.count - 8] ^= 0xFF
        let crcPath = try s.write("crc.fa.gz", badCRC)
        guard case .corruptGzip(let file, _, let reason) = try readError(crcPath) else {
            Issue.record("expected corruptGzip"); return
        }
        #expect(file == crcPath && reason == "incorrect data check")

        var badLength = whole
        badLength[whole.count - 4] ^= 0x01
        guard case .corruptGzip(_, _, let lengthReason) = try readError(try s.write("len.fa.gz", badLength)) else {
            Issue.record("expected corruptGzip"); return
        }
        #expect(lengthReason == "incorrect length check")

        var badData = gzipMember(untidyFASTA(records: 30, seed: 5))
        for k in 20..<40 { badData[k] ^= 0x5A }
        guard case .corruptGzip = try readError(try s.write("data.fa.gz", badData)) else {
            Issue.record("expected corruptGzip"); return
        }
    }

    @Test func trailingBytesAfterLastMember() throws {
        let s = try Scratch()
        let member = gzipMember(text)
        for tail: [UInt8] in [[0], [0, 0, 0, 0], Array("junk".utf8), [0x1F]] {
            let path = try s.write("tail.fa.gz", member + tail)
            #expect(try readError(path) == .trailingData(file: path, byteOffset: member.count))
        }
    }

    @Test func otherCompressionsAreNamed() throws {
        let s = try Scratch()
        let path = try s.write("x.fa.bz2", Array("BZh91AY&SY".utf8) + [0, 1, 2])
        #expect(try readError(path) == .unsupportedCompression(file: path, format: "bzip2"))
        let zstd = try s.write("x.fa.zst", [0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0])
        #expect(try readError(zstd) == .unsupportedCompression(file: zstd, format: "zstd"))
    }
}

/// The error reading all of `path` throws (the test fails if it throws none).
func readError(_ path: String, options: FASTAReader.Options = .init()) throws -> FASTAError {
    do {
        _ = try FASTAReader.readAll(path: path, options: options)
    } catch {
        return error
    }
    Issue.record("reading \(path) did not fail")
    throw CancellationError()
}
