// An output file that appears under its name only when complete: bytes go to a temporary file in the same folder
// (so the final rename(2) stays on one file system and is atomic), which is renamed over the target on commit and
// removed on discard. A reader of the target path sees either the old file or the whole new one, never a part.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written under a temporary name beside `path` and renamed to `path` by `commit()`.
public final class AtomicOutputFile {
    /// The final path.
    public let path: String
    /// The temporary file written until `commit()`.
    public let temporaryPath: String
    private var fd: Int32

    /// Creates the temporary file `.NAME.tmp-RANDOM` in the folder of `path`.
    public init(path: String) throws(FASTAError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw .writeFailed(file: path, reason: "the path names a folder, not a file") }
        var attempt = 0
        while true {
            let candidate = "\(folder).\(name).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            // 0o666 filtered by the umask, as for any file the user creates; O_EXCL so no other file is clobbered.
            let opened = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if opened >= 0 {
                fd = opened
                temporaryPath = candidate
                return
            }
            let code = errno
            attempt += 1
            if code != EEXIST || attempt > 16 {
                throw .writeFailed(file: path, reason: "cannot create \(candidate): \(String(cString: strerror(code)))")
            }
        }
    }

    deinit { discard() }

    /// Writes all of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FASTAError) {
        guard fd >= 0 else { throw .writeFailed(file: path, reason: "the output was already closed") }
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(file: path, reason: String(cString: strerror(errno)))
            }
            done += n
        }
    }

    /// Flushes to the disk and renames the temporary file to `path`.
    public func commit() throws(FASTAError) {
        guard fd >= 0 else { throw .writeFailed(file: path, reason: "the output was already closed") }
        // fsync before rename: otherwise a crash can leave `path` renamed but empty on some file systems.
        if fsync(fd) != 0 && errno != EINVAL {
            throw .writeFailed(file: path, reason: "fsync: \(String(cString: strerror(errno)))")
        }
        let closed = close(fd)
        fd = -1
        if closed != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .writeFailed(file: path, reason: "close: \(reason)")
        }
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .writeFailed(file: path, reason: "rename from \(temporaryPath): \(reason)")
        }
    }

    /// Closes and removes the temporary file; `path` is left as it was. Idempotent.
    public func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporaryPath)
    }
}

extension AtomicOutputFile {
    /// Writes the UTF-8 bytes of `text`.
    public func write(_ text: String) throws(FASTAError) {
        let bytes = Array(text.utf8)
        let pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        defer { pointer.deallocate() }
        pointer.copyBytes(from: bytes)
        try write(UnsafeRawBufferPointer(rebasing: pointer[0..<bytes.count]))
    }
}

/// write(2), under a name that the method `write(_:)` does not hide.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
