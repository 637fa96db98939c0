// The bad-input suite (issue 8, docs/bad-inputs.md): hostile or broken files fed to every command. Each case must
// end with exit status 1 (not a crash, not a usage error), exactly one line on standard error naming the file (or the
// option) and the problem, and nothing new left in the folder it ran in (no output file, no run folder, no temporary).
//
// Every case runs in a fresh folder, with relative paths, so messages read as a user would see them. Models come
// from tiny `mambakit train` runs made once per test process (a few seconds in a debug build), then are damaged.
// MAMBAKIT_BAD_INPUT_TABLE=FILE appends one Markdown table row per case to FILE (how docs/bad-inputs.md is written).
import Foundation
import Testing
import _MambaTestSupport

/// One bad input: what to write into the case folder, the command to run there, and what its one line must say.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    /// A text the message must contain: the file (as given on the command line, or with line and column), or the
    /// option at fault when no file is.
    var names: String
    /// A text the message must contain that says what is wrong (compared case-insensitively).
    var problem: String
    var prepare: @Sendable (CaseFolder) throws -> Void = { _ in }

    var testDescription: String { name }
}

/// The folder a case runs in, with helpers to write damaged inputs into it.
struct CaseFolder {
    let url: URL
    let models: URL

    func path(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: path(name)) }

    func write(_ name: String, bytes: [UInt8]) throws { try Data(bytes).write(to: path(name)) }

    /// Copies a trained fixture (`cls`, `nsm` or `run`) to `name`.
    func copy(_ fixture: String, to name: String) throws {
        try FileManager.default.copyItem(at: models.appendingPathComponent(fixture), to: path(name))
    }

    /// The step-2 checkpoint folder inside the copied run `run`.
    var checkpoint: String { "run/checkpoints/step-00000002" }

    /// Rewrites a safetensors file: `edit` gets the header as a JSON object and the data section.
    func editSafeTensors(_ name: String, _ edit: (inout [String: Any], inout Data) throws -> Void) throws {
        let bytes = try Data(contentsOf: path(name))
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try #require(try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as? [String: Any])
        var data = bytes.subdata(in: (8 + length)..<bytes.count)
        try edit(&header, &data)
        var text = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while text.count % 8 != 0 { text.append(0x20) }
        var out = Data((0..<8).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) })
        out.append(text)
        out.append(data)
        try out.write(to: path(name))
    }

    /// Edits the header entry of the first tensor whose name ends with `suffix`.
    func editTensor(_ file: String, suffix: String, _ edit: @escaping (inout [String: Any], inout Data) -> Void) throws {
        try editSafeTensors(file) { header, data in
            let name = try #require(header.keys.sorted().first { $0.hasSuffix(suffix) })
            var entry = try #require(header[name] as? [String: Any])
            edit(&entry, &data)
            header[name] = entry
        }
    }

    /// Writes a value into element `index` of the tensor ending with `suffix` (F32).
    func poke(_ file: String, suffix: String, index: Int, _ value: Float) throws {
        try editTensor(file, suffix: suffix) { entry, data in
            let begin = (entry["data_offsets"] as! [Int])[0] + 4 * index
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(begin..<(begin + 4), with: $0) }
        }
    }

    /// Sets a key of a JSON file (config.json).
    func editJSON(_ name: String, key: String, _ value: Any) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: path(name))) as? [String: Any])
        object[key] = value
        try JSONSerialization.data(withJSONObject: object).write(to: path(name))
    }
}

/// A 32-bit float WAV (format 3) of `samples`, interleaved over `channels`.
func floatWAV(_ samples: [Float], channels: Int = 1, rate: Int = 8000) -> [UInt8] {
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    let data = samples.flatMap { le32(Int($0.bitPattern)) }
    let format = le16(3) + le16(channels) + le32(rate) + le32(rate * 4 * channels) + le16(4 * channels) + le16(32)
    return Array("RIFF".utf8) + le32(4 + 8 + format.count + 8 + data.count) + Array("WAVE".utf8)
        + Array("fmt ".utf8) + le32(format.count) + format + Array("data".utf8) + le32(data.count) + data
}

/// A clip of 4000 samples (0.5 s at 8 kHz) with `value` at sample `index` (`channels` interleaved).
func clip(with value: Float, at index: Int, channels: Int = 1) -> [UInt8] {
    var samples = (0..<(4000 * channels)).map { Float(($0 % 40) - 20) / 100 }
    samples[index] = value
    return floatWAV(samples, channels: channels)
}

