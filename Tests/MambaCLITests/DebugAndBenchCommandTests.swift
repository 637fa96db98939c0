// End-to-end runs of `mambakit debug forward` and `mambakit bench forward|step` (the built executable).
import Foundation
import MambaKit
import Testing
import _MambaTestSupport

// mambakitExecutable() is CLIRunner.swift's (merged from main).

/// Runs mambakit with `arguments`; returns (exit status, stdout, stderr).
func runMambakit(_ arguments: [String]) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = try mambakitExecutable()
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

struct DebugForwardCommandTests {
    let fixture = fixturesDirectory.appendingPathComponent("tiny-options")

    /// The fixture's input_ids as an int64 .npy file (version 1 header).
    func writeTokens(to url: URL) throws -> [Int64] {
        let reference = try SafeTensorsFile(contentsOf: fixture.appendingPathComponent("reference.safetensors"))
        let ids = try reference.integers("input_ids")
        let shape = try reference.info("input_ids").shape
        var header = "{'descr': '<i8', 'fortran_order': False, 'shape': (\(shape[0]), \(shape[1])), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
        for id in ids { withUnsafeBytes(of: id.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: url)
        return ids
    }

    @Test(arguments: [false, true])
    func writesLogitsAndHiddenStatesMatchingTransformers(_ recurrent: Bool) throws {
        let folder = try makeTemporaryDirectory()
        let tokens = folder.appendingPathComponent("ids.npy"), out = folder.appendingPathComponent("out.safetensors")
        _ = try writeTokens(to: tokens)
        let (status, _, stderr) = try runMambakit(["debug", "forward", "--model", fixture.path, "--tokens", tokens.path,
                                                   "--out", out.path] + (recurrent ? ["--recurrent"] : []))
        #expect(status == 0, "\(stderr)")
        let written = try SafeTensorsFile(contentsOf: out)
        let reference = try SafeTensorsFile(contentsOf: fixture.appendingPathComponent("reference.safetensors"))
        #expect(try written.info("logits").shape == reference.info("logits").shape)
        #expect(maxAbsoluteDifference(try written.floats("logits"), try reference.floats("logits")) < 1e-4)
        #expect(maxAbsoluteDifference(try written.floats("last_hidden_state"),
                                      try reference.floats("last_hidden_state")) < 1e-4)
    }

    @Test func raggedTextLinesArePaddedWithZeroOutputs() throws {
        let folder = try makeTemporaryDirectory()
        let tokens = folder.appendingPathComponent("ids.txt"), out = folder.appendingPathComponent("out.safetensors")
        try "1, 2, 3\n\n4 5\n".write(to: tokens, atomically: true, encoding: .utf8)
        let (status, _, stderr) = try runMambakit(["debug", "forward", "--model", fixture.path, "--tokens", tokens.path,
                                                   "--out", out.path])
        #expect(status == 0, "\(stderr)")
        let logits = try SafeTensorsFile(contentsOf: out)
        #expect(try logits.info("logits").shape == [2, 3, 29])
        #expect(try logits.floats("logits")[(5 * 29)...].allSatisfy { $0 == 0 })
    }

    @Test(arguments: [("1,2,x\n", "expected an integer token id"), ("1, 400\n", "token id 400 is outside"), ("\n\n", "at least one line")])
    func badInputFailsWithOneLineAndNoOutput(_ text: String, _ message: String) throws {
        let folder = try makeTemporaryDirectory()
        let tokens = folder.appendingPathComponent("ids.txt"), out = folder.appendingPathComponent("out.safetensors")
        try text.write(to: tokens, atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try runMambakit(["debug", "forward", "--model", fixture.path, "--tokens",
                                                        tokens.path, "--out", out.path])
        #expect(status == 1)
        #expect(stdout.isEmpty)
        #expect(stderr.split(separator: "\n").count == 1 && stderr.contains(message), "\(stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["ids.txt"])
    }
}

struct BenchCommandTests {
    @Test func forwardPrintsOneJSONObject() throws {
        let (status, stdout, stderr) = try runMambakit(["bench", "forward", "--batch", "2", "--length", "64",
                                                        "--d-model", "32", "--layers", "2", "--d-state", "4",
                                                        "--expand", "2", "--threads", "1", "--vocab", "16",
                                                        "--repeats", "2", "--json"])
        #expect(status == 0, "\(stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        #expect((object["tokens_per_second"] as? Double ?? 0) > 0)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 1_000_000)
    }

    @Test func stepReportsBothPromptLengths() throws {
        let (status, stdout, stderr) = try runMambakit(["bench", "step", "--d-model", "32", "--layers", "1",
                                                        "--d-state", "4", "--vocab", "16", "--short-prompt", "4",
                                                        "--long-prompt", "200", "--steps", "5", "--json"])
        #expect(status == 0, "\(stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        #expect((object["seconds_per_step_long"] as? Double ?? 0) > 0)
    }
}
