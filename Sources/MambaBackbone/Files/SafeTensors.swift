// safetensors files (https://github.com/huggingface/safetensors, format described in its README):
//   8 bytes  little-endian u64 N, the header's length
//   N bytes  JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}
//   rest     the data; offsets are relative to its start, little-endian, C order.
// Every header field is checked before it is used: a malformed or hostile file gives a `SafeTensorsError` naming the
// file and the tensor, never a crash, and never an allocation larger than the file itself.
import Foundation
import MambaTensor

/// The element types MambaKit reads (converted to Float, or to Int64 for token ids) and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// IEEE float32.
    case f32 = "F32"
    /// IEEE float16.
    case f16 = "F16"
    /// bfloat16 (the top 16 bits of a float32).
    case bf16 = "BF16"
    /// IEEE float64.
    case f64 = "F64"
    /// Signed 64-bit integers (token ids).
    case i64 = "I64"
    /// Signed 32-bit integers (token ids).
    case i32 = "I32"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self != .i64 && self != .i32 }
}

/// A problem with a safetensors file: which file, which tensor (when one), what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The kinds of problems.
    public enum Kind: Equatable, Sendable {
        /// The file could not be opened or read.
        case unreadable
        /// The first 8 bytes or the header length are wrong.
        case badHeaderLength
        /// The header is not the expected JSON.
        case malformedHeader
        /// A dtype this reader does not know or cannot convert.
        case unsupportedDType
        /// A shape that is not a list of non-negative integers, or whose element count overflows.
        case badShape
        /// Offsets outside the data, reversed, or overlapping another tensor.
        case badOffsets
        /// The byte range does not match dtype size × element count.
        case sizeMismatch
        /// The tensor is not in the file.
        case missingTensor
        /// The tensor has a dtype that cannot be read as requested (e.g. floats as token ids).
        case wrongDType
        /// The file could not be written.
        case unwritable
        /// A NaN or infinite value where only finite ones make sense (model weights, optimizer moments).
        case nonFiniteValue
    }

    /// What went wrong.
    public var kind: Kind
    /// The file's path.
    public var file: String
    /// The tensor, when the problem is about one.
    public var tensor: String?
    /// Details: expected and found.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, file: String, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.tensor = tensor
        self.message = message
    }

    /// One line: file, tensor, message.
    public var description: String {
        let subject = tensor.map { " tensor '\($0)'" } ?? ""
        return "\(file):\(subject) \(message)"
    }
}

/// A safetensors file opened for reading: the header is parsed and checked at once; data are read on demand.
public final class SafeTensorsFile: @unchecked Sendable {
    /// One tensor's header entry, checked.
    public struct TensorInfo: Equatable, Sendable {
        /// The tensor's name.
        public var name: String
        /// Its element type.
        public var dtype: SafeTensorsDType
        /// Its shape (row-major).
        public var shape: [Int]
        /// Its byte range, relative to the start of the data section.
        public var byteRange: Range<Int>
        /// The element count (product of shape; 1 for a scalar).
        public var count: Int { shape.reduce(1, *) }
    }

    /// The largest header accepted (the safetensors library's own limit is 100 MB).
    public static let maxHeaderLength = 100_000_000

    /// The file.
    public let url: URL
    /// The tensors, by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` strings.
    public let metadata: [String: String]
    /// The byte offset of the data section in the file (8 + header length).
    public let dataStart: Int

    private let handle: FileHandle
    /// Serialises seek + read pairs, so that one file can be read from several threads.
    private let lock = NSLock()

