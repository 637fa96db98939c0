// The training loop: for each step, zero the gradients, accumulate k micro-batches (lossScale 1/k), stop on a
// non-finite loss or gradient norm before touching the parameters, clip by global norm, take an AdamW step at the
// scheduled learning rate; log metrics, validate every N steps, checkpoint every M steps, and between steps honour a
// stop request (SIGINT) by checkpointing and returning.
//
// Exact resume: a checkpoint holds the parameters and AdamW's moments bit for bit, the step, and the data source's
// position (including its generator state); the learning rate is a function of the step. So N steps, a save, a fresh
// process that resumes, and N more steps give the same losses, bit for bit, as 2N steps in one run, provided the
// model's own arithmetic is deterministic at the thread count used (MambaKit's kernels are).
import Foundation
import MambaBackbone
import MambaTensor

/// Settings of a training run. Those that change the arithmetic (optimizer, schedule, accumulation, clipping) are
/// saved in each checkpoint and must match on resume.
public struct TrainerOptions: Sendable, Equatable, Codable {
    /// Optimizer steps in the whole run.
    public var steps: Int
    /// Micro-batches per optimizer step (gradient accumulation); the step's gradient is their mean.
    public var accumulation: Int
    /// AdamW's hyperparameters.
    public var optimizer: AdamWConfiguration
    /// The learning rate per step.
    public var schedule: LearningRateSchedule
    /// Clip the gradient to this global L2 norm; nil: no clipping.
    public var maxGradientNorm: Double?
    /// Validate every this many steps (and after the last); 0: only after the last.
    public var validationInterval: Int
    /// Checkpoint every this many steps (and at the end, and on a stop request); 0: only then.
    public var checkpointInterval: Int
    /// Complete checkpoints kept.
    public var keepCheckpoints: Int

    /// Options; the schedule defaults to a constant 1e-3 over `steps`.
    public init(steps: Int, accumulation: Int = 1, optimizer: AdamWConfiguration = AdamWConfiguration(),
                schedule: LearningRateSchedule? = nil, maxGradientNorm: Double? = 1.0, validationInterval: Int = 0,
                checkpointInterval: Int = 0, keepCheckpoints: Int = 2) {
        self.steps = steps
        self.accumulation = accumulation
        self.optimizer = optimizer
        self.schedule = schedule ?? LearningRateSchedule(peak: 1e-3, totalSteps: max(1, steps), decay: .constant)
        self.maxGradientNorm = maxGradientNorm
        self.validationInterval = validationInterval
        self.checkpointInterval = checkpointInterval
        self.keepCheckpoints = keepCheckpoints
    }

    /// Throws `TrainingError.invalidOption` naming the first setting out of range.
    public func validate() throws {
        guard steps >= 1 else { throw TrainingError.invalidOption("steps: expected >= 1, found \(steps)") }
        guard accumulation >= 1 else {
            throw TrainingError.invalidOption("gradient accumulation: expected >= 1 micro-batches, found \(accumulation)")
        }
        if let maxGradientNorm, !(maxGradientNorm.isFinite && maxGradientNorm > 0) {
            throw TrainingError.invalidOption("maximum gradient norm: expected a finite value > 0, found \(maxGradientNorm)")
        }
        guard validationInterval >= 0, checkpointInterval >= 0 else {
            throw TrainingError.invalidOption("validation and checkpoint intervals: expected >= 0, found \(validationInterval) and \(checkpointInterval)")
        }
        guard keepCheckpoints >= 1 else {
            throw TrainingError.invalidOption("checkpoints kept: expected >= 1, found \(keepCheckpoints)")
        }
        try optimizer.validate()
        try schedule.validate()
    }

    /// The settings that differ from `saved` in ways that change the arithmetic, one description each.
    func arithmeticDifferences(from saved: TrainerOptions) -> [String] {
        var differences: [String] = []
        if saved.accumulation != accumulation {
            differences.append("accumulation \(saved.accumulation) vs \(accumulation)")
        }
        if saved.optimizer != optimizer { differences.append("optimizer \(saved.optimizer) vs \(optimizer)") }
        // A constant schedule's total does not change any rate, so a constant-rate run may be extended.
        var savedSchedule = saved.schedule, currentSchedule = schedule
        if savedSchedule.decay == .constant, currentSchedule.decay == .constant {
            savedSchedule.totalSteps = 0
            currentSchedule.totalSteps = 0
            savedSchedule.minimum = 0
            currentSchedule.minimum = 0
        }
        if savedSchedule != currentSchedule { differences.append("schedule \(saved.schedule) vs \(schedule)") }
        if saved.maxGradientNorm != maxGradientNorm {
            differences.append("maximum gradient norm \(saved.maxGradientNorm.map { "\($0)" } ?? "none") vs \(maxGradientNorm.map { "\($0)" } ?? "none")")
        }
        return differences
    }
}

