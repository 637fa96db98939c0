// Labelled sequence datasets: labels from headers or a manifest, shared label sets between splits, and every
// inconsistency between FASTA and manifest as a typed error naming file and line.
import Foundation
import MambaGenomics
import Testing
import _MambaTestSupport

@Suite("Sequence datasets")
struct SequenceDatasetTests {
    let fasta = """
        >r1 label=worm src=x
        ACGT
        acgt
        >r2 label=human
        NNAC
        >r3 extra label=worm
        G

        """

    @Test("labels from headers: file order, sorted labels, indices, header lines; gzip reads the same")
    func headers() throws {
        let scratch = try Scratch()
        let plain = try scratch.write("a.fa", fasta)
        let gz = try scratch.write("a.fa.gz", gzipMember(Array(fasta.utf8)))
        for path in [plain, gz] {
            let dataset = try SequenceDataset(fasta: path)
            #expect(dataset.source == path && dataset.count == 3)
            #expect(dataset.labels == ["human", "worm"])
            #expect(dataset.records.map(\.id) == ["r1", "r2", "r3"])
            #expect(dataset.records.map(\.label) == ["worm", "human", "worm"])
            #expect(dataset.records.map(\.labelIndex) == [1, 0, 1])
            #expect(dataset.records.map(\.line) == [1, 4, 6])
            #expect(dataset[0].sequence == Array("ACGTacgt".utf8) && dataset.lengths == [8, 4, 1])
        }
        let upper = try SequenceDataset(fasta: plain, options: .init(uppercase: true))
        #expect(upper[0].sequence == Array("ACGTACGT".utf8))
    }

    @Test("a label set fixes the indices across splits; a label outside it names file and line")
    func labelSet() throws {
        let scratch = try Scratch()
        let path = try scratch.write("test.fa", ">t1 label=worm\nAC\n>t2 label=worm\nGT\n")
        let dataset = try SequenceDataset(fasta: path, labelSet: ["human", "worm", "fly"])
        #expect(dataset.labels == ["human", "worm", "fly"] && dataset.records.map(\.labelIndex) == [1, 1])
        #expect(throws: SequenceDatasetError.unknownLabel(file: path, line: 1, label: "worm", known: ["human"])) {
            try SequenceDataset(fasta: path, labelSet: ["human"])
        }
        let unlabelled = try SequenceDataset(fasta: path, labels: .none)
        #expect(unlabelled.labels.isEmpty && unlabelled.records.allSatisfy { $0.label == nil && $0.labelIndex == nil })
    }

    @Test("header errors: a record without label=, a FASTA error, an empty file")
    func headerErrors() throws {
        let scratch = try Scratch()
        let missing = try scratch.write("m.fa", ">a label=x\nAC\n>b no label\nGG\n")
        #expect(throws: SequenceDatasetError.missingLabel(file: missing, line: 3, id: "b")) {
            try SequenceDataset(fasta: missing)
        }
        let bad = try scratch.write("bad.fa", ">a label=x\nACXT\n")
        #expect(throws: SequenceDatasetError.fasta(.invalidCharacter(file: bad, line: 2, column: 3,
                                                                    byte: UInt8(ascii: "X")))) {
            try SequenceDataset(fasta: bad)
        }
        let empty = try scratch.write("empty.fa", "")
        #expect(throws: SequenceDatasetError.noRecords(file: empty)) { try SequenceDataset(fasta: empty) }
        #expect(throws: SequenceDatasetError.fasta(.fileNotFound(file: scratch.path("none.fa")))) {
            try SequenceDataset(fasta: scratch.path("none.fa"))
        }
    }

    @Test("labels from a manifest; every disagreement with the FASTA file is an error at its line")
    func manifest() throws {
        let scratch = try Scratch()
        let path = try scratch.write("s.fa", ">a\nAC\n>b label=dog\nGG\n>c\nT\n")
        let table = try scratch.write("labels.tsv", "id\tlabel\nb\tdog\na\tcat\nc\tdog\n")
        let dataset = try SequenceDataset(fasta: path, labels: .manifest(path: table))
        #expect(dataset.records.map(\.label) == ["cat", "dog", "dog"] && dataset.labels == ["cat", "dog"])

        let short = try scratch.write("short.tsv", "id\tlabel\na\tcat\nb\tdog\n")
        #expect(throws: SequenceDatasetError.notInManifest(file: path, line: 5, id: "c", manifest: short)) {
            try SequenceDataset(fasta: path, labels: .manifest(path: short))
        }
        let extra = try scratch.write("extra.csv", "id,label\na,cat\nb,dog\nc,dog\nzz,cat\n")
        #expect(throws: SequenceDatasetError.notInFASTA(manifest: extra, line: 5, id: "zz", fasta: path)) {
            try SequenceDataset(fasta: path, labels: .manifest(path: extra))
        }
        let conflict = try scratch.write("conflict.csv", "id,label\na,cat\n\nb,cat\nc,dog\n")
        #expect(throws: SequenceDatasetError.conflictingLabel(file: path, line: 3, id: "b", header: "dog",
                                                              manifest: "cat", manifestFile: conflict,
                                                              manifestLine: 4)) {
            try SequenceDataset(fasta: path, labels: .manifest(path: conflict))
        }
        let twice = try scratch.write("twice.fa", ">a\nAC\n>a\nGG\n")
        #expect(throws: SequenceDatasetError.duplicateID(file: twice, line: 3, id: "a", firstLine: 1)) {
            try SequenceDataset(fasta: twice, labels: .manifest(path: table))
        }
        let broken = try scratch.write("broken.csv", "id,class\na,cat\n")
        #expect(throws: SequenceDatasetError.manifest(.missingColumn(file: broken, line: 1, column: "label",
                                                                    found: ["id", "class"]))) {
            try SequenceDataset(fasta: path, labels: .manifest(path: broken))
        }
    }

    @Test("records made in code: all labelled or none")
    func fromRecords() throws {
        let records = [LabelledSequence(id: "x", sequence: [65], label: "b"),
                       LabelledSequence(id: "y", sequence: [67], label: "a")]
        let dataset = try SequenceDataset(source: "code", records: records)
        #expect(dataset.labels == ["a", "b"] && dataset.records.map(\.labelIndex) == [1, 0])
        #expect(throws: SequenceDatasetError.self) {
            try SequenceDataset(source: "code", records: records + [LabelledSequence(id: "z", sequence: [], label: nil)])
        }
    }

    @Test("the shipped DNA tasks read with their header labels",
          .enabled(if: FileManager.default.fileExists(
              atPath: datasetsDirectory.appendingPathComponent("dna/species4/train.fa.gz").path)))
    func shippedTasks() throws {
        let folder = datasetsDirectory.appendingPathComponent("dna/species4")
        let train = try SequenceDataset(fasta: folder.appendingPathComponent("train.fa.gz").path)
        let test = try SequenceDataset(fasta: folder.appendingPathComponent("test.fa.gz").path, labelSet: train.labels)
        #expect(train.count == 5000 && test.count == 1000)
        #expect(train.labels == ["E_coli", "H_pylori", "S_aureus", "V_cholerae"])
    }
}
