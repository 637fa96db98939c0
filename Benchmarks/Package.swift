// swift-tools-version: 6.0
// Benchmarks for MambaKit, kept in their own package so the library build never compiles them
// (as swift-collections keeps its Benchmarks package). Build and run from this folder:
//   swift run -c release fasta-throughput [FILE.fa.gz]
//   swift run -c release tokenizer-throughput
import PackageDescription

let package = Package(
    name: "MambaKitBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The repository root, by path; `name:` fixes the package's name whatever the checkout folder is called.
        .package(name: "MambaKit", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "fasta-throughput",
            dependencies: [.product(name: "MambaKit", package: "MambaKit")],
            path: "FASTAThroughput"),
        .executableTarget(
            name: "tokenizer-throughput",
            dependencies: [.product(name: "MambaKit", package: "MambaKit")],
            path: "TokenizerThroughput"),
    ]
)