/// What one optimizer step did.
public struct StepRecord: Sendable, Equatable {
    /// The step number (1-based: the step-th update).
    public var step: Int
    /// The training loss statistics over the step's micro-batches.
    public var statistics: LossStatistics
    /// The learning rate used.
    public var learningRate: Double
    /// The global gradient norm before clipping.
    public var gradientNorm: Double
    /// The clipping factor applied (1: none).
    public var clipScale: Float
    /// Input tokens read.
    public var tokens: Int
    /// Wall time of the step (data, forward, backward, update).
    public var seconds: Double
}

/// Why `Trainer.run` returned.
public enum StopReason: String, Sendable, Equatable {
    /// All `options.steps` steps are done.
    case completed
    /// A stop was requested (SIGINT/SIGTERM); a checkpoint was saved.
    case interrupted
    /// `run(stopAfter:)`'s step count was reached; a checkpoint was saved.
    case stopAfter = "stop_after"
}

/// The result of `Trainer.run`.
public struct TrainingOutcome: Sendable {
    /// Why it returned.
    public var reason: StopReason
    /// Steps completed in the whole run (resumed steps included).
    public var step: Int
    /// The last validation's statistics, if any ran.
    public var validation: LossStatistics?
    /// The last checkpoint folder written or resumed from.
    public var checkpoint: URL?
}

/// The contents of trainer_state.json.
struct TrainerState<Position: Codable>: Codable {
    var format: String
    var step: Int
    var tokens: Int
    var elapsedSeconds: Double
    var options: TrainerOptions
    var dataPosition: Position
    var lastValidationLoss: Double?

    static var formatName: String { "mambakit-trainer-state-1" }
}

/// Trains a `Trainable` model on a `TrainingDataSource` with AdamW.
public final class Trainer<Model: Trainable, Data: TrainingDataSource> where Data.Batch == Model.Batch {
    /// The model being trained (its parameters change in place).
    public let model: Model
    /// The training batches.
    public private(set) var data: Data
    /// Fixed validation batches (may be empty).
    public let validation: [Model.Batch]
    /// The run's settings.
    public let options: TrainerOptions
    /// The optimizer (moments and step).
    public let optimizer: AdamW
    /// The gradient buffer (laid out as the parameters).
    public let gradients: Tensor
    /// Completed optimizer steps.
    public private(set) var step = 0
    /// Input tokens read so far.
    public private(set) var tokens = 0
    /// Where checkpoints go; nil: none are written.
    public var checkpoints: CheckpointStore?
    /// Where metrics go; nil: not logged.
    public var metrics: MetricsLog?
    /// Where progress goes; nil: silent.
    public var progress: ProgressReporter?
    /// Checked between steps; true makes `run` checkpoint and return `.interrupted`.
    public var stopRequested: () -> Bool = { InterruptFlag.isRaised }
    /// Called after every optimizer step with the step's number (the parameters already updated), before the step
    /// is logged, validated or checkpointed.
    public var afterStep: ((Int) -> Void)?
    /// Writes the caller's own files into each checkpoint folder as it is made (before it becomes the latest); after
    /// `resume()`, `lastCheckpoint` is the folder to read them from.
    public var checkpointExtras: ((URL) throws -> Void)?
    /// Every step of this process's `run` calls, in order.
    public private(set) var history: [StepRecord] = []
    /// The last checkpoint written or resumed from.
    public private(set) var lastCheckpoint: URL?
    /// The last validation's statistics.
    public private(set) var lastValidation: LossStatistics?

    private var elapsedBefore = 0.0
    private var lastCheckpointStep: Int?

    /// A trainer at step 0 (call `resume()` to continue a saved run instead).
    public init(model: Model, data: Data, validation: [Model.Batch] = [], options: TrainerOptions) throws {
        try options.validate()
        self.model = model
        self.data = data
        self.validation = validation
        self.options = options
        self.optimizer = try AdamW(configuration: options.optimizer, model: model)
        self.gradients = Tensor(zeros: [model.parameters.count])
    }

    // MARK: - Loop

