// The .npy reader: versions 1 and 2, int32 / int64 and smaller integers, and errors for everything else.
import Foundation
import MambaBackbone
import Testing

/// A .npy file's bytes: magic, version, header padded to 64 bytes with '\n', data.
func npyBytes(descr: String, shape: String, fortran: String = "False", data: [UInt8], major: UInt8 = 1) -> Data {
    var header = "{'descr': \(descr), 'fortran_order': \(fortran), 'shape': \(shape), }"
    let prefix = major == 1 ? 10 : 12
    while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    let length = header.utf8.count
    bytes += major == 1 ? [UInt8(length & 0xFF), UInt8(length >> 8)]
                        : [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), 0, 0]
    return Data(bytes + Array(header.utf8) + data)
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

struct NPYTests {
    @Test func readsInt64AndInt32InBothVersions() throws {
        let a = try NPYIntegerArray(data: npyBytes(descr: "'<i8'", shape: "(2, 3)", data: littleEndianBytes([Int64](arrayLiteral: 1, 2, 3, -4, 5, 1 << 40))), file: "a.npy")
        #expect(a.shape == [2, 3] && a.values == [1, 2, 3, -4, 5, 1 << 40])
        let b = try NPYIntegerArray(data: npyBytes(descr: "'<i4'", shape: "(3,)", data: littleEndianBytes([Int32](arrayLiteral: -7, 0, 9)), major: 2), file: "b.npy")
        #expect(b.shape == [3] && b.values == [-7, 0, 9])
        let c = try NPYIntegerArray(data: npyBytes(descr: "'|u1'", shape: "(1, 2)", data: [255, 3]), file: "c.npy")
        #expect(c.values == [255, 3])
        let d = try NPYIntegerArray(data: npyBytes(descr: "'<i2'", shape: "()", data: littleEndianBytes([Int16(-2)])), file: "d.npy")
        #expect(d.shape == [] && d.values == [-2])
    }

    @Test func readsAFileWrittenByNumPy() throws {
        // np.save of np.array([[5, 6, 7]], dtype=np.int64) (bytes as numpy 2 writes them).
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mambakit-npy-\(UUID().uuidString).npy")
        try npyBytes(descr: "'<i8'", shape: "(1, 3)", data: littleEndianBytes([Int64](arrayLiteral: 5, 6, 7))).write(to: url)
        let array = try NPYIntegerArray(contentsOf: url)
        #expect(array.shape == [1, 3] && array.values == [5, 6, 7])
    }

    static let bad: [(String, Data)] = [
        ("big-endian", npyBytes(descr: "'>i8'", shape: "(1,)", data: [0, 0, 0, 0, 0, 0, 0, 1])),
        ("float", npyBytes(descr: "'<f4'", shape: "(1,)", data: [0, 0, 0, 0])),
        ("fortran order", npyBytes(descr: "'<i8'", shape: "(1, 1)", fortran: "True", data: [UInt8](repeating: 0, count: 8))),
        ("truncated data", npyBytes(descr: "'<i8'", shape: "(2,)", data: [UInt8](repeating: 0, count: 8))),
        ("trailing data", npyBytes(descr: "'<i4'", shape: "(1,)", data: [UInt8](repeating: 0, count: 8))),
        ("overflowing shape", npyBytes(descr: "'<i8'", shape: "(4294967296, 4294967296, 16)", data: [])),
        ("negative dimension", npyBytes(descr: "'<i8'", shape: "(-1,)", data: [])),
        ("version 3", npyBytes(descr: "'<i8'", shape: "(0,)", data: [], major: 3)),
        ("bad magic", Data([0x93] + Array("NUMPX".utf8) + [1, 0, 0, 0])),
        ("header past the end", Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF])),
        ("too short", Data([0x93, 0x4E])),
    ]

    @Test(arguments: bad.indices)
    func malformedFilesGiveTypedErrors(_ index: Int) {
        let (label, data) = Self.bad[index]
        #expect(throws: NPYError.self, "\(label)") { try NPYIntegerArray(data: data, file: "bad.npy") }
    }
}
