// Shared by every harness: a per-process scratch file that the input bytes are written to, for readers that take a
// path. The file lives in /dev/shm when it exists (a memory file system: no disk traffic per input).
#if canImport(Glibc)
import Glibc
#endif

/// The path each input is written to; one per fuzzing process, so parallel jobs (`-jobs`, `-workers`) do not collide.
let scratchPath: String = {
    let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    // Removed when libFuzzer exits (it returns through exit(), which runs atexit handlers).
    atexit {
        unlink(scratchPath)
        unlink(scratchPath + ".out.json")
    }
    return "\(folder)/mambakit-fuzz-\(getpid())"
}()

/// Writes `bytes` to `scratchPath` (replacing what was there) and returns the path.
func writeScratch(_ bytes: UnsafeRawBufferPointer, suffix: String = "") -> String {
    let path = scratchPath + suffix
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        precondition(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
    return path
}

/// Fails the run (libFuzzer saves the input) when an invariant of the reader under test is broken.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}
