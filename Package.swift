// swift-tools-version: 6.1
//
// Layout (see Docs/Architecture.md):
//   Sources/   the framework core — system-library shims, SteeringCore (protocols and value types),
//              SteeringNumerics (the only CBLAS importer), TensorFormats (the only CZlib importer),
//              ArtifactStore (the only CLMDB importer), Pipeline, the composition root and the `steer` CLI.
//   Plugins/   one ordinary SwiftPM target per implementation of a core protocol, declared with
//              `path:`. These are framework plugins, not SwiftPM package plugins.
//   Tests/     one test target per module; Tests/Reference/ holds the Python scripts that wrote the
//              committed fixtures.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// No target sets unsafe flags: SwiftPM refuses them in a package that is depended on by version, and the
// libraries below are meant to be depended on that way. Speed comes from release builds (`-c release`; the
// test command builds the tests that way, with `-enable-testing`), from the C kernels' per-function
// `target(...)` attributes (AVX2/AVX-512 chosen at run time), and from pointer-based inner loops.

let package = Package(
    name: "SAETargetedSteering",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "steer", targets: ["steer"]),
        .executable(name: "steer-bench", targets: ["steer-bench"]),
        .library(name: "SteeringCore", targets: ["SteeringCore"]),
        .library(name: "SteeringPlugins", targets: ["SteeringPlugins"]),
        .library(name: "SteerCLI", targets: ["SteerCLI"]),
        .library(name: "ArtifactStore", targets: ["ArtifactStore"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "TensorFormats", targets: ["TensorFormats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // `steer serve`'s HTTP layer: router, streamed bodies, graceful shutdown via swift-service-lifecycle.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // MARK: System libraries (apt: libopenblas-dev, liblmdb-dev, zlib1g-dev). One Swift module imports each.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // MARK: Core
        .target(
            name: "SteeringCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // Vectorised kernels (AVX2/FMA/F16C chosen at run time, portable C otherwise); imported only by SteeringNumerics.
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "SteeringNumerics", dependencies: ["SteeringCore", "CBLAS", "CKernels"],
            swiftSettings: swiftSettings),
        .target(name: "TensorFormats", dependencies: ["SteeringCore", "CZlib"], swiftSettings: swiftSettings),
        .target(
            name: "ArtifactStore",
            dependencies: [
                "SteeringCore", "TensorFormats", "CLMDB", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),

        // The shared decoder runtime: weights, KV cache, step loop, forward / generate / loss, hooks.
        .target(
            name: "TransformerRuntime", dependencies: ["SteeringCore", "SteeringNumerics", "TensorFormats"],
            swiftSettings: swiftSettings),

        // MARK: Plugins (framework plugin modules; see README "Why Plugins/")
        .target(
            name: "GemmaTokenizer", dependencies: ["SteeringCore", "TensorFormats"], path: "Plugins/GemmaTokenizer",
            swiftSettings: swiftSettings),
        .target(
            name: "Gemma2",
            dependencies: [
                "SteeringCore", "SteeringNumerics", "TensorFormats", "TransformerRuntime", "GemmaTokenizer",
            ],
            path: "Plugins/Gemma2", swiftSettings: swiftSettings),
        .target(
            name: "Gemma3",
            dependencies: [
                "SteeringCore", "SteeringNumerics", "TensorFormats", "TransformerRuntime", "GemmaTokenizer",
            ],
            path: "Plugins/Gemma3", swiftSettings: swiftSettings),
        .target(
            name: "JumpReLUSAE", dependencies: ["SteeringCore", "SteeringNumerics", "TensorFormats"],
            path: "Plugins/JumpReLUSAE", swiftSettings: swiftSettings),
        .target(
            name: "Estimators", dependencies: ["SteeringCore", "SteeringNumerics"], path: "Plugins/Estimators",
            swiftSettings: swiftSettings),
        .target(
            name: "Strategies", dependencies: ["SteeringCore", "SteeringNumerics"], path: "Plugins/Strategies",
            swiftSettings: swiftSettings),
        .target(
            name: "Judges", dependencies: ["SteeringCore"], path: "Plugins/Judges", swiftSettings: swiftSettings),

        // MARK: Orchestration (talks to plugins only through the core protocols)
        .target(
            name: "Pipeline", dependencies: ["SteeringCore", "SteeringNumerics", "TensorFormats", "ArtifactStore"],
            swiftSettings: swiftSettings),

        // MARK: Serving (the OpenAI-compatible HTTP server on Hummingbird 2 over any IncrementalDecoding backend)
        .target(
            name: "SteeringServer",
            dependencies: [
                "SteeringCore", "ArtifactStore", "TensorFormats",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),

        // MARK: Composition root and CLI
        .target(
            name: "SteeringPlugins",
            dependencies: [
                "SteeringCore", "TensorFormats", "Gemma2", "Gemma3", "JumpReLUSAE", "Estimators", "Strategies",
                "Judges",
            ],
            swiftSettings: swiftSettings),
        // The commands of `steer` as a library (a tool with its own plugins runs them with its registry)...
        .target(
            name: "SteerCLI",
            dependencies: [
                "SteeringCore", "SteeringPlugins", "ArtifactStore", "TensorFormats", "SteeringNumerics", "Pipeline",
                "SteeringServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        // ...and the executable that runs them with the standard plugins.
        .executableTarget(name: "steer", dependencies: ["SteerCLI"], swiftSettings: swiftSettings),
        // The benchmarks (random models of real shapes, the probe protocol timed both ways): their own executable,
        // since they build concrete backends and SAEs, which the CLI reaches only through the registry.
        .executableTarget(
            name: "steer-bench",
            dependencies: [
                "SteeringCore", "SteeringNumerics", "SteeringPlugins", "TensorFormats", "TransformerRuntime",
                "Pipeline",
                "Gemma2", "Gemma3", "JumpReLUSAE", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // MARK: Tests
        .target(
            name: "SteeringTestSupport", dependencies: ["SteeringCore", "SteeringNumerics"],
            path: "Tests/Support/SteeringTestSupport",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "store-test-writer", dependencies: ["SteeringCore", "ArtifactStore"],
            path: "Tests/Support/StoreTestWriter", swiftSettings: swiftSettings),
        .testTarget(
            name: "SteeringCoreTests", dependencies: ["SteeringCore", "SteeringPlugins", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NumericsTests",
            dependencies: ["SteeringNumerics", "CKernels", "TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TensorFormatsTests", dependencies: ["TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ArtifactStoreTests", dependencies: ["ArtifactStore", "TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SteerCLITests", dependencies: ["SteeringTestSupport", "TensorFormats", "ArtifactStore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GemmaTokenizerTests", dependencies: ["GemmaTokenizer", "TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "Gemma2Tests",
            dependencies: ["Gemma2", "SteeringPlugins", "TensorFormats", "TransformerRuntime", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "Gemma3Tests",
            dependencies: ["Gemma3", "SteeringPlugins", "TensorFormats", "TransformerRuntime", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EstimatorsTests", dependencies: ["Estimators", "Pipeline", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "StrategiesTests", dependencies: ["Strategies", "JumpReLUSAE", "Gemma2", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "JudgesTests", dependencies: ["Judges", "Gemma2", "SteeringTestSupport"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Pipeline", "Gemma2", "Gemma3", "JumpReLUSAE", "ArtifactStore", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SteeringServerTests",
            dependencies: [
                "SteeringServer", "Gemma2", "TransformerRuntime", "ArtifactStore", "SteeringPlugins",
                "SteeringTestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ExtensionTests",
            dependencies: ["SteerCLI", "SteeringCore", "SteeringPlugins", "TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "JumpReLUSAETests", dependencies: ["JumpReLUSAE", "TensorFormats", "SteeringTestSupport"],
            swiftSettings: swiftSettings),
    ]
)
