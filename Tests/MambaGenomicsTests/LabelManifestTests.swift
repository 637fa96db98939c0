import Foundation
import Testing
import MambaGenomics

@Suite("LabelManifest")
struct LabelManifestTests {
    @Test func tsvWithExtraColumnsCRLFAndBlankLines() throws {
        let s = try Scratch()
        let path = try s.write("labels.tsv", "\u{FEFF}sample\tID\tLabel\tnotes\r\nx\tseq1\tpromoter\tok\r\n\r\ny\tseq2\tenhancer\t\r\n")
        let m = try LabelManifest(path: path)
        #expect(m.ids == ["seq1", "seq2"])
        #expect(m["seq1"] == "promoter" && m["seq2"] == "enhancer" && m["seq3"] == nil)
        #expect(m.lines["seq2"] == 4)
        #expect(m.distinctLabels == ["enhancer", "promoter"])
    }

    @Test func csvWithQuotesAndSpaces() throws {
        let s = try Scratch()
        let path = try s.write("labels.csv", "label, id ,comment\n\"a, b\",s1,\"said \"\"hi\"\"\"\n  x , s2 ,\n")
        let m = try LabelManifest(path: path)
        #expect(m["s1"] == "a, b" && m["s2"] == "x")
        #expect(m.count == 2)
    }

    @Test func gzippedManifest() throws {
        let s = try Scratch()
        let m = try LabelManifest(path: try s.write("l.tsv.gz", gzipMember(Array("id\tlabel\na\t1\n".utf8))))
        #expect(m["a"] == "1")
    }

    @Test func errorsNameFileAndLine() throws {
        let s = try Scratch()
        func error(_ text: String) throws -> LabelManifestError {
            let path = try s.write("m.csv", text)
            do {
                _ = try LabelManifest(path: path)
            } catch {
                #expect(error.description.hasPrefix(path))
                return error
            }
            Issue.record("no error for \(text.debugDescription)")
            throw CancellationError()
        }
        let p = s.path("m.csv")
        #expect(try error("name,label\na,1\n") == .missingColumn(file: p, line: 1, column: "id", found: ["name", "label"]))
        #expect(try error("\nid\tclass\n") == .missingColumn(file: p, line: 2, column: "label", found: ["id", "class"]))
        #expect(try error("id,label,id\n") == .duplicateColumn(file: p, line: 1, column: "id"))
        #expect(try error("id,label\na,1\nb,2,3\n") == .wrongFieldCount(file: p, line: 3, expected: 2, found: 3))
        #expect(try error("id,label\na,1\nb\n") == .wrongFieldCount(file: p, line: 3, expected: 2, found: 1))
        #expect(try error("id,label\na,1\n\nb,2\na,3\n") == .duplicateID(file: p, line: 5, id: "a", firstLine: 2))
        #expect(try error("id,label\n,1\n") == .emptyField(file: p, line: 2, column: "id"))
        #expect(try error("id,label\na,\n") == .emptyField(file: p, line: 2, column: "label"))
        #expect(try error("id,label\n\"a,1\n") == .invalidText(file: p, line: 2, reason: "a quoted field is not closed on this line"))
        guard case .invalidText(_, 2, _) = try error("id,label\nmy seq,1\n") else { Issue.record("whitespace id"); return }
        #expect(try error("\n \n") == .noHeader(file: p))
        #expect(throws: LabelManifestError.fileNotFound(file: s.path("none.tsv"))) { try LabelManifest(path: s.path("none.tsv")) }
    }

    @Test func labelsJoinRecordsInSummary() throws {
        let s = try Scratch()
        let manifest = try LabelManifest(path: try s.write("l.tsv", "id\tlabel\na\tpos\nb\tneg\n"))
        let records = try FASTAReader.readAll(path: try s.write("x.fa", ">a\nAC\n>b\nGG\n>c\nTT\n"))
        var summary = FASTASummary()
        for r in records { summary.add(r, label: manifest[r.id]) }
        #expect(summary.labelCounts == ["pos": 1, "neg": 1])
        #expect(summary.problems == [.partlyLabelled(labelled: 2, unlabelled: 1)])
    }
}
