// Step folders, the `latest` pointer, pruning, and the promise that a failed save leaves the previous checkpoint
// intact.
import Foundation
import Testing
import _MambaTestSupport
@testable import MambaTraining

@Suite struct CheckpointStoreTests {
    func write(_ text: String, _ name: String) -> (URL) throws -> Void {
        { folder in try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
    }

    func contents(_ folder: URL, _ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    @Test func namesSortByStep() {
        #expect(CheckpointStore.folderName(step: 42) == "step-00000042")
        #expect(CheckpointStore.folderName(step: 123_456_789) == "step-123456789")
        #expect(CheckpointStore.step(ofFolderName: "step-00000042") == 42)
        #expect(CheckpointStore.step(ofFolderName: "step-") == nil)
        #expect(CheckpointStore.step(ofFolderName: "step-12a") == nil)
        #expect(CheckpointStore.step(ofFolderName: ".step-00000001.partial-x") == nil)
    }

    @Test func saveUpdatesLatestAndPrunes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"), keep: 2)
        #expect(try store.latest() == nil)
        for step in [10, 20, 30] { try store.save(step: step, write("model \(step)", "model.txt")) }
        let latest = try #require(try store.latest())
        #expect(latest.step == 30)
        #expect(try contents(latest.folder, "model.txt") == "model 30")
        #expect(try store.steps() == [20, 30])
        let names = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).sorted()
        #expect(names == ["latest", "step-00000020", "step-00000030"])
    }

    @Test func failedSaveLeavesThePreviousIntact() throws {
        struct Boom: Error {}
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 1)
        try store.save(step: 5, write("good", "model.txt"))
        #expect(throws: Boom.self) {
            try store.save(step: 6) { folder in
                try Data("half".utf8).write(to: folder.appendingPathComponent("model.txt"))
                throw Boom()
            }
        }
        let latest = try #require(try store.latest())
        #expect(latest.step == 5)
        #expect(try contents(latest.folder, "model.txt") == "good")
        // No step-6 folder, no partial leftovers, and keep = 1 did not remove step 5.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["latest", "step-00000005"])
    }

    @Test func leftoversOfACrashAreIgnoredAndRemoved() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        try store.save(step: 1, write("one", "model.txt"))
        // A crash during the save of step 2: its partial folder exists, `latest` still names step 1.
        let partial = directory.appendingPathComponent(".step-00000002.partial-DEAD")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: false)
        #expect(try store.latest()?.step == 1)
        #expect(try store.steps() == [1])
        try store.save(step: 2, write("two", "model.txt"))
        #expect(!FileManager.default.fileExists(atPath: partial.path))
        #expect(try store.latest()?.step == 2)
    }

    @Test func resavingAStepReplacesItsFolder() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory, keep: 2)
        try store.save(step: 3, write("first", "model.txt"))
        try store.save(step: 3, write("second", "model.txt"))
        let latest = try #require(try store.latest())
        #expect(try contents(latest.folder, "model.txt") == "second")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["latest", "step-00000003"])
    }

    @Test func malformedLatestIsReported() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = CheckpointStore(directory: directory)
        try Data("garbage\n".utf8).write(to: store.latestFile)
        #expect(throws: TrainingError.self) { try store.latest() }
        try Data("step-00000009\n".utf8).write(to: store.latestFile)
        do {
            _ = try store.latest()
            Issue.record("a latest naming a missing folder must throw")
        } catch let error as TrainingError {
            #expect(error.description.contains("step-00000009"))
        }
    }
}