    /// The tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Opens `url` and checks its header.
    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw SafeTensorsError(.unreadable, file: path, "cannot open the file for reading")
        }
        self.handle = handle
        let fileSize: Int
        do { fileSize = Int(try handle.seekToEnd()) } catch {
            throw SafeTensorsError(.unreadable, file: path, "cannot find the file's size: \(error)")
        }
        guard fileSize >= 8 else {
            throw SafeTensorsError(.badHeaderLength, file: path,
                                   "expected at least 8 bytes (the header length), found a \(fileSize)-byte file")
        }
        let prefix = try Self.readBytes(handle, at: 0, count: 8, path: path)
        var length: UInt64 = 0
        for (index, byte) in prefix.enumerated() { length |= UInt64(byte) << (8 * UInt64(index)) }
        guard length <= UInt64(fileSize - 8), length <= UInt64(Self.maxHeaderLength) else {
            throw SafeTensorsError(.badHeaderLength, file: path,
                                   "header length \(length) exceeds the \(fileSize - 8) bytes after the length field"
                                   + (length > UInt64(Self.maxHeaderLength) ? " (limit \(Self.maxHeaderLength))" : ""))
        }
        let headerLength = Int(length)
        dataStart = 8 + headerLength
        let dataSize = fileSize - dataStart
        let headerBytes = try Self.readBytes(handle, at: 8, count: headerLength, path: path)
        let header: JSONValue
        do { header = try JSONDecoder().decode(JSONValue.self, from: headerBytes) } catch {
            throw SafeTensorsError(.malformedHeader, file: path, "the header is not valid JSON: \(error)")
        }
        guard case .object(let entries) = header else {
            throw SafeTensorsError(.malformedHeader, file: path, "expected a JSON object header, found \(header.summary)")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in entries {
            if name == "__metadata__" {
                guard case .object(let items) = entry else {
                    throw SafeTensorsError(.malformedHeader, file: path,
                                           "expected __metadata__ to be an object of strings, found \(entry.summary)")
                }
                for (key, value) in items {
                    guard case .string(let text) = value else {
                        throw SafeTensorsError(.malformedHeader, file: path,
                                               "expected __metadata__[\(key)] to be a string, found \(value.summary)")
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try Self.check(entry: entry, name: name, dataSize: dataSize, path: path)
        }
        // Overlap: sort the non-empty ranges and require each to start at or after the previous end.
        let ranges = tensors.values.filter { !$0.byteRange.isEmpty }.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (previous, next) in zip(ranges, ranges.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw SafeTensorsError(.badOffsets, file: path, tensor: next.name,
                                   "data_offsets \(next.byteRange) overlap tensor '\(previous.name)' at \(previous.byteRange)")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    deinit { try? handle.close() }

    private static func check(entry: JSONValue, name: String, dataSize: Int, path: String) throws -> TensorInfo {
        guard case .object(let fields) = entry else {
            throw SafeTensorsError(.malformedHeader, file: path, tensor: name,
                                   "expected an object with dtype, shape, data_offsets; found \(entry.summary)")
        }
        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw SafeTensorsError(.malformedHeader, file: path, tensor: name,
                                   "expected a string dtype, found \(fields["dtype"]?.summary ?? "none")")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError(.unsupportedDType, file: path, tensor: name,
                                   "dtype \(dtypeName) is not supported (expected one of F32, F16, BF16, F64, I64, I32)")
        }
        guard case .array(let dims)? = fields["shape"] else {
            throw SafeTensorsError(.badShape, file: path, tensor: name,
                                   "expected a shape array, found \(fields["shape"]?.summary ?? "none")")
        }
        var shape: [Int] = []
        var count = 1
        for dim in dims {
            guard let value = dim.integerValue, value >= 0, let size = Int(exactly: value) else {
                throw SafeTensorsError(.badShape, file: path, tensor: name,
                                       "expected non-negative integer dimensions, found \(dim.summary)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw SafeTensorsError(.badShape, file: path, tensor: name,
                                       "the element count of shape \(dims.compactMap(\.integerValue)) overflows")
            }
            shape.append(size)
            count = product
        }
        guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2,
              let begin = offsets[0].integerValue, let end = offsets[1].integerValue else {
            throw SafeTensorsError(.badOffsets, file: path, tensor: name,
                                   "expected data_offsets [begin, end], found \(fields["data_offsets"]?.summary ?? "none")")
        }
        guard begin >= 0, begin <= end, end <= Int64(dataSize) else {
            throw SafeTensorsError(.badOffsets, file: path, tensor: name,
                                   "data_offsets [\(begin), \(end)] are outside the \(dataSize)-byte data section")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == Int(end - begin) else {
            throw SafeTensorsError(.sizeMismatch, file: path, tensor: name,
                                   "shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytes)) bytes, "
                                   + "data_offsets give \(end - begin)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: Int(begin)..<Int(end))
    }

    private func readBytes(at offset: Int, count: Int) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        return try Self.readBytes(handle, at: offset, count: count, path: url.path)
    }

    private static func readBytes(_ handle: FileHandle, at offset: Int, count: Int, path: String) throws -> Data {
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: count) ?? Data()
            guard data.count == count else {
                throw SafeTensorsError(.unreadable, file: path,
                                       "expected \(count) bytes at offset \(offset), read \(data.count)")
            }
            return data
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw SafeTensorsError(.unreadable, file: path, "read of \(count) bytes at offset \(offset) failed: \(error)")
        }
    }

    /// The checked header entry of `name`, or a `.missingTensor` error.
    public func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else {
            throw SafeTensorsError(.missingTensor, file: url.path, tensor: name, "is not in the file")
        }
        return info
    }

    /// Reads a floating-point tensor, converted to Float, into `destination` (`count` must equal its element count).
    public func readFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let info = try info(name)
        guard info.dtype.isFloatingPoint else {
            throw SafeTensorsError(.wrongDType, file: url.path, tensor: name,
                                   "expected a floating-point dtype, found \(info.dtype.rawValue)")
        }
        guard info.count == count else {
            throw SafeTensorsError(.sizeMismatch, file: url.path, tensor: name,
                                   "expected \(count) elements, found \(info.count) (shape \(info.shape))")
        }
        // Convert in slices of at most 1 M elements so a large tensor never needs a second full-size buffer.
        let slice = 1 << 20
        var done = 0
        while done < count {
            let n = min(slice, count - done)
            let bytes = try readBytes(at: dataStart + info.byteRange.lowerBound + done * info.dtype.size,
                                      count: n * info.dtype.size)
            bytes.withUnsafeBytes { raw in
                Self.convert(raw, dtype: info.dtype, into: destination + done, count: n)
            }
            done += n
        }
    }

    /// Reads a floating-point tensor as `readFloats` does, then refuses NaN and infinite values (after conversion:
    /// an F64 beyond Float's range counts), naming the first one's index: weights loaded from a stranger's file must
    /// not turn every output into NaN without a word.
    public func readFiniteFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        try readFloats(name, into: destination, count: count)
        if let index = (0..<count).first(where: { !destination[$0].isFinite }) {
            let shape = tensors[name]?.shape ?? []
            throw SafeTensorsError(.nonFiniteValue, file: url.path, tensor: name,
                                   "expected finite values, found \(destination[index]) at element \(index) of shape \(shape)")
        }
    }

    /// Reads a floating-point tensor as a `[Float]`.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        var values = [Float](repeating: 0, count: info.count)
        try values.withUnsafeMutableBufferPointer { buffer in
            try readFloats(name, into: buffer.baseAddress!, count: info.count)
        }
        return values
    }

    /// Reads a floating-point tensor as a MambaTensor `Tensor` of its shape.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try info(name)
        let tensor = Tensor(zeros: info.shape)
        try withExtendedLifetime(tensor) { try readFloats(name, into: tensor.pointer, count: info.count) }
        return tensor
    }

    /// Reads an integer tensor (I64 or I32, e.g. token ids) as `[Int64]`.
    public func integers(_ name: String) throws -> [Int64] {
        let info = try info(name)
        guard !info.dtype.isFloatingPoint else {
            throw SafeTensorsError(.wrongDType, file: url.path, tensor: name,
                                   "expected an integer dtype (I64 or I32), found \(info.dtype.rawValue)")
        }
        let bytes = try readBytes(at: dataStart + info.byteRange.lowerBound, count: info.byteRange.count)
        return bytes.withUnsafeBytes { raw in
            (0..<info.count).map { index in
                info.dtype == .i64
                    ? Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
                    : Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
            }
        }
    }

    static func convert(_ raw: UnsafeRawBufferPointer, dtype: SafeTensorsDType, into out: UnsafeMutablePointer<Float>,
                        count: Int) {
        switch dtype {
        case .f32:
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f64:
            for i in 0..<count {
                out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                out[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f16:
            for i in 0..<count {
                out[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .i32, .i64:
            preconditionFailure("integer dtypes are read by integers(_:)")
        }
    }

    /// IEEE binary16 → binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // Subnormal or zero: value = mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

/// Writes safetensors files: tensors sorted by name, header padded with spaces to a multiple of 8 bytes, data
/// little-endian; written atomically (temporary file + rename).
public struct SafeTensorsWriter {
    /// A tensor to write.
    public enum Payload {
        /// float32 values (owned).
        case float32([Float])
        /// int64 values (owned), e.g. token ids.
        case int64([Int64])
        /// float32 values read from memory the caller keeps alive until `write` returns.
        case float32Pointer(UnsafePointer<Float>, count: Int)

        var count: Int {
            switch self {
            case .float32(let values): return values.count
            case .int64(let values): return values.count
            case .float32Pointer(_, let count): return count
            }
        }

        var dtype: SafeTensorsDType {
            if case .int64 = self { return .i64 }
            return .f32
        }
    }

    private var entries: [(name: String, shape: [Int], payload: Payload)] = []
    /// `__metadata__` strings.
    public var metadata: [String: String] = [:]

    /// An empty writer.
    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds a tensor; the payload's count must equal the shape's product.
    public mutating func add(_ name: String, shape: [Int], _ payload: Payload) {
        precondition(shape.reduce(1, *) == payload.count, "\(name): shape \(shape) does not match \(payload.count) values")
        precondition(name != "__metadata__" && !entries.contains { $0.name == name }, "duplicate tensor name \(name)")
        entries.append((name, shape, payload))
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws {
        let sorted = entries.sorted { $0.name < $1.name }
        var header: [String: JSONValue] = [:]
        var offset = 0
        for entry in sorted {
            let bytes = entry.payload.count * entry.payload.dtype.size
            header[entry.name] = .object([
                "dtype": .string(entry.payload.dtype.rawValue),
                "shape": .array(entry.shape.map { .integer(Int64($0)) }),
                "data_offsets": .array([.integer(Int64(offset)), .integer(Int64(offset + bytes))]),
            ])
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var headerData = try encoder.encode(JSONValue.object(header))
        while headerData.count % 8 != 0 { headerData.append(0x20) }
        do {
            try AtomicFile.write(to: url) { handle in
                var length = UInt64(headerData.count).littleEndian
                try handle.write(contentsOf: Data(bytes: &length, count: 8))
                try handle.write(contentsOf: headerData)
                for entry in sorted {
                    switch entry.payload {
                    case .float32(let values):
                        try values.withUnsafeBufferPointer { try Self.writeFloats($0.baseAddress!, $0.count, handle) }
                    case .float32Pointer(let pointer, let count):
                        try Self.writeFloats(pointer, count, handle)
                    case .int64(let values):
                        let little = values.map(\.littleEndian)
                        try little.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
                    }
                }
            }
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw SafeTensorsError(.unwritable, file: url.path, "write failed: \(error)")
        }
    }

    private static func writeFloats(_ pointer: UnsafePointer<Float>, _ count: Int, _ handle: FileHandle) throws {
        guard count > 0 else { return }
        // Little-endian hosts (x86-64, arm64) write memory as it is, in slices to bound the temporary Data.
        let slice = 1 << 20
        var done = 0
        while done < count {
            let n = min(slice, count - done)
            try handle.write(contentsOf: Data(bytes: pointer + done, count: n * 4))
            done += n
        }
    }
}
