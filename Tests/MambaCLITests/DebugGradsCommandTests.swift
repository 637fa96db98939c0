// End-to-end runs of `mambakit debug grads` (the built executable) against the transformers fixtures.
import Foundation
import MambaKit
import Testing
import _MambaTestSupport

struct DebugGradsCommandTests {
    @Test(arguments: ["tiny-tied", "tiny-options", "state-spaces-names"])
    func writesGradientsAndLossMatchingAutograd(_ name: String) throws {
        let fixture = fixturesDirectory.appendingPathComponent(name)
        let folder = try makeTemporaryDirectory()
        let tokens = folder.appendingPathComponent("ids.txt"), out = folder.appendingPathComponent("grads.safetensors")
        let reference = try SafeTensorsFile(contentsOf: fixture.appendingPathComponent("reference.safetensors"))
        // The fixture's input_ids (B, L) as text, one sequence per line.
        let ids = try reference.integers("input_ids"), length = try reference.info("input_ids").shape[1]
        let lines = stride(from: 0, to: ids.count, by: length).map { ids[$0..<($0 + length)].map(String.init).joined(separator: " ") }
        try (lines.joined(separator: "\n") + "\n").write(to: tokens, atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try runMambakit(["debug", "grads", "--model", fixture.path, "--tokens",
                                                        tokens.path, "--out", out.path])
        #expect(status == 0, "\(stderr)")
        let lossLine = try #require(stdout.split(separator: "\n").last { $0.hasPrefix("loss ") })
        let loss = try #require(Double(lossLine.dropFirst(5)))
        let expectedLoss = Double(try reference.floats("loss")[0])
        #expect(abs(loss - expectedLoss) / expectedLoss < 1e-5)
        let written = try SafeTensorsFile(contentsOf: out)
        let expectedNames = Set(reference.names.filter { $0.hasPrefix("grad.") })
        #expect(Set(written.names) == expectedNames)
        for gradName in expectedNames {
            #expect(try written.info(gradName).shape == reference.info(gradName).shape, "\(gradName)")
            let error = relativeError(try written.floats(gradName), reference: try reference.floats(gradName))
            #expect(error < 1e-4, "\(name) \(gradName): \(error)")
        }
    }

    @Test(arguments: [("1\n2\n", "no position to predict"), ("1, 400\n", "token id 400 is outside"),
                      ("a b\n", "expected an integer token id")])
    func badInputIsOneLineWithoutOutput(_ text: String, _ message: String) throws {
        let fixture = fixturesDirectory.appendingPathComponent("tiny-options")
        let folder = try makeTemporaryDirectory()
        let tokens = folder.appendingPathComponent("ids.txt"), out = folder.appendingPathComponent("grads.safetensors")
        try text.write(to: tokens, atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try runMambakit(["debug", "grads", "--model", fixture.path, "--tokens",
                                                        tokens.path, "--out", out.path])
        #expect(status == 1)
        #expect(stdout.isEmpty)
        #expect(stderr.hasPrefix("mambakit debug grads: error: ") && stderr.contains(message), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Runs mambakit with MAMBAKIT_THREADS = threads; returns (exit status, stderr).
    func runWithThreads(_ threads: Int, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = try mambakitExecutable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["MAMBAKIT_THREADS": String(threads)]) { $1 }
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }

    /// Bitwise determinism at a fixed thread count, each run in its own process (so that no concurrently running
    /// test changes the thread counts); recomputing the activations and another scan chunk length give the same bits.
    @Test(arguments: [1, 2])
    func gradientsAreBitwiseReproducible(_ threads: Int) throws {
        var configuration = MambaConfiguration(vocabSize: 37, hiddenSize: 48, stateSize: 16, numHiddenLayers: 3)
        configuration.layerMixers = [.s6, .s4d, .s6]
        configuration.bidirectional = true
        configuration.bidirectionalWeightTie = false
        let folder = try makeTemporaryDirectory()
        let modelFolder = folder.appendingPathComponent("model")
        try MambaModel(configuration: configuration, seed: 51).save(to: modelFolder)
        var generator = Xoshiro256StarStar(seed: 52)
        let lines = [157, 203].map { length in (0..<length).map { _ in String(generator.next() % 37) }.joined(separator: " ") }
        let tokens = folder.appendingPathComponent("ids.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: tokens, atomically: true, encoding: .utf8)
        var outputs: [Data] = []
        for (index, extra) in [[], [], ["--activations", "recompute", "--scan-chunk-length", "7"]].enumerated() {
            let out = folder.appendingPathComponent("grads\(index).safetensors")
            let (status, stderr) = try runWithThreads(threads, ["debug", "grads", "--model", modelFolder.path,
                                                                "--tokens", tokens.path, "--out", out.path] + extra)
            #expect(status == 0, "\(stderr)")
            outputs.append(try Data(contentsOf: out))
        }
        #expect(outputs[0] == outputs[1], "two runs differ")
        #expect(outputs[0] == outputs[2], "recomputed activations or another chunk length change the gradients")
    }
}
