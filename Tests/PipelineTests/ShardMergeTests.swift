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
}
