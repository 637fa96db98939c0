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
}
