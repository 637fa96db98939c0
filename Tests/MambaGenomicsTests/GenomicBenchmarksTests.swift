// genomic-benchmarks interval datasets built inside the test in the package's layout (metadata.yaml, gzip CSV
// tables with a pandas index column, Ensembl-style reference record names), checked against plain slicing and a
// dictionary reverse complement; then each malformed input as an error naming file and line.
import Foundation
import MambaGenomics
import Testing
import _MambaTestSupport

/// The reverse complement written out plainly, for A/C/G/T/N in either case.
func plainReverseComplement(_ s: [UInt8]) -> [UInt8] {
    let pairs: [Character: Character] = ["A": "T", "C": "G", "G": "C", "T": "A", "N": "N",
                                         "a": "t", "c": "g", "g": "c", "t": "a", "n": "n"]
    return s.reversed().map { UInt8(ascii: pairs[Character(Unicode.Scalar($0))]!.unicodeScalars.first!) }
}

/// A benchmark folder: references and tables with known contents.
struct BenchmarkFixture {
    let scratch: Scratch
    let folder: String
    let referenceFolder: String
    let human: [String: [UInt8]]   // Ensembl record id -> sequence
    let worm: [String: [UInt8]]

    init() throws {
        scratch = try Scratch()
        var rng = SeededGenerator(seed: 17)
        func random(_ n: Int) -> [UInt8] {
            let alphabet = Array("ACGTacgtN".utf8)
            return (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        }
        human = ["1": random(300), "2": random(150), "MT": random(40)]
        worm = ["I": random(120)]
        referenceFolder = scratch.path("fasta")
        try FileManager.default.createDirectory(atPath: referenceFolder, withIntermediateDirectories: true)
        func fastaText(_ records: [(String, [UInt8])]) -> [UInt8] {
            var text: [UInt8] = []
            for (id, sequence) in records {
                text += Array(">\(id) dna:chromosome chromosome:GRCh38:\(id):1:\(sequence.count):1 REF\n".utf8)
                var i = 0
                while i < sequence.count {
                    text += sequence[i..<min(i + 60, sequence.count)] + [0x0A]
                    i += 60
                }
            }
            return text
        }
        // A record that is not FASTA after the ones any interval needs: the single pass must stop before it.
        let humanText = fastaText([("1", human["1"]!), ("2", human["2"]!), ("MT", human["MT"]!)])
            + Array(">KI270728.1 contig\nAC*GT\n".utf8)
        try scratch.write("fasta/Homo_sapiens.GRCh38.dna.toplevel.fa.gz", gzipMember(humanText))
        try scratch.write("fasta/Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz",
                          gzipMember(fastaText([("I", worm["I"]!)])))
        folder = scratch.path("demo_human_or_worm")
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: folder + "/" + split, withIntermediateDirectories: true)
        }
        try scratch.write("demo_human_or_worm/metadata.yaml", """
            classes:
              human:
                extra_processing: ENSEMBL_HUMAN_GENOME
                type: fa.gz
                url: http://ftp.ensembl.org/pub/release-97/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.toplevel.fa.gz
              worm:
                type: fa.gz   # a comment
                url: 'http://ftp.ensembl.org/pub/release-104/fasta/caenorhabditis_elegans/dna/Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz'
            version: 0

            """)
        try scratch.write("demo_human_or_worm/train/human.csv.gz", gzipMember(Array("""
            ,id,region,start,end,strand
            7,7,chr1,0,50,+
            3,3,chr2,100,150,-
            9,9,chrMT,10,40,+
            12,12,chr1,250,300,-

            """.utf8)))
        try scratch.write("demo_human_or_worm/train/worm.csv", "id,region,start,end,strand\n0,I,5,25,-\n1,I,0,120,+\n")
        try scratch.write("demo_human_or_worm/test/human.csv.gz", gzipMember(Array("id,region,start,end,strand\nq,chr2,0,10,+\n".utf8)))
        try scratch.write("demo_human_or_worm/test/worm.csv", "id,region,start,end,strand\nw,I,100,120,-\n")
    }

    /// What an interval should give: a plain slice, reverse-complemented for '-'.
    func expected(_ genome: [String: [UInt8]], _ id: String, _ start: Int, _ end: Int, _ strand: Character) -> [UInt8] {
        let slice = Array(genome[id]![start..<end])
        return strand == "-" ? plainReverseComplement(slice) : slice
    }
}

