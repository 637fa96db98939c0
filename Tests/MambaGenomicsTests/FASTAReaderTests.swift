import Foundation
import Testing
@testable import MambaGenomics

@Suite("FASTAReader: text")
struct FASTAReaderTextTests {
    @Test func wrappedLinesHeadersAndLineNumbers() throws {
        let s = try Scratch()
        let path = try s.write("a.fa", ">chr1 first record label=exon\nACGT\nacgt\nNN\n>chr2\n\nTTTT\n>empty desc only\n")
        let records = try FASTAReader.readAll(path: path)
        #expect(records.count == 3)
        #expect(records[0] == FASTARecord(id: "chr1", description: "first record label=exon",
                                          sequence: Array("ACGTacgtNN".utf8), headerLine: 1))
        #expect(records[0].label == "exon")
        #expect(records[1] == FASTARecord(id: "chr2", sequence: Array("TTTT".utf8), headerLine: 5))
        #expect(records[1].label == nil)
        #expect(records[2].id == "empty" && records[2].description == "desc only" && records[2].sequence.isEmpty)
        #expect(records[2].headerLine == 8)
    }

    @Test func crlfBlankLinesCommentsAndNoFinalNewline() throws {
        let s = try Scratch()
        let text = "\r\n;comment before\r\n>a\tdesc \r\nAC GT\t\r\n\r\n;inside\r\nGG\r\n   \r\n>b\r\nTT"
        let records = try FASTAReader.readAll(path: try s.write("crlf.fa", text))
        #expect(records.map(\.id) == ["a", "b"])
        #expect(records[0].description == "desc")
        #expect(records[0].sequenceString == "ACGTGG")
        #expect(records[0].headerLine == 3)
        #expect(records[1].sequenceString == "TT")
        #expect(records[1].headerLine == 9)
    }

    @Test func lowercaseKeptOrUppercased() throws {
        let s = try Scratch()
        let path = try s.write("soft.fa", ">x\nACgtnNrykmbdhvuw-\n")
        let kept = try FASTAReader.readAll(path: path)
        #expect(kept[0].sequenceString == "ACgtnNrykmbdhvuw-")
        let upper = try FASTAReader.readAll(path: path, options: .init(uppercase: true))
        #expect(upper[0].sequenceString == "ACGTNNRYKMBDHVUW-")
    }

    @Test func megabaseSingleLineRecord() throws {
        let s = try Scratch()
        var rng = SeededGenerator(seed: 7)
        let bases = (0..<1_000_000).map { _ in Array("ACGT".utf8)[Int.random(in: 0..<4, using: &rng)] }
        let path = try s.write("long.fa", Array(">long\n".utf8) + bases + [0x0A] + Array(">next\nA\n".utf8))
        for blockSize in [4096, 256 * 1024] {
            let records = try FASTAReader.readAll(path: path, options: .init(blockSize: blockSize))
            #expect(records.count == 2)
            #expect(records[0].sequence == bases)
            #expect(records[1].headerLine == 3)
        }
    }

    @Test func emptyFileHasNoRecords() throws {
        let s = try Scratch()
        #expect(try FASTAReader.readAll(path: try s.write("empty.fa", "")).isEmpty)
        #expect(try FASTAReader.readAll(path: try s.write("blank.fa", "\n\r\n;only a comment\n")).isEmpty)
    }

    @Test func headerSplitAndLabels() throws {
        let s = try Scratch()
        let path = try s.write("h.fa", ">id1   label=A  other=1 \n>id2 labels=x label=B\n>id3 xlabel=C\n")
        let records = try FASTAReader.readAll(path: path)
        #expect(records.map(\.id) == ["id1", "id2", "id3"])
        #expect(records.map(\.description) == ["label=A  other=1", "labels=x label=B", "xlabel=C"])
        #expect(records.map(\.label) == ["A", "B", nil])
    }

    @Test func lastHeaderWithoutNewlineOrSequence() throws {
        let s = try Scratch()
        let records = try FASTAReader.readAll(path: try s.write("tail.fa", ">a\nAC\n>b desc"))
        #expect(records == [FASTARecord(id: "a", sequence: Array("AC".utf8), headerLine: 1),
                            FASTARecord(id: "b", description: "desc", sequence: [], headerLine: 3)])
    }

    @Test func readerStopsAfterEnd() throws {
        let s = try Scratch()
        let reader = try FASTAReader(path: try s.write("one.fa", ">a\nAC\n"))
        #expect(reader.format == .plain)
        #expect(try reader.next()?.id == "a")
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
        #expect(reader.recordsRead == 1)
    }

    /// The block parser against the line-by-line reference, on random untidy files, at block sizes that cut lines,
    /// CRLF pairs and headers at every place.
    @Test(arguments: [1, 2, 3, 7, 64, 1000, 256 * 1024])
    func matchesReferenceParserAtEveryBlockSize(blockSize: Int) throws {
        let s = try Scratch()
        for seed in 1...4 as ClosedRange<UInt64> {
            let text = untidyFASTA(records: blockSize < 8 ? 20 : 120, seed: seed)
            let expected = referenceParse(text)
            let plain = try s.write("r\(seed).fa", text)
            let gz = try s.write("r\(seed).fa.gz", gzipMember(text))
            for path in [plain, gz] {
                let records = try FASTAReader.readAll(path: path, options: .init(blockSize: blockSize))
                #expect(records.map(ReferenceRecord.init) == expected, "seed \(seed), block \(blockSize), \(path)")
            }
        }
    }

    @Test func standardInputIsReadForDash() throws {
        let s = try Scratch()
        let path = try s.write("stdin.fa.gz", gzipMember(Array(">from-stdin\nACGT\n".utf8)))
        // Point fd 0 at the file for the duration of the read; nothing else in the test process reads stdin.
        let file = open(path, O_RDONLY)
        try #require(file >= 0)
        let saved = dup(STDIN_FILENO)
        dup2(file, STDIN_FILENO)
        close(file)
        defer {
            dup2(saved, STDIN_FILENO)
            close(saved)
        }
        let reader = try FASTAReader(path: "-")
        #expect(reader.format == .gzip)
        let record = try #require(try reader.next())
        #expect(record.id == "from-stdin" && record.sequenceString == "ACGT")
    }
}

@Suite("NucleotideAlphabet")
struct NucleotideAlphabetTests {
    @Test func tablesMatchPlainDefinitions() {
        for b in 0..<256 {
            let byte = UInt8(b)
            #expect(NucleotideAlphabet.classTable[b] == NucleotideAlphabet.classify(byte).rawValue, "byte \(b)")
            let upper = Character(Unicode.Scalar(byte)).uppercased()
            if b < 0x80 { #expect(NucleotideAlphabet.uppercaseTable[b] == upper.utf8.first!, "byte \(b)") }
            else { #expect(NucleotideAlphabet.uppercaseTable[b] == byte) }
        }
    }

    @Test func acceptedSet() {
        let accepted = (0..<256).filter { NucleotideAlphabet.classify(UInt8($0)) == .residue }
        #expect(String(decoding: accepted.map(UInt8.init), as: UTF8.self) == "-ABCDGHKMNRSTUVWYabcdghkmnrstuvwy")
        for rejected in Array("*.0EFIJLOPQXZefijlopqxz>@".utf8) {
            #expect(NucleotideAlphabet.classify(rejected) == .invalid)
        }
        #expect(NucleotideAlphabet.classify(0) == .binary)
    }
}
