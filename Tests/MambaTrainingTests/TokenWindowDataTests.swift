// DNA language-model data: FASTA to tokens, windows, next-token batches, validation split, resumable position.
import Foundation
import MambaBackbone
import MambaTokenizers
import Testing
import _MambaTestSupport
@testable import MambaTraining

@Suite struct TokenWindowDataTests {
    func corpus() throws -> TokenCorpus {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tiny.fa")
        // 25 + 7 + 1 bases: windows of 10 give 2 full + 1 padded (5), 1 padded (7), none for the single base.
        try Data(">one\nACGTACGTAC\nGTACGTACGT\nNNACG\n>two\nacgtnnA\n>three\nA\n".utf8).write(to: url)
        return try TokenCorpus.dna(paths: [url.path])
    }

    @Test func fastaBecomesCharacterTokens() throws {
        let corpus = try corpus()
        #expect(corpus.names == ["one", "two", "three"])
        #expect(corpus.sequences.map(\.count) == [25, 7, 1])
        #expect(Array(corpus.sequences[0].prefix(5)) == [7, 8, 9, 10, 7])
        #expect(corpus.sequences[1] == [7, 8, 9, 10, 11, 11, 7])
        #expect(corpus.tokenCount == 33)
    }

    @Test func windowsAndBatches() throws {
        let corpus = try corpus()
        let split = try TokenWindowData.windows(of: corpus, length: 10, validationFraction: nil, seed: 1)
        #expect(split.validation.isEmpty)
        #expect(split.training.map { [$0.sequence, $0.start, $0.validLength] }
                == [[0, 0, 10], [0, 10, 10], [0, 20, 5], [1, 0, 7]])
        let batch = try TokenWindowData.batch([split.training[2], split.training[3]], corpus: corpus,
                                              padding: DNATokenizer.pad)
        #expect(batch.tokens.batch == 2 && batch.tokens.length == 10)
        #expect(batch.tokens.lengths == [5, 7])
        #expect(Array(batch.tokens.ids[0..<10]) == [11, 11, 7, 8, 9, 4, 4, 4, 4, 4])
        #expect(Array(batch.tokens.ids[10..<20]) == [7, 8, 9, 10, 11, 11, 7, 4, 4, 4])
        #expect(batch.tokenCount == 12)
        guard case .nextToken = batch.objective else {
            Issue.record("expected the next-token objective")
            return
        }
    }

    @Test func validationSplitIsDisjointAndSeeded() throws {
        var corpus = TokenCorpus()
        try corpus.append((0..<2000).map { Int32(7 + $0 % 4) }, name: "long")
        let a = try TokenWindowData.windows(of: corpus, length: 20, validationFraction: 0.1, seed: 3)
        let b = try TokenWindowData.windows(of: corpus, length: 20, validationFraction: 0.1, seed: 3)
        #expect(a.training == b.training && a.validation == b.validation)
        #expect(a.validation.count == 10 && a.training.count == 90)
        #expect(Set(a.training.map(\.start)).isDisjoint(with: Set(a.validation.map(\.start))))
        let c = try TokenWindowData.windows(of: corpus, length: 20, validationFraction: 0.1, seed: 4)
        #expect(c.validation != a.validation)
        #expect(throws: TrainingError.self) {
            try TokenWindowData.windows(of: corpus, length: 20, validationFraction: 1, seed: 3)
        }
    }

    @Test func positionResumesExactlyThroughJSON() throws {
        var corpus = TokenCorpus()
        try corpus.append((0..<1000).map { Int32(7 + ($0 * 7) % 5) }, name: "s")
        let windows = try TokenWindowData.windows(of: corpus, length: 16, validationFraction: nil, seed: 1).training
        var source = try TokenWindowData(corpus: corpus, windows: windows, batchSize: 4, seed: 9,
                                         padding: DNATokenizer.pad)
        #expect(source.batchesPerEpoch == windows.count / 4)
        // Past an epoch boundary, then save, then compare the continuation.
        for _ in 0..<20 { _ = try source.next() }
        let saved = try JSONEncoder().encode(source.position)
        var resumed = try TokenWindowData(corpus: corpus, windows: windows, batchSize: 4, seed: 9,
                                          padding: DNATokenizer.pad)
        try resumed.restore(JSONDecoder().decode(TokenWindowData.Position.self, from: saved))
        for _ in 0..<30 { #expect(try source.next().tokens == resumed.next().tokens) }
        // A position of another batch size is refused.
        var other = try TokenWindowData(corpus: corpus, windows: windows, batchSize: 5, seed: 9,
                                        padding: DNATokenizer.pad)
        #expect(throws: TrainingError.self) {
            try other.restore(JSONDecoder().decode(TokenWindowData.Position.self, from: saved))
        }
    }

    @Test func badInputIsReportedWithItsPlace() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.fa")
        try Data(">ok\nACGT\n>bad\nAC*T\n".utf8).write(to: url)
        do {
            _ = try TokenCorpus.dna(paths: [url.path])
            Issue.record("a '*' must be refused")
        } catch {
            #expect(String(describing: error).contains("bad.fa"))
        }
        var corpus = TokenCorpus()
        #expect(throws: TrainingError.self) { try corpus.append([1, 300], name: "x") }
        #expect(throws: TrainingError.self) {
            try TokenWindowData(corpus: corpus, windows: [], batchSize: 2, seed: 1, padding: 4)
        }
    }
}
