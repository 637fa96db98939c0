import Foundation
import Testing
import MambaGenomics

@Suite("FASTAWriter")
struct FASTAWriterTests {
    static func sampleRecords(seed: UInt64) -> [FASTARecord] {
        var rng = SeededGenerator(seed: seed)
        let alphabet = Array("ACGTacgtNnRY-".utf8)
        return (0..<40).map { k in
            let length = [0, 1, 59, 60, 61, 120, 1000, 4321][k % 8] + (k / 8)
            let sequence = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
            switch k % 3 {
            case 0: return FASTARecord(id: "r\(k)", sequence: sequence)
            case 1: return FASTARecord(id: "r\(k)", description: "chromosome \(k)", label: "class\(k % 5)", sequence: sequence)
            default: return FASTARecord(id: "r\(k)|x:\(k)", description: "tab\tinside", sequence: sequence)
            }
        }
    }

    @Test(arguments: [(0, false), (1, false), (60, false), (61, true), (80, true), (0, true), (60, true)])
    func roundTrip(lineWidth: Int, gzip: Bool) throws {
        let s = try Scratch()
        let records = Self.sampleRecords(seed: UInt64(lineWidth))
        let path = s.path(gzip ? "out.fa.gz" : "out.fa")
        let writer = try FASTAWriter(path: path, options: .init(lineWidth: lineWidth))
        #expect(writer.isGzip == gzip)
        for r in records { try writer.write(r) }
        try writer.finish()
        #expect(writer.recordsWritten == records.count)
        #expect(try s.listing() == [gzip ? "out.fa.gz" : "out.fa"])

        let reader = try FASTAReader(path: path)
        #expect(reader.format == (gzip ? .gzip : .plain))
        var back: [FASTARecord] = []
        while let r = try reader.next() { back.append(r) }
        #expect(back.map(\.id) == records.map(\.id))
        #expect(back.map(\.description) == records.map(\.description))
        #expect(back.map(\.sequence) == records.map(\.sequence))
        #expect(back.map(\.label) == records.map(\.label))

        // The text itself: every sequence line at most lineWidth long, headers as `>id description`.
        let text = gzip ? try gunzipWithSystemTool(path) : try s.read("out.fa")
        let lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        #expect(text.last == 0x0A)
        for line in lines where line.first != UInt8(ascii: ">") {
            #expect(lineWidth == 0 || line.count <= lineWidth)
        }
        #expect(lines.first.map { String(decoding: $0, as: UTF8.self) } == ">r0")
        #expect(lines.contains { String(decoding: $0, as: UTF8.self) == ">r1 chromosome 1 label=class1" })
    }

    @Test func explicitCompressionOverridesExtension() throws {
        let s = try Scratch()
        let gz = try FASTAWriter(path: s.path("packed.fasta"), options: .init(compression: .gzip))
        try gz.write(FASTARecord(id: "a", sequence: Array("ACGT".utf8)))
        try gz.finish()
        #expect(try s.read("packed.fasta").starts(with: [0x1F, 0x8B]))
        let plain = try FASTAWriter(path: s.path("text.fa.gz"), options: .init(compression: .none))
        try plain.write(FASTARecord(id: "a", sequence: Array("ACGT".utf8)))
        try plain.finish()
        #expect(try s.read("text.fa.gz") == Array(">a\nACGT\n".utf8))
    }

    @Test func gzipOutputIsDeterministic() throws {
        let s = try Scratch()
        for name in ["a.fa.gz", "b.fa.gz"] {
            let w = try FASTAWriter(path: s.path(name))
            for r in Self.sampleRecords(seed: 3) { try w.write(r) }
            try w.finish()
        }
        #expect(try s.read("a.fa.gz") == s.read("b.fa.gz"))
    }

