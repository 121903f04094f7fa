import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Garbage collection")
struct GCTests {
    /// alias → vector → estimator → effect rows (→ model fingerprint, not in the store), plus
    /// an unaliased vector built on the same estimator and an unrelated effect row.
    struct Graph {
        var effects: [ContentDigest]
        var estimator: ContentDigest
        var vector: ContentDigest
        var orphanVector: ContentDigest
        var stray: ContentDigest
    }

    static func build(_ store: ArtifactStore) throws -> Graph {
        let model = ContentDigest(ofString: "model weights")
        let effects = try (0..<2).map {
            try store.put(recipe: recipe("e\($0)", kind: .effect, inputs: ["model": model]), floats: [1], shape: [1])
        }
        let estimator = try store.put(
            recipe: recipe(
                "ridge", kind: .estimator, inputs: ["effect0": effects[0], "effect1": effects[1], "model": model]),
            floats: [1, 2], shape: [1, 2])
        let vector = try store.put(recipe: recipe("v", inputs: ["estimator": estimator]), floats: [3], shape: [1])
        let orphan = try store.put(recipe: recipe("v2", inputs: ["estimator": estimator]), floats: [4], shape: [1])
        let stray = try store.put(
            recipe: recipe("e9", kind: .effect, inputs: ["model": model]), floats: [5], shape: [1])
        return Graph(effects: effects, estimator: estimator, vector: vector, orphanVector: orphan, stray: stray)
    }

    @Test("gc keeps aliased artifacts and everything they were computed from, and removes the rest")
    func keepsReachable() throws {
        try withTemporaryStore { store, _ in
            let graph = try Self.build(store)
            try store.setAlias("vector/london/sae-ts", to: graph.vector)
            let expected = [graph.orphanVector, graph.stray].sorted()

            #expect(try store.gc(dryRun: true) == expected)
            #expect(try store.count == 6)

            #expect(try store.gc() == expected)
            #expect(try store.count == 4)
            for key in graph.effects + [graph.estimator, graph.vector] { #expect(try store.has(key)) }
            #expect(try !store.has(graph.stray))
            #expect(try store.gc().isEmpty)
            #expect(try store.verify().isClean)
        }
    }

    @Test("An alias on an intermediate artifact keeps its inputs only")
    func intermediateRoot() throws {
        try withTemporaryStore { store, _ in
            let graph = try Self.build(store)
            try store.setAlias("estimator/latest", to: graph.estimator)
            let removed = try store.gc()
            #expect(Set(removed) == Set([graph.vector, graph.orphanVector, graph.stray]))
            #expect(try store.count == 3)
        }
    }

    @Test("Without aliases gc removes everything; dangling aliases are ignored")
    func noRoots() throws {
        try withTemporaryStore { store, _ in
            let graph = try Self.build(store)
            try store.setAlias("gone", to: graph.stray)
            try store.remove(graph.stray)
            #expect(try store.gc().count == 5)
            #expect(try store.count == 0)
            #expect(try store.aliases() == ["gone": graph.stray])
        }
    }
}
