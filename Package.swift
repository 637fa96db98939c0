// swift-tools-version: 6.0
import PackageDescription
import Foundation

// MARK: - Vector units
// Swift's default x86-64 target is SSE2 only; the SIMD16 scan and exp ran 2-4x slower that way (shared/PLATFORM.md).
// Compute modules are built for the CPU that builds them (`native`, as llama.cpp does by default): the selective scan
// ran 1.4-1.7x faster than with `haswell` (AVX2 + FMA) on this project's Zen 5 machines (Benchmarks/Scan/README.md).
// MAMBAKIT_TARGET_CPU picks another LLVM CPU name: `haswell` for a binary that runs on any x86-64 CPU since 2013,
// `generic` for no flag at all (needed when MambaKit is a dependency of another package, since SwiftPM refuses unsafe
// flags in dependencies).
let targetCPU = ProcessInfo.processInfo.environment["MAMBAKIT_TARGET_CPU"] ?? "native"
let vectorSettings: [SwiftSetting] = {
    #if arch(x86_64)
    if targetCPU != "generic" {
        return [.unsafeFlags(["-target-cpu", targetCPU])]
    }
    #endif
    return []
}()

let package = Package(
    name: "MambaKit",
    platforms: [.macOS(.v14)],
    // MARK: - Public products
    products: [
        .library(name: "MambaKit", targets: ["MambaKit"]),
        .executable(name: "mambakit", targets: ["mambakit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (DocC); a plugin only, nothing of it is linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: - C libraries (system library targets: module.modulemap + shim.h)
        .systemLibrary(
            name: "CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"]), .brew(["libsndfile"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),

        // MARK: - Implementation
        .target(
            name: "MambaTensor",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            swiftSettings: vectorSettings),
        .target(name: "MambaAudio", dependencies: ["CSndFile"]),
        .target(name: "MambaGenomics", dependencies: ["CZlib"]),
        .target(name: "MambaBackbone", dependencies: ["MambaTensor"], swiftSettings: vectorSettings),
        .target(name: "MambaTokenizers", dependencies: ["MambaAudio", "MambaGenomics"], swiftSettings: vectorSettings),
        .target(name: "MambaTraining", dependencies: ["MambaBackbone", "MambaTokenizers"], swiftSettings: vectorSettings),
        .target(name: "MambaAudioML", dependencies: ["MambaTraining", "MambaAudio", "MambaTokenizers", "MambaBackbone"],
                swiftSettings: vectorSettings),
        .target(name: "MambaGenomicsML",
                dependencies: ["MambaTraining", "MambaGenomics", "MambaTokenizers", "MambaBackbone", "MambaTensor"],
                swiftSettings: vectorSettings),
        .target(name: "MambaReport", dependencies: ["MambaBackbone"]),
        .target(
            name: "MambaKit",
            dependencies: ["MambaTensor", "MambaAudio", "MambaGenomics", "MambaTokenizers", "MambaBackbone",
                           "MambaTraining", "MambaAudioML", "MambaGenomicsML", "MambaReport"]),
        .executableTarget(
            name: "mambakit",
            dependencies: ["MambaKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: - Tests
        .target(name: "_MambaTestSupport", dependencies: ["MambaTensor"], path: "Sources/_MambaTestSupport"),
        .testTarget(name: "MambaTensorTests", dependencies: ["MambaTensor", "_MambaTestSupport"]),
        .testTarget(name: "MambaAudioTests", dependencies: ["MambaAudio", "CSndFile", "_MambaTestSupport"]),
        .testTarget(name: "MambaGenomicsTests", dependencies: ["MambaGenomics", "_MambaTestSupport"]),
        .testTarget(name: "MambaTokenizersTests", dependencies: ["MambaTokenizers", "_MambaTestSupport"]),
        .testTarget(name: "MambaBackboneTests", dependencies: ["MambaBackbone", "_MambaTestSupport"]),
        .testTarget(name: "MambaTrainingTests", dependencies: ["MambaTraining", "_MambaTestSupport"]),
        .testTarget(name: "MambaAudioMLTests", dependencies: ["MambaAudioML", "_MambaTestSupport"]),
        .testTarget(name: "MambaGenomicsMLTests", dependencies: ["MambaGenomicsML", "_MambaTestSupport"]),
        .testTarget(name: "MambaReportTests",
                    dependencies: ["MambaReport", "MambaTraining", "MambaAudio", "MambaAudioML", "CZlib",
                                   "_MambaTestSupport"]),
        .testTarget(name: "MambaCLITests", dependencies: ["MambaKit", "_MambaTestSupport"]),
    ]
)
