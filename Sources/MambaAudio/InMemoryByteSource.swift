// Bytes in memory presented to libsndfile as a read-only file, through its virtual I/O interface (sf_open_virtual).
import CSndFile

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, seekable "file" over a byte array; libsndfile calls back into it through `SF_VIRTUAL_IO`.
/// The reader keeps it alive for as long as the `SNDFILE*` exists (libsndfile stores only the raw pointer).
final class InMemoryByteSource {
    let bytes: [UInt8]
    /// The next byte a read returns. May lie past the end, as with a real file; reads there return 0 bytes.
    var position: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Callbacks for `sf_open_virtual`, which copies the struct, so a temporary is enough.
    /// `user_data` is an unretained pointer to an `InMemoryByteSource`.
    static var callbacks: SF_VIRTUAL_IO {
        SF_VIRTUAL_IO(
            get_filelen: { userData in
                sf_count_t(InMemoryByteSource.from(userData).bytes.count)
            },
            seek: { offset, whence, userData in
                let source = InMemoryByteSource.from(userData)
                let base: Int
                switch whence {
                case SEEK_SET: base = 0
                case SEEK_CUR: base = source.position
                case SEEK_END: base = source.bytes.count
                default: return -1
                }
                let (target, overflow) = base.addingReportingOverflow(Int(offset))
                guard !overflow, target >= 0 else { return -1 }
                source.position = target
                return sf_count_t(target)
            },
            read: { destination, count, userData in
                let source = InMemoryByteSource.from(userData)
                guard let destination, count > 0, source.position < source.bytes.count else { return 0 }
                let n = min(Int(count), source.bytes.count - source.position)
                source.bytes.withUnsafeBytes { bytes in
                    destination.copyMemory(from: bytes.baseAddress! + source.position, byteCount: n)
                }
                source.position += n
                return sf_count_t(n)
            },
            write: { _, _, _ in 0 },  // read-only: libsndfile never writes when opened with SFM_READ
            tell: { userData in
                sf_count_t(InMemoryByteSource.from(userData).position)
            })
    }

    private static func from(_ userData: UnsafeMutableRawPointer?) -> InMemoryByteSource {
        // libsndfile passes back the pointer given to sf_open_virtual, never nil.
        Unmanaged<InMemoryByteSource>.fromOpaque(userData!).takeUnretainedValue()
    }
}