    /// Trains until `options.steps` steps are done, a stop is requested, or (with `stopAfter`) this many more steps
    /// have run. Throws `TrainingError.nonFiniteLoss` / `.nonFiniteGradient` naming the step, without updating the
    /// parameters and without writing a checkpoint, so the last good one stays the newest.
    @discardableResult
    public func run(stopAfter: Int? = nil) throws -> TrainingOutcome {
        let startStep = step
        let started = DispatchTime.now().uptimeNanoseconds
        progress?.totalSteps = options.steps
        var reason = StopReason.completed
        while step < options.steps {
            if stopRequested() {
                reason = .interrupted
                break
            }
            if let stopAfter, step - startStep >= stopAfter {
                reason = .stopAfter
                break
            }
            try trainStep()
            afterStep?(step)
            let record = history[history.count - 1]
            try log(record, elapsed: elapsedBefore + Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            if options.validationInterval > 0, step % options.validationInterval == 0 {
                try runValidation()
            }
            if checkpoints != nil, options.checkpointInterval > 0, step % options.checkpointInterval == 0,
               step < options.steps {
                try saveCheckpoint(elapsed: elapsedBefore + Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            }
        }
        progress?.finish()
        if reason == .completed, !validation.isEmpty,
           options.validationInterval == 0 || step % options.validationInterval != 0 {
            try runValidation()
        }
        let elapsed = elapsedBefore + Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if checkpoints != nil, lastCheckpointStep != step { try saveCheckpoint(elapsed: elapsed) }
        elapsedBefore = elapsed
        try metrics?.write(["event": .string("stop"), "step": .integer(step), "reason": .string(reason.rawValue)])
        if reason == .interrupted {
            progress?.message("stopped at step \(step) on request" + (lastCheckpoint.map { "; checkpoint \($0.path)" } ?? ""))
        }
        return TrainingOutcome(reason: reason, step: step, validation: lastValidation, checkpoint: lastCheckpoint)
    }

    /// One optimizer step (appends its record to `history`).
    private func trainStep() throws {
        let begin = DispatchTime.now().uptimeNanoseconds
        let number = step + 1
        gradients.fill(0)
        var statistics = LossStatistics.empty
        var stepTokens = 0
        let scale = 1 / Float(options.accumulation)
        for _ in 0..<options.accumulation {
            let batch = try data.next()
            stepTokens += batch.tokenCount
            statistics.merge(try model.lossAndGradients(batch, gradients: gradients, lossScale: scale))
        }
        guard statistics.loss.isFinite else {
            try stop(.nonFiniteLoss(step: number, loss: statistics.loss, lastCheckpoint: lastCheckpoint?.path),
                     reason: "non_finite_loss")
        }
        let norm = optimizer.gradientNorm(gradients)
        guard norm.isFinite else {
            try stop(.nonFiniteGradient(step: number, norm: norm, lastCheckpoint: lastCheckpoint?.path),
                     reason: "non_finite_gradient")
        }
        let clipScale = AdamW.clippingScale(norm: norm, maxNorm: options.maxGradientNorm)
        let learningRate = options.schedule.rate(atStep: step)
        optimizer.update(parameters: model.parameters, gradients: gradients, learningRate: learningRate,
                         gradientScale: clipScale)
        step = number
        tokens += stepTokens
        history.append(StepRecord(step: number, statistics: statistics, learningRate: learningRate, gradientNorm: norm,
                                  clipScale: clipScale, tokens: stepTokens,
                                  seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9))
    }

    private func stop(_ error: TrainingError, reason: String) throws -> Never {
        progress?.finish()
        progress?.message("error: \(error)")
        try? metrics?.write(["event": .string("stop"), "step": .integer(step + 1), "reason": .string(reason)])
        throw error
    }

    private func log(_ record: StepRecord, elapsed: Double) throws {
        let tokensPerSecond = record.seconds > 0 ? Double(record.tokens) / record.seconds : 0
        let epoch = data.batchesPerEpoch.map { Double(record.step * options.accumulation) / Double(max(1, $0)) }
        try metrics?.write([
            "event": .string("train"), "step": .integer(record.step), "epoch": epoch.map { .number($0) },
            "loss": .number(record.statistics.loss), "accuracy": record.statistics.accuracy.map { .number($0) },
            "learning_rate": .number(record.learningRate), "gradient_norm": .number(record.gradientNorm),
            "clip_scale": .number(Double(record.clipScale)), "tokens": .integer(record.tokens),
            "tokens_per_second": .number(tokensPerSecond), "elapsed_seconds": .number(elapsed),
        ])
        progress?.step(record.step, loss: record.statistics.loss, accuracy: record.statistics.accuracy,
                       tokensPerSecond: tokensPerSecond, learningRate: record.learningRate, stepSeconds: record.seconds)
    }

    // MARK: - Validation

    /// The loss statistics over all validation batches (forward only); also logged and reported.
    @discardableResult
    public func runValidation() throws -> LossStatistics {
        let begin = DispatchTime.now().uptimeNanoseconds
        var total = LossStatistics.empty
        for batch in validation { total.merge(try model.evaluate(batch)) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        lastValidation = total
        try metrics?.write([
            "event": .string("validation"), "step": .integer(step), "loss": .number(total.loss),
            "accuracy": total.accuracy.map { .number($0) }, "count": .integer(total.count), "seconds": .number(seconds),
        ])
        progress?.message(String(format: "validation at step %d: loss %.4f", step, total.loss)
                          + (total.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? "")
                          + " over \(total.count) predictions")
        return total
    }

    // MARK: - Checkpoints

    /// Writes a checkpoint of the current step (model folder + optimizer.safetensors + trainer_state.json) through
    /// `checkpoints`; throws when there is no store.
    @discardableResult
    public func saveCheckpoint(elapsed: Double? = nil) throws -> URL {
        guard let checkpoints else { throw TrainingError.invalidOption("no checkpoint folder was given") }
        let state = TrainerState(format: TrainerState<Data.Position>.formatName, step: step, tokens: tokens,
                                 elapsedSeconds: elapsed ?? elapsedBefore, options: options,
                                 dataPosition: data.position, lastValidationLoss: lastValidation?.loss)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stateData = try encoder.encode(state)
        let folder = try checkpoints.save(step: step) { folder in
            try model.saveModel(to: folder)
            try optimizer.writeState(to: folder.appendingPathComponent("optimizer.safetensors"))
            try AtomicFile.write(stateData, to: folder.appendingPathComponent("trainer_state.json"))
            try checkpointExtras?(folder)
        }
        lastCheckpoint = folder
        lastCheckpointStep = step
        try metrics?.write(["event": .string("checkpoint"), "step": .integer(step), "path": .string(folder.path)])
        progress?.message("checkpoint at step \(step): \(folder.path)")
        return folder
    }

    /// Continues from the newest checkpoint in `checkpoints`: parameters, AdamW state, step, data position. Throws
    /// `TrainingError.nothingToResume` when there is none, `.settingsChanged` when it was made with other arithmetic
    /// settings, `.badCheckpoint` when a file is damaged or belongs to another model.
    public func resume() throws {
        guard let checkpoints else { throw TrainingError.invalidOption("no checkpoint folder was given") }
        guard let (savedStep, folder) = try checkpoints.latest() else {
            throw TrainingError.nothingToResume(path: checkpoints.directory.path)
        }
        let stateURL = folder.appendingPathComponent("trainer_state.json")
        let state: TrainerState<Data.Position>
        do {
            state = try JSONDecoder().decode(TrainerState<Data.Position>.self, from: Foundation.Data(contentsOf: stateURL))
        } catch {
            throw TrainingError.badCheckpoint(path: stateURL.path, reason: "expected the trainer state of this kind of run: \(error)")
        }
        guard state.format == TrainerState<Data.Position>.formatName, state.step == savedStep else {
            throw TrainingError.badCheckpoint(
                path: stateURL.path, reason: "expected format \(TrainerState<Data.Position>.formatName) at step \(savedStep), found \(state.format) at step \(state.step)")
        }
        let differences = options.arithmeticDifferences(from: state.options)
        guard differences.isEmpty else { throw TrainingError.settingsChanged(path: folder.path, differences: differences) }
        try model.loadModel(from: folder)
        try optimizer.readState(from: folder.appendingPathComponent("optimizer.safetensors"))
        guard optimizer.step == state.step else {
            throw TrainingError.badCheckpoint(
                path: folder.path, reason: "optimizer.safetensors is at step \(optimizer.step), trainer_state.json at step \(state.step)")
        }
        try data.restore(state.dataPosition)
        step = state.step
        tokens = state.tokens
        elapsedBefore = state.elapsedSeconds
        lastCheckpoint = folder
        lastCheckpointStep = state.step
        progress?.message("resumed from \(folder.path) at step \(step)")
    }
}
