// Helpers shared by the test targets (not a product): fixture paths, temporary folders, closeness checks.
import Foundation

/// The repository root, found from this file's path (Sources/_MambaTestSupport/TestSupport.swift).
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `Tests/Fixtures`, where the reference generator in `scripts/reference/` writes.
public let fixturesDirectory: URL = repositoryRoot.appendingPathComponent("Tests/Fixtures")

/// `datasets/`, the small real data shipped with the repository.
public let datasetsDirectory: URL = repositoryRoot.appendingPathComponent("datasets")

/// A fresh, empty temporary folder; the caller removes it (or leaves it to the OS).
public func makeTemporaryDirectory(_ label: String = "mambakit-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The largest absolute difference between two equally long sequences, and the largest |expected|.
public func maxAbsoluteDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    var worst = 0.0
    for (x, y) in zip(a, b) { worst = max(worst, abs(Double(x) - Double(y))) }
    return worst
}

/// ‖a − b‖₂ / ‖b‖₂ (b is the reference); 0 when both are zero.
public func relativeError<A: Collection, B: Collection>(_ a: A, reference b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    precondition(a.count == b.count, "lengths differ: \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) {
        let d = Double(x) - Double(y)
        num += d * d
        den += Double(y) * Double(y)
    }
    if den == 0 { return num == 0 ? 0 : .infinity }
    return (num / den).squareRoot()
}
