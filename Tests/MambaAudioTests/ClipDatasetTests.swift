// Labelled clip lists: manifests in the layout of datasets/audio (labels.tsv beside the clips) and in CSV variants,
// every malformed-manifest error with its file and line, class folders, and loading a clip as mono.
import Foundation
import MambaAudio
import Testing
import _MambaTestSupport

/// A temporary folder with helpers to write files into it.
final class ClipFolder {
    let url: URL
    init() throws { url = try makeTemporaryDirectory("mambakit-clips") }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    /// Writes `text` (or raw bytes) to `relative`, creating folders on the way.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String { try write(relative, Array(text.utf8)) }

    /// A real WAV of `frames` frames: channel c of frame f is (f + 1) / 1000 · (c + 1).
    @discardableResult
    func wav(_ relative: String, frames: Int = 50, channels: Int = 1, sampleRate: Int = 16_000) throws -> String {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        var samples: [Float] = []
        for f in 0..<frames { for c in 0..<channels { samples.append(Float(f + 1) / 1000 * Float(c + 1)) } }
        try AudioFileWriter.write(AudioBuffer(samples: samples, channels: channels, sampleRate: sampleRate), to: p,
                                  format: .float32)
        return p
    }
}

@Suite("Clip datasets")
struct ClipDatasetTests {
    @Test("a labels.tsv manifest like datasets/audio/digits: order kept, labels sorted, paths resolved")
    func digitsLayout() throws {
        let folder = try ClipFolder()
        try folder.wav("train/1_espeak-a.flac.wav")
        try folder.wav("train/0_espeak-b.wav", channels: 2)
        try folder.wav("train/sub/10_x.wav")
        let manifest = try folder.write("train/labels.tsv", """
            file\tlabel\tword\tvoice\tengine\tpitch\tspeed\tsample_rate\tsamples
            1_espeak-a.flac.wav\t1\tone\tespeak-a\tespeak-ng\t44\t181\t16000\t50
            0_espeak-b.wav\t0\tzero\tespeak-b\tespeak-ng\t41\t158\t16000\t50

            sub/10_x.wav\t10\tten\tx\tfestival\t0\t1.0\t16000\t50

            """)
        for dataset in [try ClipDataset(manifest: manifest), try ClipDataset(path: folder.path("train")),
                        try ClipDataset(path: manifest)] {
            #expect(dataset.source == manifest)
            #expect(dataset.labels == ["0", "1", "10"])
            #expect(dataset.clips.map(\.label) == ["1", "0", "10"])
            #expect(dataset.clips.map(\.labelIndex) == [1, 0, 2])
            #expect(dataset.clips.map(\.line) == [2, 3, 5])
            #expect(dataset.clips.map(\.path) == [folder.path("train/1_espeak-a.flac.wav"),
                                                  folder.path("train/0_espeak-b.wav"), folder.path("train/sub/10_x.wav")])
        }
        let dataset = try ClipDataset(manifest: manifest)
        let stereo = try dataset.load(1)
        #expect(stereo.channels == 1 && stereo.sampleRate == 16_000 && stereo.frames == 50)
        // The mean of channels (f+1)/1000 and 2(f+1)/1000.
        #expect(maxAbsoluteDifference(stereo.samples, (0..<50).map { Float($0 + 1) * 1.5 / 1000 }) < 1e-6)
        #expect(try dataset.info(1).channels == 2)
    }

    @Test("CSV with quotes, CRLF, a byte order mark, columns in any order and case, absolute paths")
    func csvVariants() throws {
        let folder = try ClipFolder()
        try folder.wav("a b.wav")
        let absolute = try folder.wav("elsewhere/c.wav")
        let manifest = try folder.write("m.csv", [0xEF, 0xBB, 0xBF] + Array(
            "speaker,Label, FILE \r\n\"Smith, J\", \"dog, big\" ,\"a b.wav\"\r\nx,cat,\(absolute)\r\n".utf8))
        let dataset = try ClipDataset(manifest: manifest, labels: ["cat", "dog, big", "bird"])
        #expect(dataset.labels == ["cat", "dog, big", "bird"])
        #expect(dataset.clips.map(\.label) == ["dog, big", "cat"])
        #expect(dataset.clips.map(\.labelIndex) == [1, 0])
        #expect(dataset.clips.map(\.path) == [folder.path("a b.wav"), absolute])
    }

    @Test("each malformed manifest is a typed error naming the file and the line")
    func malformedManifests() throws {
        let folder = try ClipFolder()
        try folder.wav("x.wav")
        try folder.wav("y.wav")
        let cases: [(String, [UInt8], (String) -> ClipDatasetError)] = [
            ("nolabel.tsv", Array("file\tclass\nx.wav\t1\n".utf8),
             { .missingColumn(file: $0, line: 1, column: "label", found: ["file", "class"]) }),
            ("nofile.csv", Array("\n\npath,label\nx.wav,1\n".utf8),
             { .missingColumn(file: $0, line: 3, column: "file", found: ["path", "label"]) }),
            ("twice.csv", Array("file,label,File\nx.wav,1,y.wav\n".utf8),
             { .duplicateColumn(file: $0, line: 1, column: "file") }),
            ("fields.tsv", Array("file\tlabel\tvoice\nx.wav\t1\tv\ny.wav\t2\n".utf8),
             { .wrongFieldCount(file: $0, line: 3, expected: 3, found: 2) }),
            ("emptylabel.csv", Array("file,label\nx.wav,1\ny.wav,  \n".utf8),
             { .emptyField(file: $0, line: 3, column: "label") }),
            ("emptyfile.csv", Array("file,label\n,1\n".utf8),
             { .emptyField(file: $0, line: 2, column: "file") }),
            ("missing.tsv", Array("file\tlabel\nx.wav\t1\n\nnope.wav\t2\n".utf8),
             { _ in .audioFileNotFound(manifest: folder.path("missing.tsv"), line: 4, path: folder.path("nope.wav")) }),
            ("dup.csv", Array("file,label\nx.wav,1\ny.wav,1\n./x.wav,2\n".utf8),
             { .duplicateClip(manifest: $0, line: 4, path: folder.path("x.wav"), firstLine: 2) }),
            ("quote.csv", Array("file,label\n\"x.wav,1\n".utf8),
             { .invalidText(file: $0, line: 2, reason: "a quoted field is not closed on this line") }),
            ("after.csv", Array("file,label\n\"x.wav\"z,1\n".utf8),
             { .invalidText(file: $0, line: 2, reason: "text after the closing quote of field 1") }),
            ("binary.csv", Array("file,label\n".utf8) + [0xFF, 0xFE, 0x2C, 0x31, 0x0A],
             { .invalidText(file: $0, line: 2, reason: "not valid UTF-8") }),
            ("empty.csv", Array(" \n\n".utf8), { .noHeader(file: $0) }),
            ("header.tsv", Array("file\tlabel\n".utf8), { .noClips(source: $0) }),
        ]
        for (name, bytes, expected) in cases {
            let path = try folder.write(name, bytes)
            #expect(throws: expected(path), "\(name)") { try ClipDataset(manifest: path) }
        }
        let labelled = try folder.write("unknown.csv", "file,label\nx.wav,1\ny.wav,7\n")
        #expect(throws: ClipDatasetError.unknownLabel(file: labelled, line: 3, label: "7", known: ["1", "2"])) {
            try ClipDataset(manifest: labelled, labels: ["1", "2"])
        }
        #expect(throws: ClipDatasetError.self) { try ClipDataset(manifest: labelled, labels: ["1", "1", "7"]) }
        #expect(throws: ClipDatasetError.notFound(path: folder.path("absent.tsv"))) {
            try ClipDataset(manifest: folder.path("absent.tsv"))
        }
        let message = ClipDatasetError.audioFileNotFound(manifest: "m.tsv", line: 4, path: "/a/b.wav").description
        #expect(message.hasPrefix("m.tsv:4:") && message.contains("/a/b.wav"))
    }

    @Test("class folders: sorted classes and files, nested folders, hidden and non-audio files skipped")
    func classFolders() throws {
        let folder = try ClipFolder()
        try folder.wav("root/dog/b.wav")
        try folder.wav("root/dog/A.WAV")
        try folder.wav("root/dog/deeper/c.wav")
        try folder.write("root/dog/notes.txt", "not audio")
        try folder.wav("root/dog/.hidden.wav")
        try folder.wav("root/cat/z.wav")
        try folder.wav("root/.git/x.wav")
        try folder.write("root/README.md", "about")
        let dataset = try ClipDataset(path: folder.path("root"))
        #expect(dataset.labels == ["cat", "dog"])
        #expect(dataset.clips.map(\.path) == ["root/cat/z.wav", "root/dog/A.WAV", "root/dog/b.wav",
                                              "root/dog/deeper/c.wav"].map(folder.path))
        #expect(dataset.clips.map(\.labelIndex) == [0, 1, 1, 1] && dataset.clips.allSatisfy { $0.line == nil })
        let reordered = try ClipDataset(classFolders: folder.path("root"), labels: ["dog", "cat", "cow"])
        #expect(reordered.clips.map(\.labelIndex) == [1, 0, 0, 0])
        #expect(throws: ClipDatasetError.unknownLabel(file: folder.path("root/dog"), line: nil, label: "dog",
                                                      known: ["cat"])) {
            try ClipDataset(classFolders: folder.path("root"), labels: ["cat"])
        }
    }

    @Test("class-folder errors: no classes, an empty class, audio outside the classes, a file for a folder")
    func classFolderErrors() throws {
        let folder = try ClipFolder()
        try folder.write("flat/readme.txt", "x")
        #expect(throws: ClipDatasetError.noClasses(folder: folder.path("flat"))) {
            try ClipDataset(classFolders: folder.path("flat"))
        }
        try folder.wav("gap/dog/a.wav")
        try folder.write("gap/cat/a.mp4", "video")
        #expect(throws: ClipDatasetError.emptyClass(folder: folder.path("gap/cat"))) {
            try ClipDataset(path: folder.path("gap"))
        }
        try folder.wav("loose/dog/a.wav")
        try folder.wav("loose/b.flac")
        #expect(throws: ClipDatasetError.audioOutsideClassFolders(folder: folder.path("loose"),
                                                                  file: folder.path("loose/b.flac"))) {
            try ClipDataset(path: folder.path("loose"))
        }
        #expect(throws: ClipDatasetError.notAFolder(path: folder.path("loose/b.flac"))) {
            try ClipDataset(classFolders: folder.path("loose/b.flac"))
        }
        #expect(throws: ClipDatasetError.notFound(path: folder.path("nowhere"))) {
            try ClipDataset(path: folder.path("nowhere"))
        }
    }

    @Test("the shipped spoken digits read through their labels.tsv",
          .enabled(if: FileManager.default.fileExists(
              atPath: datasetsDirectory.appendingPathComponent("audio/digits/train/labels.tsv").path)))
    func shippedDigits() throws {
        let train = try ClipDataset(path: datasetsDirectory.appendingPathComponent("audio/digits/train").path)
        #expect(train.labels == (0...9).map(String.init))
        #expect(train.count == 230)
        let test = try ClipDataset(path: datasetsDirectory.appendingPathComponent("audio/digits/test-8000").path,
                                   labels: train.labels)
        let clip = try test.load(0)
        #expect(clip.sampleRate == 8000 && clip.channels == 1 && clip.frames > 0)
    }
}
