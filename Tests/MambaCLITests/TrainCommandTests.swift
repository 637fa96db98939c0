// End-to-end runs of `mambakit train`, `mambakit synthetic` and `mambakit bench train` (the built executable), on
// tiny models so that they take a second or two in a debug build.
import Foundation
import MambaKit
import Testing
import _MambaTestSupport

struct TrainCommandTests {
    let tiny = ["--d-model", "16", "--layers", "2", "--d-state", "4", "--batch", "2", "--threads", "1"]

    /// The "loss" of every train line of a metrics file, as written (text, so equality is bit equality).
    func trainLosses(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard line.contains(#""event":"train""#), let range = line.range(of: #""loss":"#) else { return nil }
            return String(line[range.upperBound...].prefix { $0 != "," })
        }
    }

    @Test func stopResumeGivesTheLossesOfOneRun() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let common = ["train", "--task", "induction-heads", "--length", "24", "--steps", "6", "--warmup", "2",
                      "--validate-every", "3", "--validation-batches", "2", "--checkpoint-every", "0"] + tiny
        let whole = folder.appendingPathComponent("whole").path, split = folder.appendingPathComponent("split").path
        var (status, stdout, stderr) = try runMambakit(common + ["--output", whole])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.hasPrefix("completed at step 6"))
        (status, stdout, stderr) = try runMambakit(common + ["--output", split, "--stop-after", "4"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.hasPrefix("stop_after at step 4"))
        // Without --resume an existing run is not overwritten.
        (status, _, stderr) = try runMambakit(common + ["--output", split])
        #expect(status == 1 && stderr.contains("--resume"))
        (status, stdout, stderr) = try runMambakit(common + ["--output", split, "--resume"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.hasPrefix("completed at step 6"))
        let wholeLosses = try trainLosses(URL(fileURLWithPath: whole).appendingPathComponent("metrics.jsonl"))
        let splitLosses = try trainLosses(URL(fileURLWithPath: split).appendingPathComponent("metrics.jsonl"))
        #expect(wholeLosses.count == 6)
        #expect(splitLosses == wholeLosses)
        // The final checkpoint is a model folder.
        let latest = try #require(try CheckpointStore(directory: URL(fileURLWithPath: split).appendingPathComponent("checkpoints")).latest())
        #expect(latest.step == 6)
        let model = try MambaModel.load(from: latest.folder)
        #expect(model.configuration.numHiddenLayers == 2 && model.configuration.vocabSize == 16)
        // Resuming with another model shape is refused, naming the setting.
        (status, _, stderr) = try runMambakit(common + ["--output", split, "--resume", "--d-model", "32"])
        #expect(status == 1 && stderr.contains("--d-model 16 vs 32"), "\(stderr)")
    }

    @Test func languageModelOnAFastaFile() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fasta = folder.appendingPathComponent("tiny.fa")
        var generator = Xoshiro256StarStar(seed: 4)
        var text = ""
        for record in 0..<3 {
            text += ">r\(record)\n" + String((0..<300).map { _ in Array("ACGT")[Int(generator.next() % 4)] }) + "\n"
        }
        try Data(text.utf8).write(to: fasta)
        let output = folder.appendingPathComponent("run")
        let (status, stdout, stderr) = try runMambakit(["train", "--data", fasta.path, "--output", output.path,
                                                        "--length", "64", "--steps", "3", "--validation-fraction", "0.2",
                                                        "--validate-every", "0"] + tiny)
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("validation loss"))
        let lines = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if object["event"] as? String == "train" {
                #expect((object["loss"] as? Double ?? 0) > 1)
                #expect(object["accuracy"] is Double && object["tokens_per_second"] is Double)
                #expect(object["epoch"] is Double)
            }
        }
        #expect(lines.filter { $0.contains(#""event":"train""#) }.count == 3)
        let latest = try #require(try CheckpointStore(directory: output.appendingPathComponent("checkpoints")).latest())
        let model = try MambaModel.load(from: latest.folder)
        #expect(model.configuration.vocabSize == DNATokenizer.vocabularySize)
        #expect(model.configuration.padTokenID == Int(DNATokenizer.pad))
        // Bad input: the error is one line (after the progress lines) naming the file.
        let bad = folder.appendingPathComponent("bad.fa")
        try Data(">x\nAC*GT\n".utf8).write(to: bad)
        let (badStatus, _, badError) = try runMambakit(["train", "--data", bad.path, "--output",
                                                        folder.appendingPathComponent("bad").path, "--steps", "1"] + tiny)
        #expect(badStatus == 1)
        let last = badError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("mambakit train: error:") && last.contains("bad.fa"), "\(badError)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad/checkpoints").path))
    }

    @Test func syntheticRunsBothMixers() throws {
        let (status, stdout, stderr) = try runMambakit(["synthetic", "selective-copying", "--mixer", "both",
                                                        "--length", "24", "--memorize", "4", "--steps", "3",
                                                        "--eval-sequences", "4", "--json"] + tiny)
        #expect(status == 0, "\(stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.map { $0["mixer"] as? String } == ["s6", "s4d"])
        for result in results {
            let accuracy = try #require((result["accuracy"] as? [[String: Any]])?.first)
            #expect(accuracy["length"] as? Int == 24 && accuracy["scored"] as? Int == 16)
        }
        let (ihStatus, ihOut, ihError) = try runMambakit(["synthetic", "induction-heads", "--mixer", "s6", "--length", "16",
                                                          "--test-lengths", "16,40", "--steps", "2",
                                                          "--eval-sequences", "4"] + tiny)
        #expect(ihStatus == 0, "\(ihError)")
        #expect(ihOut.contains("acc@16") && ihOut.contains("acc@40"))
    }

    @Test func bothMixersSideBySideGiveTheirOneThreadResults() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let common = ["synthetic", "selective-copying", "--length", "24", "--memorize", "4", "--steps", "5",
                      "--warmup", "2", "--eval-sequences", "4", "--d-model", "16", "--layers", "2", "--d-state", "4",
                      "--batch", "2"]
        let both = folder.appendingPathComponent("both")
        let (status, _, stderr) = try runMambakit(common + ["--mixer", "both", "--threads", "2", "--output", both.path])
        #expect(status == 0, "\(stderr)")
        // Side by side, every progress line names its mixer.
        let lines = stderr.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("[s6] ") || $0.hasPrefix("[s4d] ") }, "\(stderr)")
        // Each mixer trained on one thread, undisturbed by the other: the losses of a run of that mixer alone.
        for mixer in ["s6", "s4d"] {
            let alone = folder.appendingPathComponent(mixer)
            let (aloneStatus, _, aloneError) = try runMambakit(common + ["--mixer", mixer, "--threads", "1",
                                                                         "--output", alone.path])
            #expect(aloneStatus == 0, "\(aloneError)")
            let expected = try trainLosses(alone.appendingPathComponent(mixer).appendingPathComponent("metrics.jsonl"))
            let found = try trainLosses(both.appendingPathComponent(mixer).appendingPathComponent("metrics.jsonl"))
            #expect(expected.count == 5)
            #expect(found == expected, "\(mixer)")
        }
    }

    @Test func benchTrainPrintsOneJSONObject() throws {
        let (status, stdout, stderr) = try runMambakit(["bench", "train", "--batch", "2", "--length", "32",
                                                        "--d-model", "16", "--layers", "2", "--d-state", "4",
                                                        "--expand", "2", "--threads", "1", "--vocab", "16",
                                                        "--repeats", "2", "--json"])
        #expect(status == 0, "\(stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        #expect((object["tokens_per_second"] as? Double ?? 0) > 0)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 1_000_000)
        #expect((object["losses"] as? [Double])?.count == 3)
    }
}
