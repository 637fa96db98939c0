// End-to-end runs of the audio commands on the shipped data, tiny settings: train (classification and next-sample),
// eval (--json, --no-rate-scaling, bits per sample), predict, generate (also at another rate); errors as one line.
import Foundation
import Testing
import _MambaTestSupport

struct AudioCommandTests {
    let digits = datasetsDirectory.appendingPathComponent("audio/digits")
    let speech = datasetsDirectory.appendingPathComponent("audio/speech")

    @Test func classifierTrainEvalPredictAtAnotherRate() throws {
        let folder = try makeTemporaryDirectory("audio-cli")
        let model = folder.appendingPathComponent("model").path
        let train = try runTool(["train", "--data", digits.appendingPathComponent("train/labels.tsv").path,
                                 "--out", model, "--steps", "2", "--batch", "4", "--d-model", "16", "--channels", "16",
                                 "--layers", "1"])
        #expect(train.status == 0, "\(train.stderr)")
        // Every tenth of the 100 clips of test-48000, one per digit (a manifest in the temporary folder, absolute
        // paths), to keep the debug run short.
        let manifest = try String(contentsOf: digits.appendingPathComponent("test-48000/labels.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        let rows = stride(from: manifest.startIndex, to: manifest.endIndex, by: 10).map { manifest[$0] }.map { line -> String in
                let fields = line.split(separator: "\t")
                return "\(digits.appendingPathComponent("test-48000/\(fields[0])").path)\t\(fields[1])"
            }
        let subset = folder.appendingPathComponent("test-48000-subset.tsv")
        try (["file\tlabel"] + rows).joined(separator: "\n").appending("\n").write(to: subset, atomically: true, encoding: .utf8)
        for flags in [[], ["--no-rate-scaling"]] {
            let eval = try runTool(["eval", "--model", model, "--data", subset.path, "--json"] + flags)
            #expect(eval.status == 0, "\(eval.stderr)")
            let object = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
            #expect(object["count"] as? Int == 10)
            let accuracy = try #require(object["accuracy"] as? Double)
            #expect(accuracy >= 0 && accuracy <= 1)
            #expect((object["confusion"] as? [[Int]])?.count == 10)
            #expect(object["rate_scaling"] as? Bool == flags.isEmpty)
        }
        let clip = digits.appendingPathComponent("test-8000/3_espeak-adam-en-gb-x-gbclan.flac")
        let files = try FileManager.default.contentsOfDirectory(atPath: digits.appendingPathComponent("test-8000").path)
            .filter { $0.hasSuffix(".flac") }.sorted()
        let file = FileManager.default.fileExists(atPath: clip.path) ? clip.path
            : digits.appendingPathComponent("test-8000/\(files[0])").path
        let predict = try runTool(["predict", "--model", model, file])
        #expect(predict.status == 0, "\(predict.stderr)")
        let lines = predict.stdout.split(separator: "\n")
        #expect(lines.first == "file\tlabel\tprobability")
        let fields = lines[1].split(separator: "\t")
        #expect(fields.count == 3 && String(fields[0]) == file)
        let probability = try #require(Double(fields[2]))
        #expect(probability > 0 && probability <= 1)
    }

    @Test func nextSampleTrainEvalGenerate() throws {
        let folder = try makeTemporaryDirectory("audio-cli")
        let model = folder.appendingPathComponent("lm").path
        let train = try runTool(["train", "--task", "next-sample", "--data",
                                 speech.appendingPathComponent("train/labels.tsv").path, "--out", model, "--steps", "2",
                                 "--batch", "2", "--length", "128", "--d-model", "16", "--layers", "1"])
        #expect(train.status == 0, "\(train.stderr)")
        // Two held-out recordings (a manifest in the temporary folder, paths relative to it), to keep the debug run short.
        let rows = try String(contentsOf: speech.appendingPathComponent("test/labels.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().prefix(2).map { line -> String in
                let name = String(line.split(separator: "\t")[0])
                return "\(speech.appendingPathComponent("test/\(name)").path)\t\(line.split(separator: "\t")[1])"
            }
        let heldOut = folder.appendingPathComponent("held-out.tsv")
        try (["file\tlabel"] + rows).joined(separator: "\n").appending("\n").write(to: heldOut, atomically: true, encoding: .utf8)
        let eval = try runTool(["eval", "--model", model, "--data", heldOut.path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let bits = try #require(object["bits_per_sample"] as? Double)
        #expect(bits > 0 && bits < 12)
        let out = folder.appendingPathComponent("gen.wav").path
        let generate = try runTool(["generate", "--model", model, "--seconds", "0.05", "--out", out, "--seed", "3"])
        #expect(generate.status == 0, "\(generate.stderr)")
        #expect(generate.stderr.contains("real-time factor"))
        let attributes = try FileManager.default.attributesOfItem(atPath: out)
        #expect((attributes[.size] as? Int ?? 0) >= 44 + 2 * 400)
        // The 8 kHz model at 16 kHz: Δ and conv1d rescaled by ρ = 0.5, twice the samples for the same duration.
        let out16 = folder.appendingPathComponent("gen16.wav").path
        let generate16 = try runTool(["generate", "--model", model, "--seconds", "0.05", "--rate", "16000", "--out", out16])
        #expect(generate16.status == 0, "\(generate16.stderr)")
        #expect(generate16.stderr.contains("at 16000 Hz") && generate16.stderr.contains("time scale 0.5000"))
        let attributes16 = try FileManager.default.attributesOfItem(atPath: out16)
        #expect((attributes16[.size] as? Int ?? 0) >= 44 + 2 * 800)
    }

    @Test func badInputIsOneErrorLine() throws {
        let folder = try makeTemporaryDirectory("audio-cli")
        let manifest = folder.appendingPathComponent("labels.tsv")
        try "file\tlabel\nmissing.wav\tx\n".write(to: manifest, atomically: true, encoding: .utf8)
        let run = try runTool(["train", "--data", manifest.path, "--out", folder.appendingPathComponent("m").path,
                               "--steps", "1"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("missing.wav"))
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }
}
