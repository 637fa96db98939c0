// swift-tools-version: 6.0
// The scan benchmark, kept out of the library build (STYLE.md: benchmarks in their own package).
// Run from this folder: swift run -c release ScanBenchmark [--length 4096 --channels 512 --state 16]
// MAMBAKIT_TARGET_CPU (haswell by default, or native, znver4, ...) selects the vector units of the kernels, as in
// the main package; use a separate --scratch-path per setting.
import PackageDescription

let package = Package(
    name: "ScanBenchmark",
    dependencies: [.package(name: "MambaKit", path: "../..")],
    targets: [
        .executableTarget(
            name: "ScanBenchmark",
            dependencies: [.product(name: "MambaKit", package: "MambaKit")]),
    ]
)
