// The DNA classifier: reverse-complement invariance with RC averaging, the combination of window predictions (against
// windows predicted one by one), the training source's resume and augmentation, initialisation from a next-base
// model, a tiny training run that must learn, streaming prediction and embeddings, ensembles (against their members
// predicted one by one; saving, loading, training with one validation split), and input errors.
import Foundation
import Testing
import MambaBackbone
import MambaGenomics
import MambaTensor
import MambaTokenizers
import MambaTraining
@testable import MambaGenomicsML
import _MambaTestSupport

private func randomBases(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = Xoshiro256StarStar(seed: seed)
    let alphabet = Array("ACGT".utf8)
    return (0..<count).map { _ in alphabet[Int(generator.next() % 4)] }
}

private func tinyClassifier(window: Int = 64, stride: Int? = nil, rcAverage: Bool, bidirectional: Bool = false,
                            seed: UInt64 = 3) throws -> DNAClassifier {
    try DNAClassifier(labels: ["x", "y", "z"], dModel: 16, layers: 2, dState: 4, bidirectional: bidirectional,
                      settings: DNAClassifierSettings(windowLength: window, windowStride: stride, rcAverage: rcAverage),
                      seed: seed)
}

/// `count` labelled records alternating "gc" (bases drawn 80% from G/C) and "at" (80% from A/T), of lengths drawn by
/// `length` from the same generator.
/// Training options small enough for unit tests: 1 layer of d_state 4, batches of 8, a fifth held out for validation.
private func tinyOptions(dModel: Int = 8, steps: Int, validateEvery: Int,
                         learningRate: Double = 2e-2) -> DNAClassifierTrainingOptions {
    var options = DNAClassifierTrainingOptions()
    options.dModel = dModel
    options.layers = 1
    options.dState = 4
    options.steps = steps
    options.batchSize = 8
    options.learningRate = learningRate
    options.evaluationInterval = validateEvery
    options.validationFraction = 0.2
    return options
}

private func gcAndATRecords(_ count: Int, seed: UInt64,
                            length: (inout Xoshiro256StarStar) -> Int) -> [LabelledSequence] {
    var generator = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { i in
        let gc = i % 2 == 0
        let n = length(&generator)
        let bases: [UInt8] = (0..<n).map { _ in
            let rich = generator.next() % 10 < 8
            let pair = (gc == rich) ? Array("GC".utf8) : Array("AT".utf8)
            return pair[Int(generator.next() % 2)]
        }
        return LabelledSequence(id: "r\(i)", sequence: bases, label: gc ? "gc" : "at")
    }
}

struct DNAClassifierTests {
    @Test(arguments: [false, true])
    func rcAveragingMakesPredictionsStrandInvariant(bidirectional: Bool) throws {
        let averaged = try tinyClassifier(rcAverage: true, bidirectional: bidirectional)
        let plain = try tinyClassifier(rcAverage: false, bidirectional: bidirectional)
        // 40 bases: one window; 70 bases with window 16, stride 6: windows at 0, 6, ..., 48 and 54, which map onto
        // each other under reversal (54 + 16 = 70), so the layout is symmetric and invariance holds there too.
        let symmetric = try tinyClassifier(window: 16, stride: 6, rcAverage: true, bidirectional: bidirectional)
        for (model, length) in [(averaged, 40), (symmetric, 70)] {
            let bases = randomBases(length, seed: UInt64(length))
            let rc = NucleotideAlphabet.reverseComplement(bases)
            let p = try model.predict([bases, rc]).probabilities
            #expect(maxAbsoluteDifference(p[0], p[1]) < 1e-5, "\(p)")
        }
        let bases = randomBases(40, seed: 40)
        let p = try plain.predict([bases, NucleotideAlphabet.reverseComplement(bases)]).probabilities
        #expect(maxAbsoluteDifference(p[0], p[1]) > 1e-4, "a random model without averaging should see the strand")
    }

