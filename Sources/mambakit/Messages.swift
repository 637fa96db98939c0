// One-line messages on standard error, the CLI's only way of reporting a failure.
import Foundation

/// Writes `mambakit: MESSAGE` and a newline to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("mambakit: \(message)\n".utf8))
}

/// The one-line text for an error: its description when it has one (every MambaKit error does), and never a
/// multi-line dump. The path is added when the message does not name it already.
func describe(_ error: Error, path: String? = nil) -> String {
    let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
    if let path, !text.contains(path) { return "\(path): \(text)" }
    return text
}
