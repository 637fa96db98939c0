// A small, bounds-checked reader of NumPy .npy files holding integer arrays (token ids).
// Format (numpy/lib/format.py, "NPY format version 1.0 / 2.0"):
//   6 bytes "\x93NUMPY", 1 byte major (1 or 2), 1 byte minor,
//   header length: u16 LE (version 1) or u32 LE (version 2),
//   header: an ASCII Python dict literal {'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), } padded with
//   spaces and ended by '\n', then the data in C order.
// Accepted: descr '<i4', '<i8' (and '|i1', '<i2', '|u1', '<u2', '<u4', whose values fit Int64), little-endian,
// fortran_order False. Anything else (big-endian, floats, Fortran order, version 3, trailing or missing bytes) is an
// `NPYError` saying what was expected and what was found.
import Foundation

/// A problem reading a .npy file.
public struct NPYError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public var file: String
    /// Expected and found.
    public var message: String

    /// Creates an error.
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    /// One line.
    public var description: String { "\(file): \(message)" }
}

/// An integer array read from a .npy file.
public struct NPYIntegerArray: Equatable, Sendable {
    /// The shape (C order).
    public var shape: [Int]
    /// The values, row-major.
    public var values: [Int64]

    /// The largest file read (bytes): arrays of token ids are far smaller.
    public static let maxFileSize = 1 << 32

    /// Reads `url`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw NPYError(file: path, "cannot read the file")
        }
        guard size <= Self.maxFileSize else {
            throw NPYError(file: path, "expected at most \(Self.maxFileSize) bytes, found \(size)")
        }
        guard let data = try? Data(contentsOf: url) else { throw NPYError(file: path, "cannot read the file") }
        try self.init(data: data, file: path)
    }

    /// Parses the bytes of a .npy file (`file` names it in errors).
    public init(data: Data, file: String) throws {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError(file: file, "expected the NPY magic \\x93NUMPY at byte 0, found \(bytes.prefix(6).map { String(format: "%02x", $0) }.joined(separator: " "))")
        }
        let major = bytes[6]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2:
            guard bytes.count >= 12 else { throw NPYError(file: file, "expected a 4-byte header length at byte 8, found end of file") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NPYError(file: file, "expected NPY format version 1 or 2 at byte 6, found \(major).\(bytes[7])")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw NPYError(file: file, "header length \(headerLength) at byte 8 runs past the end of the \(bytes.count)-byte file")
        }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .ascii) else {
            throw NPYError(file: file, "expected an ASCII header at byte \(headerStart)")
        }
        let fields = try Self.parseHeader(header, file: file)
        guard let descr = fields["descr"] else { throw NPYError(file: file, "header has no 'descr': \(header)") }
        guard let fortran = fields["fortran_order"] else { throw NPYError(file: file, "header has no 'fortran_order': \(header)") }
        guard let shapeText = fields["shape"] else { throw NPYError(file: file, "header has no 'shape': \(header)") }
        guard fortran == "False" else {
            throw NPYError(file: file, "expected fortran_order False (C order), found \(fortran)")
        }
        let itemSize: Int
        let signed: Bool
        switch descr {
        case "'<i8'": (itemSize, signed) = (8, true)
        case "'<i4'": (itemSize, signed) = (4, true)
        case "'<i2'": (itemSize, signed) = (2, true)
        case "'|i1'": (itemSize, signed) = (1, true)
        case "'<u4'": (itemSize, signed) = (4, false)
        case "'<u2'": (itemSize, signed) = (2, false)
        case "'|u1'": (itemSize, signed) = (1, false)
        default:
            throw NPYError(file: file, "expected a little-endian integer descr ('<i4' or '<i8'), found \(descr)")
        }
        // shape: "(2, 3)", "(5,)", "()".
        guard shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw NPYError(file: file, "expected a tuple shape, found \(shapeText)")
        }
        var shape: [Int] = []
        var count = 1
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let dim = Int(text), dim >= 0 else {
                throw NPYError(file: file, "expected non-negative integer dimensions in shape, found \(shapeText)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw NPYError(file: file, "the element count of shape \(shapeText) overflows") }
            shape.append(dim)
            count = product
        }
        let dataStart = headerStart + headerLength
        let available = bytes.count - dataStart
        let (needed, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, needed == available else {
            throw NPYError(file: file, "shape \(shapeText) of \(descr) needs \(overflow ? "too many" : String(needed)) data bytes "
                           + "after byte \(dataStart), found \(available)")
        }
        var values = [Int64](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                let offset = dataStart + index * itemSize
                var bits: UInt64 = 0
                for byte in 0..<itemSize { bits |= UInt64(raw[offset + byte]) << (8 * UInt64(byte)) }
                if signed && itemSize < 8 && bits & (1 << (8 * UInt64(itemSize) - 1)) != 0 {
                    bits |= ~0 << (8 * UInt64(itemSize))  // sign-extend
                }
                values[index] = Int64(bitPattern: bits)
            }
        }
        self.shape = shape
        self.values = values
    }

    /// Splits the dict literal into its three known keys' raw value texts.
    private static func parseHeader(_ header: String, file: String) throws -> [String: String] {
        var text = header.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("{"), text.hasSuffix("}") else {
            throw NPYError(file: file, "expected a {...} dict header, found \(header.prefix(80))")
        }
        text = String(text.dropFirst().dropLast())
        var fields: [String: String] = [:]
        for key in ["descr", "fortran_order", "shape"] {
            guard let keyRange = text.range(of: "'\(key)'") else { continue }
            var rest = text[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { throw NPYError(file: file, "expected ':' after '\(key)' in header \(header)") }
            rest = rest.dropFirst().drop { $0 == " " }
            let value: Substring
            if rest.first == "(" {
                guard let close = rest.firstIndex(of: ")") else { throw NPYError(file: file, "unclosed shape tuple in header \(header)") }
                value = rest[...close]
            } else {
                value = rest.prefix { $0 != "," && $0 != "}" }
            }
            fields[key] = value.trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
