import Foundation
import Testing
import MambaGenomics

@Suite("FASTAReader: malformed input")
struct MalformedInputTests {
    @Test func sequenceBeforeHeader() throws {
        let s = try Scratch()
        let path = try s.write("orphan.fa", "\n\nACGT\n>a\nAC\n")
        let error = try readError(path)
        #expect(error == .sequenceBeforeHeader(file: path, line: 3))
        #expect(error.description.hasPrefix("\(path):3:"))
        let gz = try s.write("orphan.fa.gz", gzipMember(Array("\n\nACGT\n>a\nAC\n".utf8)))
        #expect(try readError(gz) == .sequenceBeforeHeader(file: gz, line: 3))
    }

    @Test func emptyID() throws {
        let s = try Scratch()
        for header in [">", "> description", ">\t", ">\r"] {
            let path = try s.write("noid.fa", ">ok\nAC\n\(header)\nAC\n")
            let error = try readError(path)
            #expect(error == .emptyID(file: path, line: 3), "header \(header.debugDescription)")
            #expect(error.line == 3 && error.file == path)
        }
    }

    @Test func invalidCharacterNamesLineAndColumn() throws {
        let s = try Scratch()
        let text = ">a\nACGT\nACGTX\n"
        let path = try s.write("bad.fa", text)
        let error = try readError(path)
        #expect(error == .invalidCharacter(file: path, line: 3, column: 5, byte: UInt8(ascii: "X")))
        #expect(error.description == "\(path):3:5: 'X' is not a nucleotide code "
            + "(expected one of ACGTURYSWKMBDHVN or '-', either case)")
        for (bad, column) in [("*", 3), (".", 1), ("1", 2), ("E", 4)] {
            let p = try s.write("bad2.fa", ">a\r\nAC\r\n" + String(repeating: "A", count: column - 1) + bad + "GG\r\n")
            #expect(try readError(p) == .invalidCharacter(file: p, line: 3, column: column, byte: bad.utf8.first!))
        }
        // Across blocks: the column counts from the start of the line, not of the block.
        let long = ">a\n" + String(repeating: "C", count: 999) + "Z\n"
        let p = try s.write("bad3.fa", long)
        #expect(try readError(p, options: .init(blockSize: 7))
            == .invalidCharacter(file: p, line: 2, column: 1000, byte: UInt8(ascii: "Z")))
    }

    @Test func binaryGarbage() throws {
        let s = try Scratch()
        var rng = SeededGenerator(seed: 99)
        let garbage = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let path = try s.write("a.out", garbage)
        guard case .notFASTA(let file, 1, 1, let found) = try readError(path) else {
            Issue.record("expected notFASTA at 1:1"); return
        }
        #expect(file == path && found.contains("binary"))

        let nul = try s.write("nul.fa", ">a\nAC\u{0}GT\n")
        guard case .notFASTA(_, 2, 3, let foundNUL) = try readError(nul) else {
            Issue.record("expected notFASTA at 2:3"); return
        }
        #expect(foundNUL == "byte 0x00 (binary data)")

        let nulHeader = try s.write("nulh.fa", ">a\u{0}b\nAC\n")
        guard case .notFASTA(_, 1, 3, _) = try readError(nulHeader) else {
            Issue.record("expected notFASTA at 1:3"); return
        }
    }

    @Test func textThatIsNotFASTA() throws {
        let s = try Scratch()
        let csv = try s.write("table.fa", "id,label\nx,1\n")
        #expect(try readError(csv) == .notFASTA(file: csv, line: 1, column: 1, found: "'i'"))
        let fastq = try s.write("reads.fa", "@r1\nACGT\n+\nIIII\n")
        guard case .notFASTA(_, 1, 1, let found) = try readError(fastq) else {
            Issue.record("expected notFASTA"); return
        }
        #expect(found.contains("FASTQ"))
    }

    @Test func headerLimitsAndEncoding() throws {
        let s = try Scratch()
        let long = try s.write("long.fa", ">" + String(repeating: "x", count: 5000) + "\nAC\n")
        guard case .invalidHeader(_, 1, _) = try readError(long, options: .init(maxHeaderLength: 1000)) else {
            Issue.record("expected invalidHeader"); return
        }
        #expect(try FASTAReader.readAll(path: long)[0].id.count == 5000)
        let latin1 = try s.write("latin1.fa", Array(">caf".utf8) + [0xE9] + Array("\nAC\n".utf8))
        #expect(try readError(latin1) == .invalidHeader(file: latin1, line: 1, reason: "not valid UTF-8 text"))
        let twoLabels = try s.write("two.fa", ">a label=x label=y\nAC\n")
        guard case .invalidHeader(_, 1, let reason) = try readError(twoLabels) else {
            Issue.record("expected invalidHeader"); return
        }
        #expect(reason.contains("more than one"))
        let emptyLabel = try s.write("el.fa", ">a\nA\n>b label=\nAC\n")
        #expect(try readError(emptyLabel) == .invalidHeader(file: emptyLabel, line: 3, reason: "'label=' has an empty value"))
    }

    @Test func missingAndUnreadableFiles() throws {
        let s = try Scratch()
        let missing = s.path("nope.fa")
        #expect(throws: FASTAError.fileNotFound(file: missing)) { try FASTAReader(path: missing) }
        do {
            _ = try FASTAReader.readAll(path: s.url.path)
            Issue.record("reading a folder did not fail")
        } catch {
            guard case .unreadable(let file, let reason) = error else { Issue.record("got \(error)"); return }
            #expect(file == s.url.path && reason.lowercased().contains("directory"))
        }
        #expect(throws: FASTAError.self) { try FASTAReader(path: "x.fa", options: .init(blockSize: 0)) }
    }

    @Test func errorEndsTheReader() throws {
        let s = try Scratch()
        let reader = try FASTAReader(path: try s.write("e.fa", ">a\nAC\n>b\nAX\n>c\nGG\n"))
        #expect(try reader.next()?.id == "a")
        #expect(throws: FASTAError.self) { try reader.next() }
        #expect(try reader.next() == nil)
    }
}
