import ArtifactStore
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

/// `merge(from:requiring: EffectMeasurer.shardAgreements)`: shards of one job merge; a shard of
/// another protocol, scale or SAE is refused with the differing recipe input named and nothing copied.
@Suite("Merging effect shards")
struct ShardMergeTests {
    /// Measures probes `rows` into a new store under `dir` with `measurement` and `scale`.
    func shard(
        _ dir: String, _ name: String, rows: Range<Int>,
        measurement: MeasurementProtocol = PipelineFixtures.measurement,
        scale: Float = 6
    ) throws -> ArtifactStore {
        let sae = try PipelineFixtures.sae()
        let store = try ArtifactStore(path: dir + "/" + name)
        let measurer = try EffectMeasurer(
            model: try PipelineFixtures.model(), dictionary: sae, store: store, measurement: measurement,
            scaling: .fixed(scale))
        _ = try EffectJob(measurer: measurer, vectors: try PipelineFixtures.probes(sae, rows)).run()
        return store
    }

    func refusal(_ body: () throws -> Void) -> [String]? {
        do {
            try body()
        } catch ArtifactStoreError.recipeMismatch(_, _, let kind, let algorithm, let differences) {
            #expect(kind == "effect" && algorithm == "effect-measurement")
            return differences
        } catch {
            Issue.record("expected recipeMismatch, got \(error)")
        }
        return nil
    }

    @Test("same-job shards merge; another seed or scale is refused naming it, and nothing is copied")
    func agreements() throws {
        let dir = try makeTemporaryDirectory("shard-merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let merged = try ArtifactStore(path: dir + "/merged")
        let first = try shard(dir, "a", rows: 0..<2)
        let second = try shard(dir, "b", rows: 2..<3)
        #expect(try merged.merge(from: first, requiring: EffectMeasurer.shardAgreements).isClean)
        let report = try merged.merge(from: second, requiring: EffectMeasurer.shardAgreements)
        #expect(report.isClean && report.added.count == 2 && report.alreadyPresent == 1, "vector + effect; baseline")
        let count = try merged.count

        var other = PipelineFixtures.measurement
        other.seed = 6
        let seeded = try shard(dir, "seed", rows: 3..<4, measurement: other)
        let seedDifferences = refusal { _ = try merged.merge(from: seeded, requiring: EffectMeasurer.shardAgreements) }
        #expect(seedDifferences?.first == "parameter 'protocol.seed' (\"5\" here, \"6\" there)")
        #expect(seedDifferences?.last?.hasPrefix("input 'baseline'") == true, "derived inputs come last")
        #expect(seedDifferences?.count == 2)

        let scaled = try shard(dir, "scale", rows: 3..<4, scale: 7)
        let scaleDifferences = refusal { _ = try merged.merge(from: scaled, requiring: EffectMeasurer.shardAgreements) }
        #expect(scaleDifferences == ["parameter 'scale' (6.0 here, 7.0 there)"])
        #expect(try merged.count == count, "a refused merge copies nothing")

        // The message is a full sentence that says what to do.
        let message =
            "\(ArtifactStoreError.recipeMismatch(path: "/m", other: "/s", kind: "effect", algorithm: "x", differences: ["input 'model' (a here, b there)"]))"
        #expect(message.contains("Refusing to merge /s into /m") && message.contains("input 'model'"))
        #expect(message.contains("--allow-mixed-recipes") && message.contains("Nothing was copied"))

        // Without rules (or into an empty store) anything merges.
        #expect(try merged.merge(from: seeded).added.count == 3)
        let empty = try ArtifactStore(path: dir + "/empty")
        #expect(try empty.merge(from: scaled, requiring: EffectMeasurer.shardAgreements).isClean)
    }

    @Test("steer effects status: measured, in progress and missing across shard stores and a directory of them")
    func status() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let dir = try makeTemporaryDirectory("shard-status")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vectors = "decoder-rows:" + PipelineFixtures.saePath + ":0-9"
        _ = try shard(dir + "/shards", "shard-0-of-3", rows: 0..<1)  // row 0 of shard 0's rows 0, 3, 6
        let second = try shard(dir + "/shards", "shard-1-of-3", rows: 1..<2)
        // Row 4 begun but not finished: its vector is stored, its effect is not (a running or killed task).
        let probe = try PipelineFixtures.probes(try PipelineFixtures.sae(), 4..<5)[0]
        try second.put(recipe: probe.recipe, floats: probe.values, shape: [probe.values.count])

        let result = try Subprocess.run(
            steer,
            [
                "effects", "status", "--store", dir + "/shards", "--store", dir + "/not-yet", "--vectors", vectors,
                "--shards", "3", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(json?["vectors"] as? Int == 9)
        #expect(json?["measured"] as? Int == 2)
        #expect(json?["inProgress"] as? Int == 1)
        #expect(json?["missing"] as? Int == 6)
        #expect(json?["complete"] as? Bool == false)
        #expect(json?["inProgressLabels"] as? [String] == ["decoder row 4"])
        let stores = json?["stores"] as? [[String: Any]] ?? []
        #expect(
            stores.map { ($0["path"] as? String ?? "").split(separator: "/").last ?? "" } == [
                "shard-0-of-3", "shard-1-of-3", "not-yet",
            ])
        #expect(stores.map { $0["measured"] as? Int } == [1, 1, 0])
        #expect(stores.map { $0["exists"] as? Bool } == [true, true, false])
        let shards = json?["shards"] as? [[String: Any]] ?? []
        #expect(shards.map { $0["assigned"] as? Int } == [3, 3, 3])
        #expect(shards.map { $0["measured"] as? Int } == [1, 1, 0])
        #expect(shards.map { $0["inProgress"] as? Int } == [0, 1, 0])

        let text = try Subprocess.run(steer, ["effects", "status", "--store", dir + "/shards", "--vectors", vectors])
        #expect(text.stdout.contains("2 of 9 vectors measured, 1 in progress, 6 missing."), "\(text.stdout)")
        #expect(text.stdout.contains("in progress: decoder row 4"))

        let noStore = try Subprocess.run(steer, ["effects", "status", "--vectors", vectors])
        #expect(noStore.status != 0 && noStore.stderr.contains("Give at least one --store"), "\(noStore.stderr)")
        let badRange = try Subprocess.run(
            steer,
            ["effects", "status", "--store", dir, "--vectors", "decoder-rows:" + PipelineFixtures.saePath + ":5-2"])
        #expect(badRange.status != 0 && badRange.stderr.contains("START < END"), "\(badRange.stderr)")
    }
}
