import Testing
import MambaGenomics

@Suite("FASTASummary")
struct FASTASummaryTests {
    func summary(_ lengths: [Int]) -> FASTASummary {
        var s = FASTASummary()
        for (k, n) in lengths.enumerated() {
            s.add(FASTARecord(id: "r\(k)", sequence: [UInt8](repeating: UInt8(ascii: "A"), count: n)))
        }
        return s
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(summary([5]).medianLength == 5)
        #expect(summary([9, 1, 5]).medianLength == 5)
        #expect(summary([4, 1, 3, 2]).medianLength == 2.5)
        #expect(summary([7, 7, 1, 100]).medianLength == 7)
        #expect(summary([10, 10, 10, 20, 20, 20]).medianLength == 15)
        #expect(summary([]).medianLength == nil)
        // Against sorting, on random lengths with many repeats.
        var rng = SeededGenerator(seed: 5)
        for count in [1, 2, 3, 10, 101, 1000] {
            let lengths = (0..<count).map { _ in Int.random(in: 0..<50, using: &rng) }
            let sorted = lengths.sorted()
            let expected = Double(sorted[(count - 1) / 2] + sorted[count / 2]) / 2
            #expect(summary(lengths).medianLength == expected, "count \(count)")
        }
    }

    @Test func countsAndExtremes() {
        let s = summary([3, 0, 10])
        #expect(s.records == 3 && s.totalBases == 13)
        #expect(s.minLength == 0 && s.maxLength == 10 && s.meanLength == 13.0 / 3)
        #expect(s.problems == [.emptySequences(count: 1)])  // none labelled is not "partly labelled"
        #expect(FASTASummary().problems == [.noRecords])
        #expect(FASTASummary().minLength == nil)
    }

    @Test func compositionMatchesPlainCount() {
        var rng = SeededGenerator(seed: 8)
        let alphabet = Array("ACGTNacgtnRYU-".utf8)
        for length in [0, 1, 5, 1023, 1024, 1025, 70_001] {
            let seq = (0..<length).map { _ in alphabet.randomElement(using: &rng)! }
            var fast = BaseComposition()
            seq.withUnsafeBufferPointer { fast.add($0) }
            var plain = BaseComposition()
            for b in seq { plain.add(byte: b) }
            #expect(fast == plain, "length \(length)")
            #expect(fast.total == length)
        }
        var c = BaseComposition()
        Array("AaCcGgTtNnRY-".utf8).withUnsafeBufferPointer { c.add($0) }
        #expect(c.a == 2 && c.c == 2 && c.g == 2 && c.t == 2 && c.n == 2 && c.other == 3 && c.lowercase == 5)
        #expect(c.gcFraction == 0.5)
    }

    @Test func labelCounts() throws {
        var s = FASTASummary()
        s.add(FASTARecord(id: "a", label: "x", sequence: Array("AC".utf8)))
        s.add(FASTARecord(id: "b", label: "y", sequence: Array("AC".utf8)))
        s.add(FASTARecord(id: "c", description: "note label=x", sequence: Array("AC".utf8)))
        #expect(s.labelCounts == ["x": 2, "y": 1])
        #expect(s.unlabelledRecords == 0 && s.problems.isEmpty)
    }

    @Test func emptyFileIsAProblemForInspect() throws {
        let scratch = try Scratch()
        let reader = try FASTAReader(path: try scratch.write("empty.fa.gz", gzipMember([])))
        var s = FASTASummary()
        while let r = try reader.next() { s.add(r) }
        #expect(s.problems == [.noRecords])
        #expect(s.problems[0].description.contains("no records"))
    }
}