    @Test func longRecordsAverageTheirWindowsWeightedByLength() throws {
        let model = try tinyClassifier(window: 32, stride: 20, rcAverage: true)
        let bases = randomBases(75, seed: 9)
        let ids = try model.encode(bases)
        let windows = model.settings.windows(sequenceLength: 75, sequence: 0)
        #expect(windows.map(\.start) == [0, 20, 40, 43])
        // Plain reference: each window and its reverse complement on their own, equal lengths -> a plain mean.
        let single = try DNAClassifier(model: model.model, settings: DNAClassifierSettings(windowLength: 1000, rcAverage: false))
        var expected = [Double](repeating: 0, count: 3)
        for window in windows {
            let part = Array(ids[window.range])
            for strand in [part, DNATokenizer.reverseComplement(part)] {
                let q = try single.predict(tokens: [strand]).probabilities[0]
                for k in 0..<3 { expected[k] += q[k] / Double(2 * windows.count) }
            }
        }
        // Batched with other records of other lengths (padding and masks), the result must be the same.
        let combined = try model.predict(tokens: [try model.encode(randomBases(13, seed: 1)), ids,
                                                  try model.encode(randomBases(31, seed: 2))]).probabilities[1]
        #expect(maxAbsoluteDifference(combined, expected) < 1e-5, "\(combined) vs \(expected)")
        #expect(abs(combined.reduce(0, +) - 1) < 1e-9)
    }

    @Test func embeddingsAreThePooledStatesOfTheForwardPass() throws {
        let model = try tinyClassifier(window: 64, rcAverage: false)
        let bases = randomBases(30, seed: 5)
        let result = try model.predict([bases], embeddings: true)
        let output = try model.model.forward(MambaBackbone.TokenBatch(sequences: [model.encode(bases)], padding: DNATokenizer.pad))
        let pooled = try #require(output.pooled).array
        #expect(maxAbsoluteDifference(result.embeddings![0], pooled) < 1e-6)
    }

