import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

/// Runs the built `steer` executable on a temporary store.
struct SteerRunner {
    let executable: String
    let storePath: String

    /// `steer <arguments> --store <storePath>` (unless `store` is `false`), with `STEER_STORE` unset
    /// unless given in `environment`.
    func run(_ arguments: [String], store: Bool = true, environment: [String: String?] = [:]) throws
        -> SubprocessResult
    {
        var variables: [String: String?] = ["STEER_STORE": nil, "STEER_STORE_MAX_MAP_SIZE": nil]
        for (name, value) in environment { variables[name] = value }
        return try Subprocess.run(
            executable, arguments + (store ? ["--store", storePath] : []), environment: variables, timeout: 120)
    }
}

/// Runs `body` with a runner whose store lies in a fresh temporary directory (the store itself is
/// created by ``Populated`` or by the command under test), and the directory's path.
@discardableResult
func withCLIStore<R>(_ body: (SteerRunner, String) throws -> R) throws -> R? {
    guard let steer = BuiltProduct.steer() else { return nil }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("steer-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(SteerRunner(executable: steer, storePath: directory.path + "/store"), directory.path)
}

func recipe(_ name: String, kind: ArtifactKind = .vector, inputs: [String: ContentDigest] = [:]) -> Recipe {
    Recipe(kind: kind, algorithm: "cli-test", version: 1, parameters: ["name": .string(name)], inputs: inputs)
}

/// An effect row, an estimator computed from it and a vector computed from the estimator (aliased
/// `vector/test`), plus a stray dataset that no alias reaches.
struct Populated {
    var effect: ContentDigest
    var estimator: ContentDigest
    var vector: ContentDigest
    var stray: ContentDigest

    init(path: String) throws {
        let store = try ArtifactStore(path: path)
        effect = try store.put(recipe: recipe("e", kind: .effect), floats: [1, 2, 3], shape: [3])
        estimator = try store.put(
            recipe: recipe("m", kind: .estimator, inputs: ["effect": effect]), floats: [1, 2, 3, 4], shape: [2, 2])
        vector = try store.put(recipe: recipe("v", inputs: ["estimator": estimator]), floats: [0.5, -0.5], shape: [2])
        stray = try store.put(recipe: recipe("d", kind: .dataset), int32s: [1, 2], shape: [2])
        try store.setAlias("vector/test", to: vector)
    }
}

extension SubprocessResult {
    /// Standard output and standard error together, for messages in expectations.
    var all: String { stdout + stderr }
}
