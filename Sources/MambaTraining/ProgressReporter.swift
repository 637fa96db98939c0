// Progress on standard error: on a terminal, one line redrawn in place (step, bar, loss, tokens/s, ETA), at most ten
// times a second; otherwise (a file, a pipe, CI) plain lines every `plainInterval` steps, never a carriage return.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where progress and messages go.
public final class ProgressReporter {
    /// Redraw one line in place (a terminal) or print plain lines.
    public let isTerminal: Bool
    /// Steps between plain lines (when not a terminal).
    public let plainInterval: Int
    /// The run's total steps (for the bar and the ETA).
    public var totalSteps: Int
    private let write: (String) -> Void
    private var lastDraw = 0.0
    private var lineOpen = false
    private var smoothedStepSeconds: Double?

    /// A reporter writing through `write` (default: standard error); `isTerminal` nil asks isatty(2).
    public init(totalSteps: Int, plainInterval: Int = 10, isTerminal: Bool? = nil,
                write: ((String) -> Void)? = nil) {
        self.totalSteps = totalSteps
        self.plainInterval = max(1, plainInterval)
        self.isTerminal = isTerminal ?? (isatty(STDERR_FILENO) == 1)
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Reports a finished training step. `stepSeconds` is that step's wall time (for the ETA, smoothed).
    public func step(_ step: Int, loss: Double, accuracy: Double?, tokensPerSecond: Double, learningRate: Double,
                     stepSeconds: Double) {
        smoothedStepSeconds = smoothedStepSeconds.map { 0.9 * $0 + 0.1 * stepSeconds } ?? stepSeconds
        let remaining = Double(max(0, totalSteps - step)) * (smoothedStepSeconds ?? 0)
        let accuracyText = accuracy.map { String(format: " acc %.3f", $0) } ?? ""
        if isTerminal {
            let now = Date().timeIntervalSinceReferenceDate
            guard now - lastDraw >= 0.1 || step == totalSteps else { return }
            lastDraw = now
            let width = 24
            let filled = totalSteps > 0 ? min(width, width * step / totalSteps) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = String(format: "step %d/%d %@ loss %.4f", step, totalSteps, bar, loss)
                + accuracyText
                + String(format: " | %@ tok/s | lr %.2e | ETA %@", Self.compact(tokensPerSecond), learningRate,
                         Self.duration(remaining))
            write("\r\u{1B}[2K" + line)
            lineOpen = true
        } else if step % plainInterval == 0 || step == totalSteps {
            write(String(format: "step %d/%d loss %.4f", step, totalSteps, loss) + accuracyText
                  + String(format: " tokens/s %.0f lr %.3e eta %@\n", tokensPerSecond, learningRate,
                           Self.duration(remaining)))
        }
    }

    /// Prints a whole line (validation results, checkpoints, warnings), ending the redrawn line first.
    public func message(_ text: String) {
        if lineOpen {
            write("\n")
            lineOpen = false
        }
        write(text + "\n")
    }

    /// Ends the redrawn line, if any.
    public func finish() {
        if lineOpen {
            write("\n")
            lineOpen = false
        }
    }

    /// 12345 -> "12.3k", 1234567 -> "1.23M".
    static func compact(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
        if value >= 1e4 { return String(format: "%.1fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    /// Seconds as "42s", "3m07s", "2h05m".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