    @Test func windowSourceResumesExactlyAndAugmentsAboutHalf() throws {
        // Random bases: no window's reverse complement is another window's forward slice.
        let records = (0..<40).map { i in randomBases(20 + i, seed: UInt64(100 + i)).map { Int32(DNATokenizer.token(forByte: $0)!) } }
        let labels = (0..<40).map { Int32($0 % 2) }
        let settings = DNAClassifierSettings(windowLength: 32, windowStride: 16)
        var a = try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true, batchSize: 8, seed: 4)
        for _ in 0..<5 { _ = try a.next() }
        let saved = a.position
        let expected = try (0..<7).map { _ in try a.next() }
        var b = try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true, batchSize: 8, seed: 4)
        try b.restore(saved)
        let resumed = try (0..<7).map { _ in try b.next() }
        #expect(resumed.map(\.tokens) == expected.map(\.tokens))
        #expect(resumed.map(\.objective) == expected.map(\.objective))
        // Every window's ids are its record's slice or that slice's reverse complement; count the flips.
        var c = try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true, batchSize: 1, seed: 4)
        var flipped = 0, total = 0
        for _ in 0..<400 {
            let batch = try c.next()
            let ids = Array(batch.tokens.ids.prefix(batch.tokens.lengths[0]))
            let matches = c.windows.contains { w in
                let part = Array(records[w.sequence][w.range])
                if part == ids { return true }
                if DNATokenizer.reverseComplement(part) == ids { flipped += 1; return true }
                return false
            }
            #expect(matches)
            total += 1
        }
        #expect(flipped > total / 3 && flipped < 2 * total / 3, "\(flipped) of \(total)")
        #expect(c.windows.count == records.reduce(0) { $0 + settings.windows(sequenceLength: $1.count, sequence: 0).count })
    }

    @Test func cropAugmentGivesRunsOfAtLeastTheFractionAndResumesExactly() throws {
        let records = (0..<30).map { i in randomBases(40 + i, seed: UInt64(300 + i)).map { Int32(DNATokenizer.token(forByte: $0)!) } }
        let labels = (0..<30).map { Int32($0 % 3) }
        let settings = DNAClassifierSettings(windowLength: 48, windowStride: 24)
        var source = try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true,
                                         cropFraction: 0.5, batchSize: 1, seed: 9)
        var shortest = Int.max, cropped = 0
        for _ in 0..<300 {
            let batch = try source.next()
            let ids = Array(batch.tokens.ids.prefix(batch.tokens.lengths[0]))
            // A contiguous run (either strand) of some window of a record of the batch's class, at least half of it.
            let label = { if case .classification(let l) = batch.objective { return l[0] } else { return -1 } }()
            let found = source.windows.contains { w in
                guard labels[w.sequence] == label, ids.count * 2 >= w.range.count, ids.count <= w.range.count else { return false }
                let part = Array(records[w.sequence][w.range]), back = DNATokenizer.reverseComplement(part)
                return (0...(part.count - ids.count)).contains { o in
                    Array(part[o..<(o + ids.count)]) == ids || Array(back[o..<(o + ids.count)]) == ids
                }
            }
            #expect(found)
            shortest = min(shortest, ids.count)
            if ids.count < min(48, records.map(\.count).min()!) { cropped += 1 }
        }
        #expect(shortest >= 20 && cropped > 150, "shortest \(shortest), cropped \(cropped) of 300")
        // Resume: the crop draws come from the saved generator.
        for _ in 0..<3 { _ = try source.next() }
        let saved = source.position
        let expected = try (0..<5).map { _ in try source.next().tokens }
        var again = try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true,
                                        cropFraction: 0.5, batchSize: 1, seed: 9)
        try again.restore(saved)
        #expect(try (0..<5).map { _ in try again.next().tokens } == expected)
        #expect(throws: DNAModelError.self) {
            try DNAWindowSource(records: records, labels: labels, settings: settings, rcAugment: true, cropFraction: 0,
                                batchSize: 1, seed: 9)
        }
    }

    @Test func backboneInitialisesFromANextBaseModel() throws {
        let folder = try makeTemporaryDirectory("dna-init")
        var c = MambaConfiguration(vocabSize: DNATokenizer.vocabularySize, hiddenSize: 16, stateSize: 4, numHiddenLayers: 2)
        c.tokenizer = "dna-char"
        let lm = try MambaModel(configuration: c, seed: 11)
        try lm.save(to: folder)
        let classifier = try tinyClassifier(rcAverage: true)
        #expect(try classifier.initializeBackbone(from: folder) > 0)
        for entry in classifier.model.layout.entries where entry.name.hasPrefix("backbone.") {
            #expect(classifier.model.parameter(entry.name)!.array == lm.parameter(entry.name)!.array, "\(entry.name)")
        }
        let wider = try DNAClassifier(labels: ["x", "y"], dModel: 32, layers: 2, dState: 4, bidirectional: false,
                                      settings: DNAClassifierSettings(), seed: 1)
        #expect(throws: DNAModelError.self) { try wider.initializeBackbone(from: folder) }
    }

    @Test func aKmerEmbeddingTrainsSavesLoadsStaysStrandInvariantAndPassesToFineTuning() throws {
        let records = gcAndATRecords(80, seed: 25) { 20 + Int($0.next() % 21) }
        let train = try SequenceDataset(source: "synthetic", records: records)
        var options = tinyOptions(dModel: 16, steps: 30, validateEvery: 10)
        options.kmerEmbedding = 3
        let (model, report) = try trainDNAClassifier(train: train, options: options)
        #expect(model.model.configuration.ngramEmbedding == DNAClassifier.kmerEmbeddingConfiguration(order: 3))
        #expect(model.model.layout.entry("backbone.ngram_embeddings.weight")?.shape == [65, 16])
        #expect(report.validation!.accuracy >= 0.9, "\(report.validations)")
        // Written and read back: the same predictions; RC averaging still makes them strand-invariant (the reverse
        // complement has other k-mers, which the averaging sees too).
        let folder = try makeTemporaryDirectory("dna-kmer")
        try model.save(to: folder)
        let loaded = try DNAClassifier.load(from: folder)
        let bases = randomBases(37, seed: 5)
        let p = try model.predict([bases, NucleotideAlphabet.reverseComplement(bases)]).probabilities
        #expect(try loaded.predict([bases]).probabilities[0] == p[0])
        #expect(maxAbsoluteDifference(p[0], p[1]) < 1e-5, "\(p)")
        // Without averaging the k-mer table makes the strand visible (a check that the table is used at all).
        let plain = try model.with(settings: DNAClassifierSettings(windowLength: 64, rcAverage: false))
        let q = try plain.predict([bases, NucleotideAlphabet.reverseComplement(bases)]).probabilities
        #expect(maxAbsoluteDifference(q[0], q[1]) > 1e-4)

        // Fine-tuning from a next-base model with a k-mer embedding takes its order and copies its table.
        let lmFolder = try makeTemporaryDirectory("dna-kmer-lm")
        var c = MambaConfiguration(vocabSize: DNATokenizer.vocabularySize, hiddenSize: 16, stateSize: 4, numHiddenLayers: 1)
        c.tokenizer = "dna-char"
        c.ngramEmbedding = DNAClassifier.kmerEmbeddingConfiguration(order: 2)
        let lm = try MambaModel(configuration: c, seed: 12)
        try lm.save(to: lmFolder)
        var fineTune = tinyOptions(dModel: 16, steps: 1, validateEvery: 1, learningRate: 1e-12)
        fineTune.initFrom = lmFolder
        let (tuned, _) = try trainDNAClassifier(train: train, options: fineTune)
        #expect(tuned.model.configuration.ngramEmbedding?.order == 2)
        let table = tuned.model.parameter("backbone.ngram_embeddings.weight")!.array
        #expect(maxAbsoluteDifference(table, lm.parameter("backbone.ngram_embeddings.weight")!.array) < 1e-6)
    }

    @Test func tinyTrainingLearnsGCContentAndSelectsOnValidation() throws {
        // Class "gc": bases drawn 80% from G/C; class "at": 80% from A/T; lengths 20-40.
        let records = gcAndATRecords(80, seed: 21) { 20 + Int($0.next() % 21) }
        let train = try SequenceDataset(source: "synthetic", records: records)
        var options = tinyOptions(dModel: 16, steps: 30, validateEvery: 10)
        let (model, report) = try trainDNAClassifier(train: train, options: options)
        #expect(report.validationRecords == 16 && report.trainingRecords == 64)
        #expect(report.validations.count == 3)
        let best = report.validations.max { ($0.accuracy, -$0.loss) < ($1.accuracy, -$1.loss) }!
        #expect(report.selectedStep == best.step)
        #expect(report.validation!.accuracy >= 0.9, "\(report.validations)")
        // The returned model holds the selected parameters: evaluating it again gives the selected accuracy.
        let split = stratifiedSplit(labels: train.records.map { $0.labelIndex! }, classes: 2, fraction: 0.2, seed: 1)
        let held = try SequenceDataset(source: "v", records: split.validation.map { train.records[$0] }, labelSet: train.labels)
        #expect(try model.evaluate(held).accuracy == report.validation!.accuracy)

        // The file-level calls: train from a FASTA file into a folder, evaluate the folder on a FASTA file.
        let folder = try makeTemporaryDirectory("dna-api")
        let fasta = folder.appendingPathComponent("train.fa").path
        let writer = try FASTAWriter(path: fasta)
        for record in records { try writer.write(FASTARecord(id: record.id, label: record.label!, sequence: record.sequence)) }
        try writer.finish()
        var lines: [String] = []
        options.steps = 4
        _ = try trainDNAClassifier(fasta: fasta, options: options, output: folder.appendingPathComponent("m"),
                                   progress: ProgressReporter(totalSteps: 0, isTerminal: false, write: { lines.append($0) }))
        #expect(lines.contains { $0.contains("validation at step 4") })
        let metrics = try evaluateDNAClassifier(model: folder.appendingPathComponent("m"), fasta: fasta)
        #expect(metrics.count == 80)
    }

    @Test func aParameterAverageIsValidatedAndReturnedWhileTrainingRunsAsWithout() throws {
        let records = gcAndATRecords(60, seed: 23) { _ in 24 }
        let train = try SequenceDataset(source: "synthetic", records: records)
        let options = tinyOptions(steps: 12, validateEvery: 4)
        let folder = try makeTemporaryDirectory("dna-ema")
        func trainingLosses(_ name: String) throws -> [Double] {
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["event"] as? String == "train" }.map { ($0["loss"] as! NSNumber).doubleValue }
        }
        let (plain, _) = try trainDNAClassifier(train: train, options: options,
                                                metrics: try MetricsLog(url: folder.appendingPathComponent("plain.jsonl")))
        var averaged = options
        averaged.emaDecay = 0.8
        let (model, report) = try trainDNAClassifier(train: train, options: averaged,
                                                     metrics: try MetricsLog(url: folder.appendingPathComponent("ema.jsonl")))
        // The optimizer saw the same parameters at every step: each validation put the raw parameters back exactly.
        let losses = try trainingLosses("plain.jsonl"), averagedLosses = try trainingLosses("ema.jsonl")
        #expect(losses.count == 12 && losses == averagedLosses)
        #expect(model.model.parameters.array != plain.model.parameters.array)
        // The reported validation is the returned (averaged) model's.
        let split = stratifiedSplit(labels: train.records.map { $0.labelIndex! }, classes: 2, fraction: 0.2, seed: 1)
        let held = try SequenceDataset(source: "v", records: split.validation.map { train.records[$0] }, labelSet: train.labels)
        let again = try model.evaluate(held)
        #expect(again.accuracy == report.validation!.accuracy && again.loss == report.validation!.loss)
        // Without validation the last average is returned; after one step it is that step's parameters.
        var one = options
        one.steps = 1
        one.validationFraction = 0
        var oneAveraged = one
        oneAveraged.emaDecay = 0.8
        let oneStep = try trainDNAClassifier(train: train, options: one).0
        let oneStepAveraged = try trainDNAClassifier(train: train, options: oneAveraged).0
        #expect(oneStep.model.parameters.array == oneStepAveraged.model.parameters.array)
    }

    @Test(arguments: [(0.0, 3), (0.0, 8), (0.7, 6), (0.7, 13)])
    func aStoppedRunResumesToTheResultOfOneRun(ema: Double, stopAfterPolls: Int) throws {
        let records = gcAndATRecords(60, seed: 24) { 20 + Int($0.next() % 9) }
        let train = try SequenceDataset(source: "synthetic", records: records)
        var options = tinyOptions(steps: 14, validateEvery: 4)   // validations at 4, 8, 12 and 14
        options.cropFraction = 0.7
        options.emaDecay = ema
        let (whole, wholeReport) = try trainDNAClassifier(train: train, options: options)
        #expect(wholeReport.validations.map(\.step) == [4, 8, 12, 14])

        let folder = try makeTemporaryDirectory("dna-resume").appendingPathComponent("checkpoints")
        var polls = 0
        let (_, stoppedReport) = try trainDNAClassifier(train: train, options: options, checkpoints: folder,
                                                        stopRequested: { polls += 1; return polls > stopAfterPolls })
        #expect(stoppedReport.interrupted && stoppedReport.steps < 14)
        let (resumed, resumedReport) = try trainDNAClassifier(train: train, options: options, checkpoints: folder,
                                                              resume: true)
        #expect(!resumedReport.interrupted && resumedReport.steps == 14)
        #expect(resumed.model.parameters.array == whole.model.parameters.array)
        #expect(resumedReport.validations == wholeReport.validations)
        #expect(resumedReport.selectedStep == wholeReport.selectedStep)
        #expect(resumedReport.validation == wholeReport.validation)

        // Other options are refused, naming the difference; so is a folder without a checkpoint.
        var other = options
        other.cropFraction = 0.9
        #expect {
            try trainDNAClassifier(train: train, options: other, checkpoints: folder, resume: true)
        } throws: { error in
            guard case TrainingError.settingsChanged(_, let differences) = error else { return false }
            return differences == ["cropFraction 0.7 vs 0.9"]
        }
        let empty = try makeTemporaryDirectory("dna-resume-empty").appendingPathComponent("checkpoints")
        #expect(throws: TrainingError.nothingToResume(path: empty.path)) {
            try trainDNAClassifier(train: train, options: options, checkpoints: empty, resume: true)
        }
    }

    @Test func ensemblesAverageTheirMembersAndRoundTripThroughAFolder() throws {
        let a = try tinyClassifier(window: 24, stride: 10, rcAverage: true, seed: 3)
        let b = try tinyClassifier(window: 24, stride: 10, rcAverage: true, seed: 4)
        let ensemble = try DNAClassifier.ensemble(of: [a, b])
        #expect(ensemble.isEnsemble && ensemble.members.count == 2 && ensemble.embeddingWidth == 32)
        let records = [randomBases(50, seed: 1), randomBases(9, seed: 2), randomBases(24, seed: 3)]
        let joint = try ensemble.predict(records, embeddings: true)
        let pa = try a.predict(records, embeddings: true), pb = try b.predict(records, embeddings: true)
        for i in records.indices {
            let mean = zip(pa.probabilities[i], pb.probabilities[i]).map { ($0 + $1) / 2 }
            #expect(maxAbsoluteDifference(joint.probabilities[i], mean) < 1e-12)
            #expect(joint.embeddings![i] == pa.embeddings![i] + pb.embeddings![i])
        }
        // The members differ, so the average is not either one.
        #expect(maxAbsoluteDifference(pa.probabilities[0], pb.probabilities[0]) > 1e-4)

        // Saved over an earlier single model: members in their folders, no stale model.safetensors, same numbers.
        let folder = try makeTemporaryDirectory("dna-ensemble")
        try a.save(to: folder)
        try ensemble.save(to: folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["config.json", "member-1", "member-2"])
        let loaded = try DNAClassifier.load(from: folder)
        #expect(loaded.members.count == 2 && loaded.settings == ensemble.settings)
        #expect(try loaded.predict(records).probabilities == joint.probabilities)
        // An ensemble of an ensemble and a model flattens; a single member is an ordinary classifier.
        #expect(try DNAClassifier.ensemble(of: [loaded, a]).members.count == 3)
        #expect(try DNAClassifier.ensemble(of: [a]).predict(records).probabilities == pa.probabilities)

        // Members must agree on labels and prediction settings.
        let otherLabels = try DNAClassifier(labels: ["x", "y"], dModel: 16, layers: 2, dState: 4, bidirectional: false,
                                            settings: a.settings, seed: 5)
        #expect { try DNAClassifier.ensemble(of: [a, otherLabels]) } throws: { "\($0)".contains("member 2") && "\($0)".contains("labels") }
        let otherWindows = try tinyClassifier(window: 32, rcAverage: true)
        #expect { try DNAClassifier.ensemble(of: [a, otherWindows]) } throws: { "\($0)".contains("classifier 2") }
        // A broken member list names the file.
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"member-2\"", with: "\"../elsewhere\"").write(to: config, atomically: true, encoding: .utf8)
        #expect { try DNAClassifier.load(from: folder) } throws: { "\($0)".contains("config.json") && "\($0)".contains("members") }
        try text.replacingOccurrences(of: "\"member-2\"", with: "\"member-9\"").write(to: config, atomically: true, encoding: .utf8)
        #expect { try DNAClassifier.load(from: folder) } throws: { "\($0)".contains("member-9") }
    }

    @Test func ensembleTrainingSharesOneValidationSplitAndValidatesTheEnsemble() throws {
        let records = gcAndATRecords(60, seed: 22) { _ in 30 }
        let train = try SequenceDataset(source: "synthetic", records: records)
        var options = tinyOptions(steps: 6, validateEvery: 3, learningRate: DNAClassifierTrainingOptions().learningRate)
        options.seed = 7
        let (ensemble, report) = try trainDNAClassifierEnsemble(train: train, options: options, count: 3)
        #expect(ensemble.members.count == 3 && report.members.count == 3 && !report.interrupted)
        // Member i is exactly what a single training with seed 7 + i and split seed 7 gives.
        for i in 0..<3 {
            var single = options
            single.seed = 7 + UInt64(i)
            single.splitSeed = 7
            let (member, memberReport) = try trainDNAClassifier(train: train, options: single)
            #expect(member.model.parameters.array == ensemble.members[i].parameters.array)
            #expect(memberReport.validation?.accuracy == report.members[i].validation?.accuracy)
        }
        #expect(ensemble.members[0].parameters.array != ensemble.members[1].parameters.array)
        // The ensemble's validation: the shared split, evaluated with the ensemble.
        let split = stratifiedSplit(labels: train.records.map { $0.labelIndex! }, classes: 2, fraction: 0.2, seed: 7)
        let held = try SequenceDataset(source: "v", records: split.validation.map { train.records[$0] }, labelSet: train.labels)
        let expected = try ensemble.evaluate(held)
        #expect(report.validation?.count == 12 && report.validation?.accuracy == expected.accuracy)
        #expect(report.validation?.loss == expected.loss)

        // A stop request during member 2 ends it (best so far) and trains no member 3.
        var polls = 0
        let (stopped, stoppedReport) = try trainDNAClassifierEnsemble(train: train, options: options, count: 3,
                                                                      stopRequested: { polls += 1; return polls > 8 })
        #expect(stopped.members.count == 2 && stoppedReport.interrupted)
    }

    @Test func streamingPredictionWritesOneLinePerRecordAtomically() throws {
        let folder = try makeTemporaryDirectory("dna-predict")
        let fasta = folder.appendingPathComponent("in.fa.gz").path
        let writer = try FASTAWriter(path: fasta)
        for i in 0..<23 { try writer.write(FASTARecord(id: "seq\(i)", sequence: randomBases(10 + i, seed: UInt64(i)))) }
        try writer.finish()
        let model = try tinyClassifier(rcAverage: true)
        let out = folder.appendingPathComponent("p.tsv").path
        let counts = try model.writePredictions(fasta: fasta, to: out, chunk: 5)
        #expect(counts.records == 23)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 24 && lines[0] == "id\tlabel\tp_x\tp_y\tp_z")
        let fields = lines[5].split(separator: "\t")
        #expect(fields[0] == "seq4" && ["x", "y", "z"].contains(String(fields[1])))
        let p = fields[2...].map { Double($0)! }
        #expect(abs(p.reduce(0, +) - 1) < 1e-4)
        // Chunking does not change the numbers.
        let direct = try model.predict([randomBases(14, seed: 4)]).probabilities[0]
        #expect(maxAbsoluteDifference(p, direct) < 1e-5)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["in.fa.gz", "p.tsv"])

        let embeddings = folder.appendingPathComponent("e.safetensors")
        try model.writeEmbeddings(fasta: fasta, to: embeddings, chunk: 7)
        let file = try SafeTensorsFile(contentsOf: embeddings)
        #expect(try file.info("embeddings").shape == [23, 16])
        #expect(file.metadata["ids"]?.split(separator: "\n").count == 23)

        // A bad byte: the error names the file and line, and no output appears.
        let bad = folder.appendingPathComponent("bad.fa").path
        try ">a\nACGT\n>b\nAC#GT\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let badOut = folder.appendingPathComponent("bad.tsv").path
        #expect {
            try model.writePredictions(fasta: bad, to: badOut)
        } throws: { error in "\(error)".contains("bad.fa:4") }
        #expect(!FileManager.default.fileExists(atPath: badOut))
    }
}
