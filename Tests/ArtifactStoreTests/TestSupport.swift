import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

/// A fresh directory under the system temporary directory, removed after `body`.
@discardableResult
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url.path)
}

/// A store in a fresh temporary directory.
@discardableResult
func withTemporaryStore<R>(
    initialMapSize: Int? = nil, maxMapSize: Int? = nil, _ body: (ArtifactStore, String) throws -> R
) throws -> R {
    try withTemporaryDirectory { directory in
        let path = directory + "/store"
        let store = try ArtifactStore(path: path, maxMapSize: maxMapSize, initialMapSize: initialMapSize)
        return try body(store, path)
    }
}

/// A small recipe whose key depends on `name` and `inputs`.
func recipe(
    _ name: String, kind: ArtifactKind = .vector, parameters: [String: RecipeValue] = [:],
    inputs: [String: ContentDigest] = [:]
) -> Recipe {
    var all = parameters
    all["name"] = .string(name)
    return Recipe(kind: kind, algorithm: "test", version: 1, parameters: all, inputs: inputs)
}

/// The recipe and payload `store-test-writer write` uses for artifact `index` of run `seed`.
enum WriterArtifacts {
    static func recipe(seed: Int, index: Int) -> Recipe {
        Recipe(
            kind: .effect, algorithm: "store-test-writer", version: 1,
            parameters: ["seed": .int(seed), "index": .int(index), "scale": .double(0.5)])
    }

    static func payload(seed: Int, index: Int, count: Int) -> [Float] {
        (0..<count).map { Float(seed * 1000 + index) + Float($0) * 0.25 }
    }
}

/// The `store-test-writer` executable; records an issue if it was not built.
func storeTestWriter() -> String? {
    let path = BuiltProduct.path("store-test-writer")
    if path == nil { Issue.record("store-test-writer was not found next to the test bundle; run `swift build` first") }
    return path
}

/// Asserts that `body` throws an ``ArtifactStoreError`` matching `matches`, and returns it.
@discardableResult
func expectStoreError(
    _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation,
    _ matches: (ArtifactStoreError) -> Bool
) -> ArtifactStoreError? {
    do {
        try body()
        Issue.record("expected an ArtifactStoreError, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ArtifactStoreError {
        #expect(matches(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an ArtifactStoreError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
