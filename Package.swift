// swift-tools-version:6.0
// HybridPQ: compact product-quantized vector indexes for cross-view retrieval.
//
// No package dependencies: the toolchain plus OpenBLAS (Debian `libopenblas-dev`, which also
// ships LAPACK) reached through the `CBLAS` system-library target. No unsafe compiler flags anywhere, so
// the library can be used as a versioned dependency; CPU-specific code is chosen at run time.
import PackageDescription

let package = Package(
    name: "HybridPQ",
    products: [
        .library(name: "HybridPQ", targets: ["HybridPQ"]),
        .library(name: "HybridPQTraining", targets: ["HybridPQTraining"]),
        .executable(name: "pqtrain", targets: ["pqtrain"]),
        .executable(name: "pqbench", targets: ["pqbench"]),
        .executable(name: "pqserve", targets: ["pqserve"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The SIMD byte-shuffle inner loops (pshufb-style lookups), the only C in the project:
        // each function carries its own target attribute and is chosen at run time.
        .target(
            name: "CKernels",
            path: "Sources/CKernels"
        ),
        .target(
            name: "HybridPQ",
            dependencies: ["CBLAS", "CKernels"],
            path: "Sources/HybridPQ",
            exclude: ["README.md"]
        ),
        // Training of the HCQ heads and codebooks (hand-written backward passes); pqtrain's engine.
        .target(
            name: "HybridPQTraining",
            dependencies: ["HybridPQ"],
            path: "Sources/HybridPQTraining",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "pqtrain",
            dependencies: ["HybridPQ", "HybridPQTraining"],
            path: "Sources/pqtrain"
        ),
        // A live index served over JSON lines on stdin/stdout (docs/EMBEDDING.md).
        .executableTarget(
            name: "pqserve",
            dependencies: ["HybridPQ"],
            path: "Sources/pqserve"
        ),
        // The live index under load: readers and a writer (docs/BENCHMARKS.md, issue 11).
        .executableTarget(
            name: "pqsoak",
            dependencies: ["HybridPQ"],
            path: "Benchmarks/soak"
        ),
        .executableTarget(
            name: "pqbench",
            dependencies: ["HybridPQ"],
            path: "Benchmarks/pqbench"
        ),
        // The crash test's child process (writes to a live index until killed), the operation
        // script it shares with the test, and the test targets' scratch space.
        .target(
            name: "LiveTestSupport",
            dependencies: ["HybridPQ"],
            path: "Tests/LiveTestSupport"
        ),
        .executableTarget(
            name: "live-writer",
            dependencies: ["HybridPQ", "LiveTestSupport"],
            path: "Tests/LiveWriter"
        ),
        .testTarget(
            name: "HybridPQTests",
            dependencies: ["HybridPQ", "LiveTestSupport"],
            path: "Tests/HybridPQTests"
        ),
        .testTarget(
            name: "HybridPQTrainingTests",
            dependencies: ["HybridPQ", "HybridPQTraining", "LiveTestSupport"],
            path: "Tests/HybridPQTrainingTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