@Suite("genomic-benchmarks datasets")
struct GenomicBenchmarksTests {
    @Test("layout, metadata and tables are read; sequences equal plain slices, '-' reverse-complemented")
    func load() throws {
        let f = try BenchmarkFixture()
        let benchmark = try GenomicBenchmarks(folder: f.folder)
        #expect(benchmark.splits == ["test", "train"] && benchmark.classes == ["human", "worm"])
        #expect(benchmark.version == 0)
        #expect(benchmark.metadata?["human"]?.extraProcessing == "ENSEMBL_HUMAN_GENOME")
        #expect(benchmark.metadata?["worm"]?.url?.hasSuffix("WBcel235.dna.toplevel.fa.gz") == true)
        let intervals = try benchmark.intervals(split: "train")
        #expect(intervals.map(\.id) == ["7", "3", "9", "12", "0", "1"])
        #expect(intervals.map(\.line) == [2, 3, 4, 5, 2, 3])
        #expect(intervals[1] == GenomicBenchmarks.Interval(id: "3", region: "chr2", start: 100, end: 150, reverse: true,
                                                           className: "human",
                                                           file: f.folder + "/train/human.csv.gz", line: 3))

        let splits = try benchmark.load(references: .directory(f.referenceFolder))
        let train = try #require(splits["train"])
        #expect(train.labels == ["human", "worm"])
        #expect(train.records.map(\.labelIndex) == [0, 0, 0, 0, 1, 1])
        #expect(train.records.map(\.sequence) == [
            f.expected(f.human, "1", 0, 50, "+"), f.expected(f.human, "2", 100, 150, "-"),
            f.expected(f.human, "MT", 10, 40, "+"), f.expected(f.human, "1", 250, 300, "-"),
            f.expected(f.worm, "I", 5, 25, "-"), f.expected(f.worm, "I", 0, 120, "+"),
        ])
        let test = try #require(splits["test"])
        #expect(test.records.map(\.sequence) == [f.expected(f.human, "2", 0, 10, "+"),
                                                 f.expected(f.worm, "I", 100, 120, "-")])
        #expect(test.records.map(\.file) == [f.folder + "/test/human.csv.gz", f.folder + "/test/worm.csv"])

        // The same through explicit files per class, and one split only.
        let byClass = try benchmark.load(splits: ["test"], references: .byClass([
            "human": f.referenceFolder + "/Homo_sapiens.GRCh38.dna.toplevel.fa.gz",
            "worm": f.referenceFolder + "/Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz"]))
        #expect(byClass.keys.sorted() == ["test"] && byClass["test"] == test)
    }

    @Test("region naming: chr prefix, version stripping, as is")
    func regionNaming() {
        #expect(GenomicBenchmarks.RegionNaming.chrPrefix.regionName("X") == "chrX")
        #expect(GenomicBenchmarks.RegionNaming.stripVersion.regionName("ENST00000371014.5") == "ENST00000371014")
        #expect(GenomicBenchmarks.RegionNaming.stripVersion.regionName("ENST00000371014") == "ENST00000371014")
        #expect(GenomicBenchmarks.RegionNaming.stripVersion.regionName("KI270728.x") == "KI270728.x")
        #expect(GenomicBenchmarks.RegionNaming.asIs.regionName("chr1") == "chr1")
    }

    @Test("a region missing from the reference and an interval past its end name the table line")
    func referenceErrors() throws {
        let f = try BenchmarkFixture()
        let table = f.folder + "/test/worm.csv"
        try f.scratch.write("demo_human_or_worm/test/worm.csv", "id,region,start,end,strand\nw,I,0,10,+\nv,II,0,5,+\n")
        let benchmark = try GenomicBenchmarks(folder: f.folder)
        let worm = f.referenceFolder + "/Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz"
        #expect(throws: GenomicBenchmarksError.regionNotFound(file: table, line: 3, region: "II", reference: worm)) {
            try benchmark.load(splits: ["test"], references: .directory(f.referenceFolder))
        }
        try f.scratch.write("demo_human_or_worm/test/worm.csv", "id,region,start,end,strand\nw,I,100,121,+\n")
        #expect(throws: GenomicBenchmarksError.intervalOutOfBounds(file: table, line: 2, region: "I", start: 100,
                                                                   end: 121, regionLength: 120, reference: worm)) {
            try benchmark.load(splits: ["test"], references: .directory(f.referenceFolder))
        }
        // One reference for all classes: worm's naming stays as is (no extra_processing), so its "chr1" is looked
        // for past the records the human class needs, into the malformed contig (header on line 13, '*' on 14:3).
        try f.scratch.write("demo_human_or_worm/test/worm.csv", "id,region,start,end,strand\nw,chr1,0,5,+\n")
        let human = f.referenceFolder + "/Homo_sapiens.GRCh38.dna.toplevel.fa.gz"
        #expect(throws: GenomicBenchmarksError.reference(.invalidCharacter(file: human, line: 14, column: 3,
                                                                           byte: UInt8(ascii: "*")))) {
            try benchmark.load(splits: ["test"], references: .file(human))
        }
        let forced = try benchmark.load(splits: ["test"], references: .file(human), regionNaming: .chrPrefix)
        #expect(forced["test"]![1].sequence == Array(f.human["1"]![0..<5]))
        #expect(throws: GenomicBenchmarksError.referenceNotFound(path: f.referenceFolder + "/x.fa", className: "human")) {
            try benchmark.load(references: .file(f.referenceFolder + "/x.fa"))
        }
        #expect(throws: GenomicBenchmarksError.self) { try benchmark.load(references: .byClass(["human": human])) }
        #expect(throws: GenomicBenchmarksError.noSplit(folder: f.folder, split: "valid", found: ["test", "train"])) {
            try benchmark.load(splits: ["valid"], references: .file(human))
        }
    }

    @Test("malformed tables: each a typed error with the table's file and line")
    func malformedTables() throws {
        let f = try BenchmarkFixture()
        let table = f.folder + "/test/worm.csv"
        let cases: [(String, GenomicBenchmarksError)] = [
            ("id,region,start,end\nw,I,0,5\n",
             .missingColumn(file: table, line: 1, column: "strand", found: ["id", "region", "start", "end"])),
            ("id,region,start,end,strand\nw,I,0,5,+\nv,I,0,5\n",
             .wrongFieldCount(file: table, line: 3, expected: 5, found: 4)),
            ("id,region,start,end,strand\nw,I,0,5,.\n",
             .invalidField(file: table, line: 2, column: "strand", value: ".", expected: "'+' or '-'")),
            ("id,region,start,end,strand\nw,I,x,5,+\n",
             .invalidField(file: table, line: 2, column: "start", value: "x", expected: "a whole number, 0 or more")),
            ("id,region,start,end,strand\n\nw,I,5,5,+\n",
             .invalidField(file: table, line: 3, column: "end", value: "5",
                           expected: "more than start (5): intervals are 0-based, end exclusive")),
            ("id,region,start,end,strand\nw,,0,5,+\n",
             .invalidField(file: table, line: 2, column: "region", value: "", expected: "a reference record name")),
            ("id,region,start,end,strand\n\"w,I,0,5,+\n",
             .invalidText(file: table, line: 2, reason: "a quoted field is not closed on this line")),
            ("\n\n", .noHeader(file: table)),
        ]
        for (text, expected) in cases {
            try f.scratch.write("demo_human_or_worm/test/worm.csv", text)
            let benchmark = try GenomicBenchmarks(folder: f.folder)
            #expect(throws: expected) { try benchmark.intervals(split: "test") }
        }
        try f.scratch.write("demo_human_or_worm/test/worm.csv.gz", gzipMember(Array("id\n".utf8)))
        #expect(throws: GenomicBenchmarksError.ambiguousTable(folder: f.folder + "/test", className: "worm")) {
            try GenomicBenchmarks(folder: f.folder)
        }
    }

    @Test("metadata.yaml this reader cannot use is an error at its line; no metadata needs explicit files")
    func metadata() throws {
        let f = try BenchmarkFixture()
        let path = f.folder + "/metadata.yaml"
        let cases: [(String, GenomicBenchmarksError)] = [
            ("classes:\n  human:\n    extra_processing: ENSEMBL_PIG_GENOME\n",
             .unknownExtraProcessing(file: path, line: 3, value: "ENSEMBL_PIG_GENOME",
                                     known: ["ENSEMBL_HUMAN_GENOME", "ENSEMBL_HUMAN_TRANSCRIPTOME",
                                             "ENSEMBL_MOUSE_GENOME"])),
            ("classes:\n  - human\n", .invalidMetadata(file: path, line: 2,
                                                      reason: "lists and flow collections are not supported here")),
            ("version: 0\n", .invalidMetadata(file: path, line: 1, reason: "no 'classes' mapping")),
            ("classes:\n  human:\n      url: a\n    type: b\n",
             .invalidMetadata(file: path, line: 4, reason: "unexpected indentation")),
            ("classes: {human: 1}\n", .invalidMetadata(file: path, line: 1, reason:
                "block scalars, flow collections and anchors are not supported here")),
            ("version: zero\nclasses:\n  a:\n    url: b\n",
             .invalidMetadata(file: path, line: 1, reason: "version must be a whole number")),
        ]
        for (text, expected) in cases {
            try f.scratch.write("demo_human_or_worm/metadata.yaml", text)
            #expect(throws: expected) { try GenomicBenchmarks(folder: f.folder) }
        }
        try FileManager.default.removeItem(atPath: path)
        let bare = try GenomicBenchmarks(folder: f.folder)
        #expect(bare.metadata == nil)
        #expect(throws: GenomicBenchmarksError.self) { try bare.load(references: .directory(f.referenceFolder)) }
        // Without metadata there is no renaming: the tables' "chr2" is not Ensembl's "2", so the search runs on
        // into the malformed contig at the end of the file.
        let human = f.referenceFolder + "/Homo_sapiens.GRCh38.dna.toplevel.fa.gz"
        let worm = f.referenceFolder + "/Caenorhabditis_elegans.WBcel235.dna.toplevel.fa.gz"
        #expect(throws: GenomicBenchmarksError.reference(.invalidCharacter(file: human, line: 14, column: 3,
                                                                           byte: UInt8(ascii: "*")))) {
            try bare.load(splits: ["test"], references: .byClass(["human": human, "worm": worm]))
        }
    }
}
