// The loop on the stand-in objective: accumulation and clipping against a Double reference, bit-identical resume,
// the non-finite stop, a stop request, and the metrics file.
import Foundation
import MambaBackbone
import MambaTensor
import Testing
import _MambaTestSupport
@testable import MambaTraining

@Suite struct TrainerTests {
    static let features = 21

    func options(steps: Int, accumulation: Int = 1, checkpointInterval: Int = 0) -> TrainerOptions {
        TrainerOptions(steps: steps, accumulation: accumulation,
                        optimizer: AdamWConfiguration(beta1: 0.9, beta2: 0.99, weightDecay: 0.05),
                        schedule: LearningRateSchedule(peak: 0.05, warmupSteps: 3, totalSteps: steps),
                        maxGradientNorm: 0.8, checkpointInterval: checkpointInterval)
    }

    func makeTrainer(steps: Int, accumulation: Int = 1, poisonAt: Int? = nil, checkpointInterval: Int = 0,
                     modelSeed: UInt64 = 1, run directory: URL? = nil) throws -> Trainer<LinearRegression, RegressionData> {
        let model = LinearRegression(features: Self.features, seed: modelSeed)
        let data = RegressionData(features: Self.features, batchSize: 4, seed: 99, poisonAt: poisonAt)
        var validationData = RegressionData(features: Self.features, batchSize: 8, seed: 1234)
        let validation = try (0..<2).map { _ in try validationData.next() }
        let trainer = try Trainer(model: model, data: data, validation: validation,
                                  options: options(steps: steps, accumulation: accumulation,
                                                   checkpointInterval: checkpointInterval))
        if let directory {
            trainer.checkpoints = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        }
        trainer.stopRequested = { false }
        return trainer
    }

    @Test func accumulationAndClippingMatchADoubleReference() throws {
        let steps = 5, accumulation = 3
        let trainer = try makeTrainer(steps: steps, accumulation: accumulation)
        // The reference replays the same batches: a copy of the data source, the model's initial parameters.
        var data = trainer.data
        let spans = trainer.model.parameterSpans
        let weights = spans[0], bias = spans[1]
        var w = (0..<weights.count).map { Double(trainer.model.parameters.pointer[$0]) }
        var b = Double(trainer.model.parameters.pointer[bias.offset])
        var adam = ReferenceAdamW(count: weights.count + 1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.05)
        var expectedLosses: [Double] = []
        for step in 0..<steps {
            var gradient = [Double](repeating: 0, count: weights.count + 1)
            var lossSum = 0.0, count = 0
            for _ in 0..<accumulation {
                let batch = try data.next()
                for (x, y) in zip(batch.inputs, batch.targets) {
                    var prediction = b
                    for i in 0..<weights.count { prediction += w[i] * Double(x[i]) }
                    let r = prediction - Double(y)
                    lossSum += 0.5 * r * r
                    count += 1
                    // d(mean over micro-batch)/dθ, then the mean over micro-batches.
                    for i in 0..<weights.count { gradient[i] += r * Double(x[i]) / Double(batch.inputs.count) / Double(accumulation) }
                    gradient[weights.count] += r / Double(batch.inputs.count) / Double(accumulation)
                }
            }
            expectedLosses.append(lossSum / Double(count))
            let (_, scale) = referenceClipScale(gradient, maxNorm: 0.8)
            var p = w + [b]
            // weight decays, bias does not ("*bias" is excluded by default).
            adam.step(&p, gradient, lr: trainer.options.schedule.rate(atStep: step),
                      decay: Array(repeating: true, count: weights.count) + [false], scale: scale)
            w = Array(p[0..<weights.count])
            b = p[weights.count]
        }
        let outcome = try trainer.run()
        #expect(outcome.reason == .completed)
        #expect(outcome.step == steps)
        #expect(trainer.model.calls == steps * accumulation)
        let losses = trainer.history.map(\.statistics.loss)
        #expect(maxAbsoluteDifference(losses, expectedLosses) < 1e-5)
        #expect(trainer.history.allSatisfy { $0.statistics.count == 12 && $0.tokens == 12 })
        #expect(trainer.history.contains { $0.clipScale < 1 }, "the test should exercise clipping")
        let fast = (0..<weights.count).map { trainer.model.parameters.pointer[$0] } + [trainer.model.parameters.pointer[bias.offset]]
        #expect(relativeError(fast, reference: w + [b]) < 1e-5)
    }