let digits8k = datasetsDirectory.appendingPathComponent("audio/digits/test-8000")
let speciesTest = datasetsDirectory.appendingPathComponent("dna/species4/test.fa.gz")
let tinyModel = ["--d-model", "8", "--layers", "1", "--d-state", "2", "--batch", "2", "--threads", "1"]
let syntheticRun = ["train", "--task", "induction-heads", "--length", "16", "--steps", "4", "--checkpoint-every", "2",
                    "--output", "run"] + tinyModel
let lmRun = ["train", "--task", "lm", "--length", "32", "--steps", "1", "--output", "run"] + tinyModel

/// The trained fixtures, made once: `cls` (audio classifier), `nsm` (mu-law next-sample model), `run` (a synthetic
/// training run stopped at step 2 with its checkpoint).
private let trainedModels: Result<URL, any Error> = Result {
    let folder = try makeTemporaryDirectory("bad-input-models")
    let runs: [[String]] = [
        ["train", "--data", digits8k.appendingPathComponent("labels.tsv").path, "--out", "cls", "--steps", "1",
         "--batch", "2", "--d-model", "8", "--channels", "8", "--layers", "1", "--d-state", "2", "--threads", "1"],
        ["train", "--task", "next-sample", "--data", digits8k.appendingPathComponent("labels.tsv").path, "--out", "nsm",
         "--steps", "1", "--batch", "2", "--length", "64", "--d-model", "8", "--layers", "1", "--d-state", "2",
         "--threads", "1"],
        syntheticRun + ["--stop-after", "2"],
    ]
    for arguments in runs {
        let run = try runTool(arguments, in: folder)
        guard run.status == 0 else { throw CLITestError("fixture run \(arguments) failed: \(run.stderr)") }
    }
    return folder
}

