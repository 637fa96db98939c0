// End-to-end runs of the DNA commands on tiny data cut from the shipped tasks: train --task classify (labels in
// headers, and a manifest), eval --json, predict to a file and to standard output, embed, next-base eval in bits per
// base, --init-from, ensembles (train --ensemble, and `ensemble` over models trained with one --split-seed); bad inputs
// as one error line.
import Foundation
import Testing
import MambaKit
import _MambaTestSupport

struct DNACommandTests {
    /// The first `count` records of a shipped split, as a small FASTA.gz in `folder`.
    func subset(_ task: String, _ split: String, count: Int, in folder: URL) throws -> String {
        let reader = try FASTAReader(path: datasetsDirectory.appendingPathComponent("dna/\(task)/\(split).fa.gz").path)
        let path = folder.appendingPathComponent("\(task)-\(split).fa.gz").path
        let writer = try FASTAWriter(path: path)
        for _ in 0..<count {
            guard let record = try reader.next() else { break }
            try writer.write(record)
        }
        try writer.finish()
        return path
    }

    @Test func trainEvalPredictEmbed() throws {
        let folder = try makeTemporaryDirectory("dna-cli")
        let train = try subset("coding", "train", count: 40, in: folder)
        let test = try subset("coding", "test", count: 12, in: folder)
        let model = folder.appendingPathComponent("model").path
        let run = try runTool(["train", "--task", "classify", "--data", train, "--out", model, "--steps", "3",
                               "--batch", "8", "--d-model", "16", "--layers", "1", "--d-state", "4", "--eval-every", "2",
                               "--window", "128"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("validation: accuracy"))
        #expect(FileManager.default.fileExists(atPath: model + "/model.safetensors"))

        let eval = try runTool(["eval", "--model", model, "--data", test, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(object["count"] as? Int == 12)
        let accuracy = try #require(object["accuracy"] as? Double)
        #expect(accuracy >= 0 && accuracy <= 1)
        #expect((object["labels"] as? [String]) == ["coding", "intergenic"])
        #expect(object["mcc"] is Double && object["precision"] is [String: Any] && object["recall"] is [String: Any])
        let text = try runTool(["eval", "--model", model, "--data", test])
        #expect(text.status == 0 && text.stdout.contains("MCC") && text.stdout.contains("precision"))

        let predictions = folder.appendingPathComponent("p.tsv").path
        let predict = try runTool(["predict", "--model", model, test, "--out", predictions])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stderr.contains("bases/s"))
        let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 13 && lines[0] == "id\tlabel\tp_coding\tp_intergenic")
        let toStdout = try runTool(["predict", "--model", model, test])
        #expect(toStdout.status == 0)
        #expect(toStdout.stdout.split(separator: "\n") == lines)

        let embeddings = folder.appendingPathComponent("e.safetensors")
        let embed = try runTool(["embed", "--model", model, test, "--out", embeddings.path])
        #expect(embed.status == 0, "\(embed.stderr)")
        #expect(try SafeTensorsFile(contentsOf: embeddings).info("embeddings").shape == [12, 16])
    }

    @Test func manifestLabelsPretrainingAndInitFrom() throws {
        let folder = try makeTemporaryDirectory("dna-cli")
        let train = try subset("promoter", "train", count: 30, in: folder)
        // The same records with their labels in a manifest instead (headers keep theirs: they must agree).
        let records = try FASTAReader.readAll(path: train)
        let manifest = folder.appendingPathComponent("labels.tsv")
        try (["id\tlabel"] + records.map { "\($0.id)\t\($0.label!)" }).joined(separator: "\n")
            .appending("\n").write(to: manifest, atomically: true, encoding: .utf8)
        let lm = folder.appendingPathComponent("lm").path
        let pre = try runTool(["train", "--task", "lm", "--data", train, "--output", lm, "--steps", "2", "--batch", "4",
                               "--length", "64", "--d-model", "16", "--layers", "1", "--d-state", "4",
                               "--kmer-embedding", "3"])
        #expect(pre.status == 0, "\(pre.stderr)")
        let bits = try runTool(["eval", "--model", lm, "--data", train, "--json", "--length", "128"])
        #expect(bits.status == 0, "\(bits.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(bits.stdout.utf8)) as? [String: Any])
        let value = try #require(object["bits_per_base"] as? Double)
        #expect(value > 1 && value < 4)

        let model = folder.appendingPathComponent("model").path
        let fine = try runTool(["train", "--task", "classify", "--data", train, "--labels", manifest.path, "--out", model,
                                "--steps", "2", "--batch", "4", "--init-from", lm])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(fine.stderr.contains("backbone initialised from"))
        let config = try MambaConfiguration.load(from: URL(fileURLWithPath: model + "/config.json"))
        #expect(config.hiddenSize == 16 && config.numHiddenLayers == 1)
        #expect(config.ngramEmbedding?.order == 3, "the k-mer embedding comes with the pre-trained backbone")
    }

    @Test func genomicBenchmarksFolder() throws {
        // Two classes of intervals on one reference: class a from chr1 (GC-rich), class b from chr2 (AT-rich).
        let folder = try makeTemporaryDirectory("dna-cli-gb")
        let benchmark = folder.appendingPathComponent("demo")
        var chr1 = "", chr2 = ""
        for i in 0..<400 { chr1 += ["G", "C", "G", "A"][i % 4]; chr2 += ["A", "T", "T", "C"][i % 4] }
        try ">chr1\n\(chr1)\n>chr2\n\(chr2)\n".write(to: folder.appendingPathComponent("ref.fa"), atomically: true, encoding: .utf8)
        for split in ["train", "test"] {
            try FileManager.default.createDirectory(at: benchmark.appendingPathComponent(split), withIntermediateDirectories: true)
            for (name, region) in [("a", "chr1"), ("b", "chr2")] {
                let rows = (0..<(split == "train" ? 12 : 4)).map { "\($0),\(region),\($0 * 20),\($0 * 20 + 40),\($0 % 2 == 0 ? "+" : "-")" }
                try (["id,region,start,end,strand"] + rows).joined(separator: "\n").appending("\n")
                    .write(to: benchmark.appendingPathComponent("\(split)/\(name).csv"), atomically: true, encoding: .utf8)
            }
        }
        let model = folder.appendingPathComponent("model").path
        let reference = folder.appendingPathComponent("ref.fa").path
        let train = try runTool(["train", "--task", "classify", "--data", benchmark.path, "--reference", reference,
                                 "--out", model, "--steps", "2", "--batch", "4", "--d-model", "16", "--layers", "1"])
        #expect(train.status == 0, "\(train.stderr)")
        let eval = try runTool(["eval", "--model", model, "--data", benchmark.path, "--reference", reference, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(object["count"] as? Int == 8)
        #expect((object["labels"] as? [String]) == ["a", "b"])
    }

    @Test func ensembles() throws {
        let folder = try makeTemporaryDirectory("dna-cli")
        let train = try subset("coding", "train", count: 40, in: folder)
        let test = try subset("coding", "test", count: 12, in: folder)
        let shape = ["--steps", "3", "--batch", "8", "--d-model", "16", "--layers", "1", "--d-state", "4",
                     "--eval-every", "3", "--window", "128"]
        let both = folder.appendingPathComponent("both").path
        let run = try runTool(["train", "--task", "classify", "--data", train, "--out", both, "--seed", "5",
                               "--ensemble", "2"] + shape)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("member 2 (seed 6): validation accuracy"), "\(run.stdout)")
        #expect(run.stdout.contains("ensemble of 2: validation accuracy"), "\(run.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: both).sorted() == ["config.json", "member-1", "member-2"])
        #expect(FileManager.default.fileExists(atPath: both + "/member-2/metrics.jsonl"))

        // The same members trained one by one with a shared split seed, then joined: the same predictions.
        var singles: [String] = []
        for seed in ["5", "6"] {
            let path = folder.appendingPathComponent("s\(seed)").path
            let one = try runTool(["train", "--task", "classify", "--data", train, "--out", path, "--seed", seed,
                                   "--split-seed", "5"] + shape)
            #expect(one.status == 0, "\(one.stderr)")
            singles.append(path)
        }
        let joined = folder.appendingPathComponent("joined").path
        let join = try runTool(["ensemble", "--out", joined] + singles)
        #expect(join.status == 0 && join.stdout.contains("ensemble of 2 members"), "\(join.stderr)")
        let a = try runTool(["predict", "--model", both, test]), b = try runTool(["predict", "--model", joined, test])
        #expect(a.status == 0 && b.status == 0 && a.stdout == b.stdout && a.stdout.split(separator: "\n").count == 13)
        let eval = try runTool(["eval", "--model", joined, "--data", test, "--json"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(object["count"] as? Int == 12)
        let embeddings = folder.appendingPathComponent("e.safetensors")
        #expect(try runTool(["embed", "--model", joined, test, "--out", embeddings.path]).status == 0)
        #expect(try SafeTensorsFile(contentsOf: embeddings).info("embeddings").shape == [12, 32])

        // One model, or models of other labels: one error line, nothing written.
        let alone = try runTool(["ensemble", "--out", folder.appendingPathComponent("x").path, singles[0]])
        #expect(alone.status == 1 && alone.stderr.split(separator: "\n").count == 1, "\(alone.stderr)")
        let other = try subset("promoter", "train", count: 20, in: folder)
        let otherModel = folder.appendingPathComponent("other").path
        #expect(try runTool(["train", "--task", "classify", "--data", other, "--out", otherModel] + shape).status == 0)
        let mixed = try runTool(["ensemble", "--out", folder.appendingPathComponent("y").path, singles[0], otherModel])
        #expect(mixed.status == 1 && mixed.stderr.contains("labels"), "\(mixed.stderr)")
        #expect(mixed.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("y").path))
        let zero = try runTool(["train", "--task", "classify", "--data", train, "--out", folder.appendingPathComponent("z").path,
                                "--ensemble", "0"] + shape)
        #expect(zero.status == 1 && zero.stderr.contains("--ensemble"), "\(zero.stderr)")
    }

    @Test func badInputsAreOneErrorLine() throws {
        let folder = try makeTemporaryDirectory("dna-cli")
        let unlabelled = folder.appendingPathComponent("u.fa").path
        try ">a\nACGT\n>b\nGGCC\n".write(toFile: unlabelled, atomically: true, encoding: .utf8)
        let missing = try runTool(["train", "--task", "classify", "--data", unlabelled, "--out",
                                   folder.appendingPathComponent("m").path, "--steps", "1"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("u.fa:1") && missing.stderr.contains("label="), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")

        let oneClass = folder.appendingPathComponent("one.fa").path
        try ">a label=x\nACGT\n>b label=x\nGGCC\n".write(toFile: oneClass, atomically: true, encoding: .utf8)
        let single = try runTool(["train", "--task", "classify", "--data", oneClass, "--out",
                                  folder.appendingPathComponent("m1").path, "--steps", "1"])
        #expect(single.status == 1 && single.stderr.contains("at least two classes"))
        #expect(single.stderr.split(separator: "\n").count == 1, "\(single.stderr)")

        let badAverage = try runTool(["train", "--task", "classify", "--data", oneClass, "--out",
                                      folder.appendingPathComponent("m2").path, "--ema", "1"])
        #expect(badAverage.status == 1 && badAverage.stderr.contains("--ema: expected a decay"), "\(badAverage.stderr)")
        #expect(badAverage.stderr.split(separator: "\n").count == 1, "\(badAverage.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("m2").path))

        let badKmer = try runTool(["train", "--task", "classify", "--data", oneClass, "--out",
                                   folder.appendingPathComponent("m4").path, "--kmer-embedding", "9"])
        #expect(badKmer.status == 1 && badKmer.stderr.contains("--kmer-embedding: expected a k-mer length"), "\(badKmer.stderr)")
        #expect(badKmer.stderr.split(separator: "\n").count == 1, "\(badKmer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("m4").path))

        let nothing = try runTool(["train", "--task", "classify", "--data", oneClass, "--out",
                                   folder.appendingPathComponent("m3").path, "--resume"])
        #expect(nothing.status == 1 && nothing.stderr.contains("m3/checkpoints"), "\(nothing.stderr)")
        #expect(nothing.stderr.split(separator: "\n").count == 1, "\(nothing.stderr)")

        let noModel = try runTool(["predict", "--model", folder.path, unlabelled])
        #expect(noModel.status == 1 && noModel.stderr.split(separator: "\n").count == 1, "\(noModel.stderr)")
    }
}