    @Test func afterStepSeesEveryStepOnceWithItsUpdatedParameters() throws {
        let trainer = try makeTrainer(steps: 7)
        var seen: [(step: Int, parameters: [Float])] = []
        trainer.afterStep = { seen.append(($0, trainer.model.parameters.array)) }
        try trainer.run(stopAfter: 3)
        try trainer.run()
        #expect(seen.map(\.step) == Array(1...7))
        // The hook runs after the update: its last view is the final parameters, and a plain run (no hook) of the
        // same steps ends at the same parameters (the hook changes nothing).
        #expect(seen.last?.parameters == trainer.model.parameters.array)
        let plain = try makeTrainer(steps: 7)
        try plain.run()
        #expect(plain.model.parameters.array == trainer.model.parameters.array)
        #expect(seen[0].parameters != seen[1].parameters)
    }

    @Test func resumeIsBitIdentical() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let n = 6
        // 2N steps in one run.
        let whole = try makeTrainer(steps: 2 * n, accumulation: 2)
        try whole.run()
        // N steps, checkpoint, then a fresh trainer (other initial parameters) resumes and runs N more.
        let first = try makeTrainer(steps: 2 * n, accumulation: 2, run: directory)
        let firstOutcome = try first.run(stopAfter: n)
        #expect(firstOutcome.reason == .stopAfter)
        #expect(firstOutcome.step == n)
        let second = try makeTrainer(steps: 2 * n, accumulation: 2, modelSeed: 777, run: directory)
        try second.resume()
        #expect(second.step == n)
        let secondOutcome = try second.run()
        #expect(secondOutcome.reason == .completed)
        let resumed = (first.history + second.history).map { $0.statistics.loss.bitPattern }
        #expect(resumed == whole.history.map { $0.statistics.loss.bitPattern })
        #expect(second.model.parameters.array.map(\.bitPattern) == whole.model.parameters.array.map(\.bitPattern))
        #expect(second.optimizer.m.array.map(\.bitPattern) == whole.optimizer.m.array.map(\.bitPattern))
        #expect((first.history + second.history).map(\.learningRate) == whole.history.map(\.learningRate))
        // The run ended with a checkpoint of the last step.
        #expect(try CheckpointStore(directory: directory.appendingPathComponent("checkpoints")).latest()?.step == 2 * n)
    }

    @Test func aConstantRateRunMayBeExtendedACosineOneMayNot() {
        func options(steps: Int, decay: LearningRateSchedule.Decay, warmup: Int = 3) -> TrainerOptions {
            TrainerOptions(steps: steps, schedule: LearningRateSchedule(peak: 0.01, warmupSteps: warmup,
                                                                        totalSteps: steps, decay: decay))
        }
        // A constant rate does not depend on the total, so more steps change no update already made or to come.
        #expect(options(steps: 20, decay: .constant).arithmeticDifferences(from: options(steps: 10, decay: .constant)).isEmpty)
        // A cosine's rates do; so do another warm-up and another kind of decay.
        let cosine = options(steps: 20, decay: .cosine).arithmeticDifferences(from: options(steps: 10, decay: .cosine))
        #expect(cosine.count == 1 && cosine[0].hasPrefix("schedule"))
        #expect(options(steps: 20, decay: .constant, warmup: 5)
            .arithmeticDifferences(from: options(steps: 10, decay: .constant)).count == 1)
        #expect(options(steps: 10, decay: .constant).arithmeticDifferences(from: options(steps: 10, decay: .cosine)).count == 1)
    }

    @Test func resumeRefusesOtherArithmetic() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try makeTrainer(steps: 4, run: directory).run(stopAfter: 2)
        let other = try makeTrainer(steps: 4, accumulation: 2, run: directory)
        do {
            try other.resume()
            Issue.record("resuming with another accumulation must fail")
        } catch let error as TrainingError {
            #expect(error.description.contains("accumulation 1 vs 2"))
        }
        let empty = try makeTrainer(steps: 4, run: directory.appendingPathComponent("nothing-here"))
        #expect(throws: TrainingError.nothingToResume(path: directory.appendingPathComponent("nothing-here/checkpoints").path)) {
            try empty.resume()
        }
    }

    @Test func nonFiniteLossStopsNamingTheStepAndKeepsTheLastCheckpoint() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Batch index 4 is poisoned: step 5 (1-based) gets a NaN loss. Checkpoints every 2 steps: 2 and 4.
        let trainer = try makeTrainer(steps: 10, poisonAt: 4, checkpointInterval: 2, run: directory)
        let metricsURL = directory.appendingPathComponent("metrics.jsonl")
        trainer.metrics = try MetricsLog(url: metricsURL)
        var thrown: TrainingError?
        do { try trainer.run() } catch let error as TrainingError { thrown = error }
        let error = try #require(thrown)
        guard case .nonFiniteLoss(let step, let loss, let checkpoint) = error else {
            Issue.record("expected nonFiniteLoss, got \(error)")
            return
        }
        #expect(step == 5)
        #expect(loss.isNaN)
        #expect(checkpoint?.hasSuffix("step-00000004") == true)
        #expect(error.description.hasPrefix("step 5: the loss is nan"))
        #expect(trainer.step == 4)
        // The parameters were not updated with the bad gradient, and the newest checkpoint is step 4's, equal to them.
        let store = try #require(trainer.checkpoints)
        let latest = try #require(try store.latest())
        #expect(latest.step == 4)
        let saved = LinearRegression(features: Self.features, seed: 5)
        try saved.loadModel(from: latest.folder)
        #expect(saved.parameters.array.map(\.bitPattern) == trainer.model.parameters.array.map(\.bitPattern))
        let lines = try String(contentsOf: metricsURL, encoding: .utf8).split(separator: "\n")
        #expect(lines.last == #"{"event":"stop","step":5,"reason":"non_finite_loss"}"#)
    }

    @Test func stopRequestCheckpointsAndReturns() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try makeTrainer(steps: 50, run: directory)
        var polls = 0
        trainer.stopRequested = {
            polls += 1
            return polls > 3
        }
        let outcome = try trainer.run()
        #expect(outcome.reason == .interrupted)
        #expect(outcome.step == 3)
        #expect(outcome.checkpoint?.lastPathComponent == "step-00000003")
        #expect(try trainer.checkpoints?.latest()?.step == 3)
    }

    @Test func interruptFlagIsSetBySIGINT() throws {
        InterruptFlag.clear()
        InterruptFlag.installSignalHandlers()
        defer {
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
            InterruptFlag.clear()
        }
        #expect(!InterruptFlag.isRaised)
        // Process-directed (the test runner's threads may block signals): any thread that accepts it runs the handler.
        kill(getpid(), SIGINT)
        var waited = 0
        while !InterruptFlag.isRaised && waited < 200 {
            usleep(10_000)
            waited += 1
        }
        #expect(InterruptFlag.isRaised)
    }

    @Test func metricsLinesParseAndResumeTruncatesRedoneSteps() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("metrics.jsonl")
        let trainer = try makeTrainer(steps: 6, checkpointInterval: 2, run: directory)
        trainer.metrics = try MetricsLog(url: url)
        try trainer.run()
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        var events: [String: Int] = [:]
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let event = try #require(object["event"] as? String)
            events[event, default: 0] += 1
            #expect(object["step"] is Int)
            if event == "train" {
                for key in ["loss", "accuracy", "learning_rate", "gradient_norm", "tokens_per_second", "tokens"] {
                    #expect(object[key] is NSNumber, "train line lacks \(key): \(line)")
                }
            }
            if event == "validation" { #expect(object["loss"] is NSNumber && object["count"] as? Int == 16) }
        }
        #expect(events == ["train": 6, "validation": 1, "checkpoint": 3, "stop": 1])
        // A resume from step 4 drops the lines of steps 5 and 6 (they will be redone).
        _ = try MetricsLog(url: url, truncatingAfterStep: 4)
        let kept = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(kept.count == 6)   // train 1-4, checkpoints at 2 and 4
        #expect(kept.allSatisfy { (MetricsLog.step(of: $0) ?? 0) <= 4 })
    }

    @Test func metricsEncodeNonFiniteNumbersAsStrings() throws {
        let line = MetricsLog.line(["a": .number(.nan), "b": .number(-.infinity), "c": nil, "d": .string("x\"y\n"),
                                    "e": .number(0.1), "f": .integer(-3)])
        #expect(line == "{\"a\":\"nan\",\"b\":\"-inf\",\"d\":\"x\\\"y\\n\",\"e\":0.1,\"f\":-3}\n")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["d"] as? String == "x\"y\n")
    }

    @Test func progressIsPlainWithoutATerminal() {
        var plain = ""
        let reporter = ProgressReporter(totalSteps: 20, plainInterval: 10, isTerminal: false) { plain += $0 }
        for step in 1...20 {
            reporter.step(step, loss: 1, accuracy: 0.5, tokensPerSecond: 1000, learningRate: 1e-3, stepSeconds: 0.5)
        }
        #expect(!plain.contains("\r"))
        #expect(plain.split(separator: "\n").count == 2)
        #expect(plain.hasPrefix("step 10/20 loss 1.0000 acc 0.500 tokens/s 1000 lr 1.000e-03 eta 5s"))
        var terminal = ""
        let redraw = ProgressReporter(totalSteps: 20, isTerminal: true) { terminal += $0 }
        redraw.step(20, loss: 1, accuracy: nil, tokensPerSecond: 12345, learningRate: 1e-3, stepSeconds: 1)
        redraw.message("done")
        #expect(terminal.hasPrefix("\r\u{1B}[2Kstep 20/20"))
        #expect(terminal.contains("12.3k tok/s"))
        #expect(terminal.hasSuffix("\ndone\n"))
    }
}