let badInputs: [BadInput] = [
    // MARK: inspect: FASTA, gzip, audio
    BadInput(name: "inspect: file missing", arguments: ["inspect", "nope.fa"], names: "nope.fa", problem: "no such file"),
    BadInput(name: "inspect: a folder", arguments: ["inspect", "reads.fa"], names: "reads.fa", problem: "is a folder") {
        try FileManager.default.createDirectory(at: $0.path("reads.fa"), withIntermediateDirectories: false)
    },
    BadInput(name: "inspect: empty file", arguments: ["inspect", "empty.fa"], names: "empty.fa", problem: "empty file") {
        try $0.write("empty.fa", "")
    },
    BadInput(name: "inspect: invalid nucleotide", arguments: ["inspect", "bad.fa"], names: "bad.fa:2:5",
             problem: "'X' is not a nucleotide code") { try $0.write("bad.fa", ">a\nACGTXACGT\n") },
    BadInput(name: "inspect: sequence before the first header", arguments: ["inspect", "seq.fa"], names: "seq.fa:1",
             problem: "before the first '>' header") { try $0.write("seq.fa", "ACGT\n>a\nAC\n") },
    BadInput(name: "inspect: header without an id", arguments: ["inspect", "noid.fa"], names: "noid.fa:3",
             problem: "empty id") { try $0.write("noid.fa", ">a\nAC\n>\nACGT\n") },
    BadInput(name: "inspect: header not UTF-8", arguments: ["inspect", "utf.fa"], names: "utf.fa:1",
             problem: "not valid UTF-8") { try $0.write("utf.fa", bytes: Array(">id ".utf8) + [0xFF, 0xFE, 0x0A] + Array("ACGT\n".utf8)) },
    BadInput(name: "inspect: FASTQ", arguments: ["inspect", "reads.fastq"], names: "reads.fastq:1:1",
             problem: "FASTQ?") { try $0.write("reads.fastq", "@r1\nACGT\n+\nIIII\n") },
    BadInput(name: "inspect: bzip2-compressed FASTA", arguments: ["inspect", "genome.fa.bz2"], names: "genome.fa.bz2",
             problem: "bzip2-compressed") { try $0.write("genome.fa.bz2", bytes: Array("BZh91AY&SY".utf8) + [0, 1, 2, 3]) },
    BadInput(name: "inspect: truncated gzip (half-downloaded)", arguments: ["inspect", "half.fa.gz"], names: "half.fa.gz",
             problem: "gzip stream truncated") {
        try $0.write("half.fa.gz", bytes: Array(try Data(contentsOf: speciesTest).prefix(3000)))
    },
    BadInput(name: "inspect: corrupt gzip", arguments: ["inspect", "corrupt.fa.gz"], names: "corrupt.fa.gz",
             problem: "corrupt gzip data") {
        // The first deflate block header set to the reserved block type 3 (RFC 1951 3.2.3): inflate must refuse
        // it whatever the file's compressor (flipping bits mid-stream may instead decode to wrong letters).
        var bytes = Array(try Data(contentsOf: speciesTest))
        let flags = bytes[3]
        var start = 10
        if flags & 4 != 0 { start += 2 + Int(bytes[start]) + 256 * Int(bytes[start + 1]) }
        if flags & 8 != 0 { while bytes[start] != 0 { start += 1 }; start += 1 }
        if flags & 16 != 0 { while bytes[start] != 0 { start += 1 }; start += 1 }
        if flags & 2 != 0 { start += 2 }
        bytes[start] = 0x07
        try $0.write("corrupt.fa.gz", bytes: bytes)
    },
    BadInput(name: "inspect: garbage after the gzip data", arguments: ["inspect", "trailing.fa.gz"],
             names: "trailing.fa.gz", problem: "after the end of a gzip member") {
        try $0.write("trailing.fa.gz", bytes: Array(try Data(contentsOf: speciesTest)) + Array("junk\n".utf8))
    },
    BadInput(name: "inspect: binary data, neither FASTA nor audio", arguments: ["inspect", "blob.bin"],
             names: "blob.bin", problem: "not an audio format") {
        try $0.write("blob.bin", bytes: (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
    },
    BadInput(name: "inspect: NaN sample in a float WAV", arguments: ["inspect", "nan.wav"], names: "nan.wav",
             problem: "non-finite sample nan at frame 1234, channel 0") {
        try $0.write("nan.wav", bytes: clip(with: .nan, at: 1234))
    },
    BadInput(name: "inspect: infinite sample in a stereo WAV", arguments: ["inspect", "inf.wav"], names: "inf.wav",
             problem: "non-finite sample inf at frame 1000, channel 1") {
        try $0.write("inf.wav", bytes: clip(with: .infinity, at: 2001, channels: 2))
    },
    BadInput(name: "inspect: WAV header without frames", arguments: ["inspect", "hollow.wav"], names: "hollow.wav",
             problem: "no audio frames") { try $0.write("hollow.wav", bytes: floatWAV([])) },

    // MARK: train (DNA language model, synthetic run resumed)
    BadInput(name: "train lm: invalid nucleotide in --data", arguments: lmRun + ["--data", "bad.fa"],
             names: "bad.fa:3:2", problem: "not a nucleotide code") {
        try $0.write("bad.fa", ">a\nACGTACGT\nA!GT\n")
    },
    BadInput(name: "train lm: --data without records", arguments: lmRun + ["--data", "notes.fa"], names: "notes.fa",
             problem: "no FASTA records") { try $0.write("notes.fa", ";only a comment\n\n") },
    BadInput(name: "train lm: --data shorter than one window", arguments: lmRun + ["--data", "short.fa"],
             names: "short.fa", problem: "too few") { try $0.write("short.fa", ">a\nACGTACGT\n") },
    BadInput(name: "train lm: --data missing", arguments: lmRun + ["--data", "nope.fa.gz"], names: "nope.fa.gz",
             problem: "no such file"),
    BadInput(name: "train lm: d_model 10^9", arguments: lmRun + ["--data", speciesTest.path, "--d-model", "1000000000"],
             names: "hidden_size", problem: "expected 1...65536, found 1000000000"),
    BadInput(name: "train --resume: 'latest' is garbage", arguments: syntheticRun + ["--resume"],
             names: "run/checkpoints/latest", problem: "expected a step folder name") {
        try $0.copy("run", to: "run")
        try $0.write("run/checkpoints/latest", "garbage\n")
    },
    BadInput(name: "train --resume: 'latest' names a missing folder", arguments: syntheticRun + ["--resume"],
             names: "run/checkpoints/latest", problem: "names 'step-00000009', which is not a folder") {
        try $0.copy("run", to: "run")
        try $0.write("run/checkpoints/latest", "step-00000009\n")
    },
    BadInput(name: "train --resume: truncated model.safetensors", arguments: syntheticRun + ["--resume"],
             names: "model.safetensors", problem: "outside the") {
        try $0.copy("run", to: "run")
        let file = $0.path($0.checkpoint + "/model.safetensors")
        try Data(try Data(contentsOf: file).dropLast(100)).write(to: file)
    },
    BadInput(name: "train --resume: infinity in the optimizer moments", arguments: syntheticRun + ["--resume"],
             names: "optimizer.safetensors", problem: "expected finite values, found inf") {
        try $0.copy("run", to: "run")
        try $0.poke($0.checkpoint + "/optimizer.safetensors", suffix: "mixer.D", index: 0, .infinity)
    },
    BadInput(name: "train --resume: trainer_state.json not JSON", arguments: syntheticRun + ["--resume"],
             names: "trainer_state.json", problem: "expected the trainer state") {
        try $0.copy("run", to: "run")
        try $0.write($0.checkpoint + "/trainer_state.json", "{\"step\": ")
    },

    // MARK: train (audio)
    BadInput(name: "train audio: manifest names a missing clip",
             arguments: ["train", "--data", "labels.tsv", "--out", "model", "--steps", "1"], names: "missing.wav",
             problem: "does not exist") { try $0.write("labels.tsv", "file\tlabel\nmissing.wav\tx\n") },
    BadInput(name: "train audio: manifest lists a clip twice",
             arguments: ["train", "--data", "labels.tsv", "--out", "model", "--steps", "1"], names: "labels.tsv:3",
             problem: "already listed") {
        try $0.write("a.wav", bytes: floatWAV([0.1, 0.2, 0.3]))
        try $0.write("labels.tsv", "file\tlabel\na.wav\tx\na.wav\ty\n")
    },
    BadInput(name: "train audio: manifest without a label column",
             arguments: ["train", "--data", "labels.tsv", "--out", "model", "--steps", "1"], names: "labels.tsv:1",
             problem: "no 'label' column") { try $0.write("labels.tsv", "file\tclass\na.wav\tx\n") },
    BadInput(name: "train audio: NaN sample in a training clip",
             arguments: ["train", "--data", "labels.tsv", "--out", "model", "--steps", "1", "--batch", "2"],
             names: "nan.wav", problem: "non-finite sample nan at frame 17") {
        try $0.write("ok.wav", bytes: clip(with: 0.5, at: 0))
        try $0.write("nan.wav", bytes: clip(with: .nan, at: 17))
        try $0.write("labels.tsv", "file\tlabel\nok.wav\ta\nnan.wav\tb\n")
    },

    BadInput(name: "train next-sample: NaN late in a recording",
             arguments: ["train", "--task", "next-sample", "--data", "labels.tsv", "--out", "model", "--steps", "1",
                         "--batch", "1", "--length", "64", "--d-model", "8", "--layers", "1"],
             names: "nan.wav", problem: "non-finite sample nan at frame 3999") {
        try $0.write("nan.wav", bytes: clip(with: .nan, at: 3999))
        try $0.write("labels.tsv", "file\tlabel\nnan.wav\tspeech\n")
    },

    // MARK: eval
    BadInput(name: "eval: model folder without config.json",
             arguments: ["eval", "--model", "model", "--data", digits8k.appendingPathComponent("labels.tsv").path],
             names: "model/config.json", problem: "no such file") {
        try $0.copy("cls", to: "model")
        try FileManager.default.removeItem(at: $0.path("model/config.json"))
    },
    BadInput(name: "eval: config.json with hidden_size 10^9",
             arguments: ["eval", "--model", "model", "--data", digits8k.appendingPathComponent("labels.tsv").path],
             names: "model/config.json", problem: "'hidden_size': expected 1...65536, found 1000000000") {
        try $0.copy("cls", to: "model")
        try $0.editJSON("model/config.json", key: "hidden_size", 1_000_000_000)
    },
    BadInput(name: "eval: manifest row with an extra field",
             arguments: ["eval", "--model", "model", "--data", "labels.tsv"], names: "labels.tsv:2",
             problem: "expected 2 fields") {
        try $0.copy("cls", to: "model")
        try $0.write("labels.tsv", "file\tlabel\na.wav\t1\tsurprise\n")
    },
    BadInput(name: "eval: NaN sample in a clip", arguments: ["eval", "--model", "model", "--data", "labels.tsv"],
             names: "nan.wav", problem: "non-finite sample nan at frame 99") {
        try $0.copy("cls", to: "model")
        try $0.write("nan.wav", bytes: clip(with: .nan, at: 99))
        try $0.write("labels.tsv", "file\tlabel\nnan.wav\t1\n")
    },

    // MARK: predict
    BadInput(name: "predict: a text file", arguments: ["predict", "--model", "model", "notes.txt"], names: "notes.txt",
             problem: "not an audio format") {
        try $0.copy("cls", to: "model")
        try $0.write("notes.txt", "not audio\n")
    },
    BadInput(name: "predict: empty audio file", arguments: ["predict", "--model", "model", "empty.wav"],
             names: "empty.wav", problem: "empty") {
        try $0.copy("cls", to: "model")
        try $0.write("empty.wav", "")
    },
    BadInput(name: "predict: NaN weight", arguments: ["predict", "--model", "model", "clip.wav"],
             names: "model/model.safetensors", problem: "expected finite values, found nan at element 3") {
        try $0.copy("cls", to: "model")
        try $0.write("clip.wav", bytes: clip(with: 0.5, at: 0))
        try $0.poke("model/model.safetensors", suffix: "in_proj.weight", index: 3, .nan)
    },
    BadInput(name: "predict: NaN in the front end's filters", arguments: ["predict", "--model", "model", "clip.wav"],
             names: "audio_front_end.safetensors", problem: "expected finite values, found nan") {
        try $0.copy("cls", to: "model")
        try $0.write("clip.wav", bytes: clip(with: 0.5, at: 0))
        try $0.poke("model/audio_front_end.safetensors", suffix: "filters", index: 5, .nan)
    },
    BadInput(name: "predict: header length beyond the file", arguments: ["predict", "--model", "model", "clip.wav"],
             names: "model/model.safetensors", problem: "header length") {
        try $0.copy("cls", to: "model")
        try $0.write("clip.wav", bytes: clip(with: 0.5, at: 0))
        let file = $0.path("model/model.safetensors")
        var bytes = Array(try Data(contentsOf: file))
        for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: (bytes.count * 10) >> (8 * k)) }
        try Data(bytes).write(to: file)
    },
    BadInput(name: "predict: missing tensor", arguments: ["predict", "--model", "model", "clip.wav"],
             names: "model/model.safetensors", problem: "missing tensor 'backbone.layers.0.mixer.D'") {
        try $0.copy("cls", to: "model")
        try $0.write("clip.wav", bytes: clip(with: 0.5, at: 0))
        try $0.editSafeTensors("model/model.safetensors") { header, _ in header["backbone.layers.0.mixer.D"] = nil }
    },

    BadInput(name: "predict: infinite sample in a clip", arguments: ["predict", "--model", "model", "inf.wav"],
             names: "inf.wav", problem: "non-finite sample -inf at frame 3210") {
        try $0.copy("cls", to: "model")
        try $0.write("inf.wav", bytes: clip(with: -.infinity, at: 3210))
    },

    // MARK: generate
    BadInput(name: "generate: NaN in the prompt",
             arguments: ["generate", "--model", "model", "--prompt", "nan.wav", "--seconds", "0.01", "--out", "out.wav"],
             names: "nan.wav", problem: "non-finite sample nan at frame 7") {
        try $0.copy("nsm", to: "model")
        try $0.write("nan.wav", bytes: clip(with: .nan, at: 7))
    },
    BadInput(name: "generate: overlapping tensors",
             arguments: ["generate", "--model", "model", "--seconds", "0.01", "--out", "out.wav"],
             names: "model/model.safetensors", problem: "overlap") {
        try $0.copy("nsm", to: "model")
        try $0.editSafeTensors("model/model.safetensors") { header, _ in
            var d = try #require(header["backbone.layers.0.mixer.D"] as? [String: Any])
            let norm = try #require(header["backbone.norm_f.weight"] as? [String: Any])
            let begin = (norm["data_offsets"] as! [Int])[0], size = 4 * (d["shape"] as! [Int])[0]
            d["data_offsets"] = [begin, begin + size]
            header["backbone.layers.0.mixer.D"] = d
        }
    },
    BadInput(name: "generate: shape whose element count overflows",
             arguments: ["generate", "--model", "model", "--seconds", "0.01", "--out", "out.wav"],
             names: "model/model.safetensors", problem: "overflows") {
        try $0.copy("nsm", to: "model")
        try $0.editTensor("model/model.safetensors", suffix: "mixer.D") { entry, _ in
            entry["shape"] = [1 << 40, 1 << 40]
        }
    },

    // MARK: debug
    BadInput(name: "debug forward: weight stored as I32",
             arguments: ["debug", "forward", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "model/model.safetensors", problem: "expected a floating-point dtype, found I32") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n")
        try $0.editTensor("model/model.safetensors", suffix: "mixer.D") { entry, _ in entry["dtype"] = "I32" }
    },
    BadInput(name: "debug forward: extra tensor",
             arguments: ["debug", "forward", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "model/model.safetensors", problem: "unexpected tensor 'backbone.layers.7.mixer.D'") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n")
        try $0.editSafeTensors("model/model.safetensors") { header, data in
            header["backbone.layers.7.mixer.D"] = ["dtype": "F32", "shape": [4], "data_offsets": [data.count, data.count + 16]]
            data.append(Data(count: 16))
        }
    },
    BadInput(name: "debug forward: wrong shape",
             arguments: ["debug", "forward", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "model/model.safetensors", problem: "expected shape [16], found [8, 2]") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n")
        try $0.editTensor("model/model.safetensors", suffix: "mixer.D") { entry, _ in entry["shape"] = [8, 2] }
    },
    BadInput(name: "debug forward: data_offsets beyond the data",
             arguments: ["debug", "forward", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "model/model.safetensors", problem: "outside the") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n")
        try $0.editTensor("model/model.safetensors", suffix: "mixer.D") { entry, data in
            entry["data_offsets"] = [data.count, data.count + 64]
        }
    },
    BadInput(name: "debug forward: token id outside the vocabulary",
             arguments: ["debug", "forward", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "tokens.txt", problem: "token id 99 is outside the model's vocabulary") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n4 99 5\n")
    },
    BadInput(name: "debug grads: token file not numbers",
             arguments: ["debug", "grads", "--model", "model", "--tokens", "tokens.txt", "--out", "out.safetensors"],
             names: "tokens.txt:2", problem: "expected an integer token id") {
        try $0.copy("run", to: "run")
        try FileManager.default.moveItem(at: $0.path($0.checkpoint), to: $0.path("model"))
        try $0.write("tokens.txt", "1 2 3\n4 five 6\n")
    },

    // MARK: bench
    BadInput(name: "bench forward: d_model 10^9", arguments: ["bench", "forward", "--d-model", "1000000000"],
             names: "hidden_size", problem: "expected 1...65536, found 1000000000"),
    BadInput(name: "bench train: 100000 layers", arguments: ["bench", "train", "--layers", "100000"],
             names: "num_hidden_layers", problem: "expected 1...1024, found 100000"),
]

