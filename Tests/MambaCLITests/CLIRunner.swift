// Runs the built `mambakit` binary end to end, as a user would.
import Foundation
import _MambaTestSupport

/// The result of one run of the tool.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The `mambakit` executable that `swift test` built beside the test bundle.
func mambakitExecutable() throws -> URL {
    let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var candidates = [bundleDirectory.appendingPathComponent("mambakit")]
    for configuration in ["debug", "release"] {
        candidates.append(repositoryRoot.appendingPathComponent(".build/\(configuration)/mambakit"))
    }
    for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) { return url }
    throw CLITestError("mambakit executable not found; looked in \(candidates.map(\.path))")
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `mambakit ARGUMENTS...` with the working directory `directory`, standard input `stdin`.
func runTool(_ arguments: [String], in directory: URL? = nil, stdin: Data? = nil) throws -> ToolRun {
    let process = Process()
    process.executableURL = try mambakitExecutable()
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Read both pipes before waiting, so a large output cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    group.wait()
    process.waitUntilExit()
    return ToolRun(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// The JSON objects of a `--json` output, one per non-empty line.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CLITestError("not a JSON object: \(line)")
        }
        return object
    }
}
