// Checkpoints of a training run, each a folder named by its step, plus a `latest` file naming the newest complete one:
//
//   <run>/checkpoints/
//     step-00000100/        config.json + model.safetensors (a model folder transformers loads),
//                           optimizer.safetensors (AdamW moments), trainer_state.json (step, data position, RNG, settings)
//     step-00000200/
//     latest                "step-00000200\n"
//
// A save writes everything into a hidden `.step-00000200.partial-<UUID>/` folder, renames it to `step-00000200` (one
// rename(2) of a folder: atomic), and only then rewrites `latest` (temporary file + rename). A failure or a crash at
// any point leaves `latest` naming the previous complete checkpoint, whose folder is untouched: older folders are
// pruned only after `latest` names the new one. Leftover partial folders are removed by the next save.
import Foundation
import MambaBackbone

/// The step-numbered checkpoint folders of one run and the `latest` pointer.
public struct CheckpointStore: Sendable {
    /// The folder holding the step folders and `latest`.
    public let directory: URL
    /// How many complete checkpoints to keep (>= 1); older ones are removed after each save.
    public let keep: Int

    /// A store in `directory` (created on the first save).
    public init(directory: URL, keep: Int = 2) {
        self.directory = directory
        self.keep = max(1, keep)
    }

    /// The folder name of step `step`: `step-` and eight digits (more when needed), so names sort by step.
    public static func folderName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The step a folder name stands for, or nil when it is not a step folder's name.
    public static func step(ofFolderName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The `latest` file.
    public var latestFile: URL { directory.appendingPathComponent("latest") }

    /// The folder `latest` names, with its step; nil when there is no `latest` file. Throws when `latest` is
    /// malformed or names a folder that does not exist.
    public func latest() throws -> (step: Int, folder: URL)? {
        guard FileManager.default.fileExists(atPath: latestFile.path) else { return nil }
        let text: String
        do {
            text = try String(contentsOf: latestFile, encoding: .utf8)
        } catch {
            throw TrainingError.badCheckpoint(path: latestFile.path, reason: "unreadable: \(error)")
        }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let step = Self.step(ofFolderName: name) else {
            throw TrainingError.badCheckpoint(
                path: latestFile.path, reason: "expected a step folder name such as 'step-00000100', found '\(name.prefix(80))'")
        }
        let folder = directory.appendingPathComponent(name, isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainingError.badCheckpoint(path: latestFile.path, reason: "names '\(name)', which is not a folder in \(directory.path)")
        }
        return (step, folder)
    }

    /// The complete step folders present, oldest first.
    public func steps() throws -> [Int] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .compactMap(Self.step(ofFolderName:)).sorted()
    }

    /// Saves the checkpoint of step `step`: `write` fills a fresh folder; when it returns, the folder becomes
    /// `step-…` and `latest` names it; then older folders beyond `keep` and leftover partial folders are removed.
    /// If `write` throws (or anything before `latest` is rewritten fails), the partial folder is removed, `latest`
    /// and every complete checkpoint are left as they were, and the error is rethrown.
    @discardableResult
    public func save(step: Int, _ write: (URL) throws -> Void) throws -> URL {
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = Self.folderName(step: step)
        let partial = directory.appendingPathComponent(".\(name).partial-\(UUID().uuidString)", isDirectory: true)
        let final = directory.appendingPathComponent(name, isDirectory: true)
        try manager.createDirectory(at: partial, withIntermediateDirectories: false)
        do {
            try write(partial)
            if manager.fileExists(atPath: final.path) {
                // Saving a step that already has a folder (a resumed run saving the step it resumed from): move the
                // old one aside first, since rename(2) will not replace a non-empty folder. `latest` may name it only
                // if it is this very step, which the new folder replaces.
                let aside = directory.appendingPathComponent(".\(name).replaced-\(UUID().uuidString)", isDirectory: true)
                try manager.moveItem(at: final, to: aside)
                try manager.moveItem(at: partial, to: final)
                try? manager.removeItem(at: aside)
            } else {
                try manager.moveItem(at: partial, to: final)
            }
        } catch {
            try? manager.removeItem(at: partial)
            throw error
        }
        try AtomicFile.write(Data((name + "\n").utf8), to: latestFile)
        try prune(keeping: step)
        return final
    }

    /// Removes step folders beyond the newest `keep` (never `current`) and hidden leftovers of interrupted saves.
    private func prune(keeping current: Int) throws {
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: directory.path)
        for name in names where name.hasPrefix(".step-") && (name.contains(".partial-") || name.contains(".replaced-")) {
            try? manager.removeItem(at: directory.appendingPathComponent(name))
        }
        let steps = names.compactMap(Self.step(ofFolderName:)).filter { $0 != current }.sorted(by: >)
        for old in steps.dropFirst(keep - 1) {
            try? manager.removeItem(at: directory.appendingPathComponent(Self.folderName(step: old)))
        }
    }
}
