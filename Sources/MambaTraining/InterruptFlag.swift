// Ctrl-C (SIGINT) and SIGTERM during training: the handler only sets an atomic flag (the one thing that is
// async-signal-safe to do), which the loop checks between steps; it then saves a checkpoint and returns. A second
// signal while the first is being handled ends the process at once (exit status 130), as a user pressing Ctrl-C twice
// expects.
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide "stop soon" flag, set by SIGINT/SIGTERM once `installSignalHandlers()` has run, or by `request()`.
public enum InterruptFlag {
    private static let raised = Atomic<Bool>(false)

    /// True once a stop was requested (and not cleared).
    public static var isRaised: Bool { raised.load(ordering: .acquiring) }

    /// Requests a stop (what the signal handler does).
    public static func request() { raised.store(true, ordering: .releasing) }

    /// Clears the flag.
    public static func clear() { raised.store(false, ordering: .releasing) }

    /// Installs the SIGINT and SIGTERM handlers.
    public static func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM] {
            _ = signal(signalNumber) { _ in
                if InterruptFlag.raised.exchange(true, ordering: .acquiringAndReleasing) {
                    _exit(130)
                }
            }
        }
    }
}