    @Test func abandonedWriterLeavesNothingAndKeepsOldFile() throws {
        let s = try Scratch()
        try s.write("keep.fa", ">old\nA\n")
        let w = try FASTAWriter(path: s.path("keep.fa"))
        try w.write(FASTARecord(id: "new", sequence: Array("C".utf8)))
        #expect(try s.listing().count == 2)  // the temporary file exists while writing
        w.abandon()
        #expect(try s.listing() == ["keep.fa"])
        #expect(try s.read("keep.fa") == Array(">old\nA\n".utf8))
        #expect(throws: FASTAError.self) { try w.write(FASTARecord(id: "x", sequence: [])) }
        #expect(throws: FASTAError.self) { try w.finish() }

        do {
            let dropped = try FASTAWriter(path: s.path("dropped.fa.gz"))
            try dropped.write(FASTARecord(id: "x", sequence: Array("ACGT".utf8)))
        }  // released without finish()
        #expect(try s.listing() == ["keep.fa"])
    }

    @Test func invalidRecordIsRefusedWhole() throws {
        let s = try Scratch()
        let bad: [FASTARecord] = [
            FASTARecord(id: "", sequence: []),
            FASTARecord(id: "two words", sequence: []),
            FASTARecord(id: "a", description: "line\nbreak", sequence: []),
            FASTARecord(id: "a", description: " leading", sequence: []),
            FASTARecord(id: "a", description: "label=x label=y", sequence: []),
            FASTARecord(id: "a", sequence: Array("ACGU*".utf8)),
            FASTARecord(id: "a", sequence: Array("AC\nGT".utf8)),
        ]
        // An invalid record is refused whole (nothing of it is written) and the writer stays usable.
        let w = try FASTAWriter(path: s.path("x.fa"))
        try w.write(FASTARecord(id: "before", sequence: Array("ACGT".utf8)))
        for record in bad {
            do {
                try w.write(record)
                Issue.record("wrote \(record)")
            } catch {
                guard case .invalidRecord(let file, let id, _) = error else { Issue.record("got \(error)"); continue }
                #expect(file == s.path("x.fa") && id == record.id)
            }
        }
        try w.write(FASTARecord(id: "after", sequence: Array("GG".utf8)))
        try w.finish()
        #expect(w.recordsWritten == 2)
        #expect(try s.read("x.fa") == Array(">before\nACGT\n>after\nGG\n".utf8))
    }

    @Test func unwritableFolderAndBadOptions() throws {
        let s = try Scratch()
        #expect(throws: FASTAError.self) { try FASTAWriter(path: s.path("no/such/folder/x.fa")) }
        #expect(throws: FASTAError.self) { try FASTAWriter(path: s.path("x.fa"), options: .init(lineWidth: -1)) }
        #expect(throws: FASTAError.self) { try FASTAWriter(path: s.path("x.fa"), options: .init(compressionLevel: 0)) }
        #expect(try s.listing().isEmpty)
    }

    @Test func failedRenameLeavesNothing() throws {
        // The target is a non-empty folder, so the final rename(2) fails: the error names the file and the
        // temporary file is removed.
        let s = try Scratch()
        try FileManager.default.createDirectory(atPath: s.path("taken.fa"), withIntermediateDirectories: false)
        try s.write("taken.fa/inside", "x")
        let w = try FASTAWriter(path: s.path("taken.fa"))
        try w.write(FASTARecord(id: "a", sequence: [UInt8](repeating: UInt8(ascii: "A"), count: 1_000_000)))
        do {
            try w.finish()
            Issue.record("finish succeeded onto a folder")
        } catch {
            guard case .writeFailed(let file, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(file == s.path("taken.fa") && reason.contains("rename"))
        }
        #expect(try s.listing() == ["taken.fa"])
    }
}

/// `gzip -dc PATH`, an independent decoder for the writer's output.
func gunzipWithSystemTool(_ path: String) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "gzip -dc \"$0\"", path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "gzip -dc failed on \(path)")
    return [UInt8](data)
}
