import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Map growth and size limit")
struct MapGrowthTests {
    static func payload(_ index: Int, count: Int) -> [Float] { (0..<count).map { Float(index) + Float($0) } }

    @Test("A store that starts with a tiny map grows to hold more than fits")
    func growth() throws {
        try withTemporaryStore(initialMapSize: 64 << 10) { store, path in
            let initial = store.mapSize
            #expect(initial <= 64 << 10)
            var keys: [ContentDigest] = []
            for index in 0..<40 {  // 40 × 40 KB ≈ 1.6 MB
                keys.append(
                    try store.put(
                        recipe: recipe("grow\(index)"), floats: Self.payload(index, count: 10_000), shape: [10_000]))
            }
            #expect(store.mapSize >= 1 << 20)
            // One transaction larger than the current map also fits.
            let batch = (0..<8).map {
                NewArtifact.floats(recipe: recipe("batch\($0)"), Self.payload($0, count: 200_000), shape: [200_000])
            }
            keys += try store.putBatch(batch)
            #expect(try store.count == 48)
            #expect(try store.verify().isClean)
            #expect(try store.get(keys[3])?.floats() == Self.payload(3, count: 10_000))
            let reopened = try ArtifactStore(path: path + "/.", readOnly: true)
            #expect(try reopened.count == 48)
        }
        // A reopened store keeps its grown map.
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            do {
                let store = try ArtifactStore(path: path, initialMapSize: 64 << 10)
                for index in 0..<10 {
                    try store.put(
                        recipe: recipe("r\(index)"), floats: Self.payload(index, count: 10_000), shape: [10_000])
                }
            }
            let store = try ArtifactStore(path: path)
            #expect(store.mapSize >= 400_000)
            #expect(try store.count == 10)
        }
    }

    @Test("Past maxMapSize a put fails with storeFull, writes nothing, and the store stays usable")
    func cap() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            var stored: [ContentDigest] = []
            do {
                let store = try ArtifactStore(path: path, maxMapSize: 1 << 20, initialMapSize: 128 << 10)
                var failure: ArtifactStoreError?
                for index in 0..<100 where failure == nil {
                    do {
                        stored.append(
                            try store.put(
                                recipe: recipe("cap\(index)"), floats: Self.payload(index, count: 25_000),
                                shape: [25_000]))
                    } catch let error as ArtifactStoreError {
                        failure = error
                    }
                }
                let error = try #require(failure)
                guard case .storeFull(_, _, let limit) = error else {
                    Issue.record("expected storeFull, got \(error)")
                    return
                }
                #expect(limit == 1 << 20)
                #expect("\(error)".contains("full"))
                #expect("\(error)".contains("STEER_STORE_MAX_MAP_SIZE"))
                #expect(stored.count >= 5 && stored.count < 11)
                #expect(try store.count == stored.count)

                // A batch whose tail does not fit writes none of its artifacts.
                let countBefore = try store.count
                let batch = [
                    NewArtifact.floats(recipe: recipe("small"), [1], shape: [1]),
                    NewArtifact.floats(recipe: recipe("huge"), Self.payload(0, count: 300_000), shape: [300_000]),
                ]
                expectStoreError({ try store.putBatch(batch) }) {
                    if case .storeFull = $0 { true } else { false }
                }
                #expect(try store.count == countBefore)
                #expect(try !store.has(recipe("small").key))
                #expect(try store.verify().isClean)
            }
            let reopened = try ArtifactStore(path: path)
            let report = try reopened.verify()
            #expect(report.isClean)
            #expect(report.checked == stored.count)
            for (index, key) in stored.enumerated() {
                #expect(try reopened.get(key, verifyingDigest: true)?.floats() == Self.payload(index, count: 25_000))
            }
            // Without the cap the same write succeeds.
            try reopened.put(recipe: recipe("huge"), floats: Self.payload(0, count: 300_000), shape: [300_000])
        }
    }

    @Test("STEER_STORE_MAX_MAP_SIZE caps a store opened in another process")
    func capFromEnvironment() throws {
        guard let writer = storeTestWriter() else { return }
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            let result = try Subprocess.run(
                writer, ["write", path, "50", "1", "--floats", "25000", "--initial-map-size", "131072"],
                environment: ["STEER_STORE_MAX_MAP_SIZE": "1M"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("is full"), "\(result.stderr)")
            let written = result.stdout.split(separator: "\n").count
            #expect(written > 0 && written < 50)
            let store = try ArtifactStore(path: path, readOnly: true)
            #expect(try store.count == written)
            #expect(try store.verify().isClean)

            let bad = try Subprocess.run(
                writer, ["write", path, "1", "1"], environment: ["STEER_STORE_MAX_MAP_SIZE": "lots"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("STEER_STORE_MAX_MAP_SIZE"))
        }
    }
}