struct BadInputTests {
    /// Every file and folder under `folder`, as relative paths.
    func listing(_ folder: URL) throws -> Set<String> {
        let items = FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []
        return Set(items)
    }

    @Test func suiteHasThirtyCasesOrMore() {
        #expect(badInputs.count >= 30)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count)
        let commands = Set(badInputs.map { $0.arguments[0] })
        #expect(commands == ["inspect", "train", "eval", "predict", "generate", "debug", "bench"])
    }

    @Test(arguments: badInputs)
    func failsWithOneLine(_ input: BadInput) throws {
        let models = try trainedModels.get()
        let folder = try makeTemporaryDirectory("bad-input")
        defer { try? FileManager.default.removeItem(at: folder) }
        let context = CaseFolder(url: folder, models: models)
        try input.prepare(context)
        let before = try listing(folder)
        let run = try runTool(input.arguments, in: folder)
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(run.status == 1, "exit status \(run.status); stderr: \(run.stderr)")
        #expect(lines.count == 1, "expected one line on stderr, found \(lines.count): \(run.stderr)")
        #expect(run.stderr.contains(input.names), "the message does not name '\(input.names)': \(run.stderr)")
        #expect(run.stderr.lowercased().contains(input.problem.lowercased()),
                "the message does not say '\(input.problem)': \(run.stderr)")
        let left = try listing(folder).subtracting(before)
        #expect(left.isEmpty, "left behind: \(left.sorted())")
        if let table = ProcessInfo.processInfo.environment["MAMBAKIT_BAD_INPUT_TABLE"] {
            let message = run.stderr.trimmingCharacters(in: .newlines)
                .replacingOccurrences(of: folder.path + "/", with: "")
                .replacingOccurrences(of: datasetsDirectory.path, with: "datasets")
                .replacingOccurrences(of: "|", with: "\\|")
            let command = (["mambakit"] + input.arguments)
                .map { $0.replacingOccurrences(of: datasetsDirectory.path, with: "datasets") }.joined(separator: " ")
            let number = (badInputs.firstIndex { $0.name == input.name } ?? 0) + 1
            let row = "| \(number) | \(input.name) | `\(command)` | `\(message)` |\n"
            // O_APPEND: the cases run in parallel, each adds its row in one write.
            let fd = open(table, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            try #require(fd >= 0, "cannot open \(table)")
            _ = Array(row.utf8).withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
    }
}
