// Opening a libsndfile handle so that a failure's message is the one for this open, even with many threads.
import CSndFile
import Foundation

/// Why libsndfile refused to open a file: its error code (`SF_ERR_*` or an internal one) and message.
struct SndfileOpenFailure: Error {
    let code: Int
    let message: String
}

/// libsndfile reports a failed open through a process-wide code and message (`sf_error(NULL)`,
/// `sf_strerror(NULL)`), which a concurrent open would overwrite; opens are serialised so that each reads its own.
/// Only the open is under the lock: decoding and writing run in parallel.
private let sndfileOpenLock = NSLock()

/// Runs `open` (`sf_open`, `sf_open_virtual`) under the lock and collects libsndfile's error when it returns NULL.
func openSndfile(_ open: () -> OpaquePointer?) -> Result<OpaquePointer, SndfileOpenFailure> {
    sndfileOpenLock.lock()
    defer { sndfileOpenLock.unlock() }
    if let handle = open() { return .success(handle) }
    return .failure(SndfileOpenFailure(code: Int(sf_error(nil)), message: String(cString: sf_strerror(nil))))
}
