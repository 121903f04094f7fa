import Foundation
import SteeringTestSupport
import Testing

/// The package as another tool uses it: a new SwiftPM package in a temporary folder depends on a snapshot of
/// this repository through a `file://` git URL and a version requirement (`from: "1.0.0"`, which SwiftPM refuses
/// for a package that sets unsafe flags), builds, makes a vector with the standard plugins, and reads the
/// artifact that this build's `steer vector make` stored for the same recipe.
@Suite("A downstream package depends on this one by version")
struct DownstreamPackageTests {
    /// The downstream tool: resolves plugins by name, makes the SAE-direct vector, derives the artifact key from
    /// Pipeline's recipe and compares the stored vector with its own.
    static let mainSwift = """
        import ArtifactStore
        import Pipeline
        import SteeringCore
        import SteeringPlugins

        // downstream <sae-directory> <store-directory>
        let registry = PluginRegistry.standard
        let dictionary = try registry.dictionary("jumprelu", PluginOptions(path: CommandLine.arguments[1]))
        let strategy = try registry.strategy("sae-direct")
        guard let site = dictionary.descriptor.site else { fatalError("the dictionary names no site") }
        let inputs = StrategyInputs(site: site, targets: try FeatureTarget.parseList("42:1,7:0.5"), dictionary: dictionary)
        let vector = try strategy.makeVector(inputs)
        let store = try ArtifactStore(path: CommandLine.arguments[2], readOnly: true)
        let key = VectorBuilder(store: store).recipe(strategy: strategy, inputs: inputs, estimatorKey: nil, task: nil).key
        guard let artifact = try store.get(key, verifyingDigest: true) else { fatalError("no artifact \\(key.hex)") }
        let stored = try artifact.floats()
        let difference = zip(stored, vector.values).map { abs($0 - $1) }.max() ?? .infinity
        print("key \\(key.hex) count \\(stored.count) of \\(vector.values.count) max-difference \\(difference)")
        """

    static func manifest(dependency: String) -> String {
        """
        // swift-tools-version: 6.1
        import PackageDescription

        let package = Package(
            name: "downstream",
            platforms: [.macOS(.v14)],
            dependencies: [.package(url: "\(dependency)", from: "1.0.0")],
            targets: [
                .executableTarget(
                    name: "downstream",
                    dependencies: [
                        .product(name: "SteeringCore", package: "sae-targeted-steering"),
                        .product(name: "SteeringPlugins", package: "sae-targeted-steering"),
                        .product(name: "ArtifactStore", package: "sae-targeted-steering"),
                        .product(name: "Pipeline", package: "sae-targeted-steering"),
                    ])
            ]
        )
        """
    }

    @Test("builds against a version tag, makes a vector and reads the artifact steer stored", .timeLimit(.minutes(30)))
    func buildMakeAndRead() throws {
        guard let git = Executables.find("git"), let swift = Executables.find("swift") else {
            Issue.record("git and swift must be on PATH for the downstream-package test")
            return
        }
        let dir = try makeTemporaryDirectory("downstream")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // A snapshot of the working tree (tracked and untracked, not ignored), tagged 1.0.0 in a git repository.
        let framework = dir + "/sae-targeted-steering"
        let root = repositoryRoot.path
        let listed = try Subprocess.run(git, ["-C", root, "ls-files", "-co", "--exclude-standard", "-z"])
        try #require(listed.status == 0, "git ls-files: \(listed.stderr)")
        let manager = FileManager.default
        for file in listed.stdout.split(separator: "\0").map(String.init)
        where manager.fileExists(atPath: root + "/" + file) {
            let target = framework + "/" + file
            try manager.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try manager.copyItem(atPath: root + "/" + file, toPath: target)
        }
        let identity = ["-c", "user.name=downstream-test", "-c", "user.email=downstream-test@example.invalid"]
        for step in [
            ["init", "-q"], ["add", "-A"], identity + ["commit", "-q", "-m", "snapshot"], ["tag", "1.0.0"],
        ] {
            let result = try Subprocess.run(git, ["-C", framework] + step, timeout: 300)
            try #require(result.status == 0, "git \(step.joined(separator: " ")): \(result.stderr)")
        }

        let package = dir + "/downstream"
        try manager.createDirectory(atPath: package + "/Sources/downstream", withIntermediateDirectories: true)
        try Self.manifest(dependency: "file://" + framework).write(
            toFile: package + "/Package.swift", atomically: true, encoding: .utf8)
        try Self.mainSwift.write(toFile: package + "/Sources/downstream/main.swift", atomically: true, encoding: .utf8)
        let built = try Subprocess.run(swift, ["build", "--package-path", package], timeout: 1500)
        try #require(built.status == 0, "downstream swift build failed:\n\(built.stdout.suffix(4000))\n\(built.stderr)")

        // This build's steer stores the vector; the downstream tool recomputes it and reads it back.
        let sae = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20")
        let store = dir + "/store"
        let made = try #require(
            try BuiltProduct.runSteer([
                "vector", "make", "--strategy", "sae-direct", "--target", "42:1,7:0.5", "--sae", sae, "--store", store,
            ]))
        try #require(made.status == 0, "steer vector make: \(made.stderr)")
        let key = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ran = try Subprocess.run(package + "/.build/debug/downstream", [sae, store])
        try #require(ran.status == 0, "downstream: \(ran.stderr)")
        let words = ran.stdout.split(separator: " ").map(String.init)
        try #require(words.count == 8, "unexpected downstream output: \(ran.stdout)")
        #expect(words[1] == key)
        #expect(words[3] == words[5] && Int(words[3]) ?? 0 > 0)
        // Same code, same inputs; only the optimisation level differs (debug downstream, release steer), which
        // may reorder a reduction: the unit vectors agree to 1e-6 per element.
        let difference = try #require(Float(words[7].trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(difference <= 1e-6)
    }
}
