import ArgumentParser
import ArtifactStore
import Foundation
import Pipeline
import SteeringCore

/// `steer effects status`: how far a (sharded) measurement job has come, read from its shard stores
/// without loading the model, so it can watch a running Slurm array or Kubernetes indexed Job.
struct EffectsStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show which vectors are measured, in progress and missing across shard stores.",
        discussion: """
            Each --store is a store directory, or a directory whose subdirectories are stores (the shard \
            stores of an array job); a store not created yet counts as empty. A vector is measured when any \
            store holds its effect, in progress when a store holds its vector or calibration but not yet its \
            effect (a running task, or one that was killed and will resume there), and missing otherwise. \
            Stores are opened read-only while their jobs write to them. Exits 0 whether or not the job is done; \
            --json prints everything for scripts.
            """)

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp("Shard store, or a directory of shard stores (repeatable).", valueName: "path"))
    var stores: [String] = []

    @Option(help: "The job's --vectors: decoder-rows:SAE_PATH[:START-END] or FILE.npy.")
    var vectors: String

    @Option(help: "Also count per shard for a job split into this many shards (--shard i/N, array tasks).")
    var shards: Int?

    @Option(help: "Labels of missing and in-progress vectors printed (the rest are counted).")
    var show = 10

    @Flag(help: "Print the status as JSON.")
    var json = false

    func validate() throws {
        if stores.isEmpty { throw ValidationError("Give at least one --store (a shard store or a directory of them).") }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1, got \(shards).") }
        if show < 0 { throw ValidationError("--show must be 0 or more, got \(show).") }
    }

    struct StoreStatus: Encodable {
        var path: String
        var exists: Bool
        var measured: Int
        var inProgress: Int
        var lastEffect: String?
        var error: String?
    }

    struct ShardStatus: Encodable {
        var shard: String
        var assigned: Int
        var measured: Int
        var inProgress: Int
    }

    struct RecipeStatus: Encodable {
        var recipe: String
        var algorithm: String
        var inputs: [String: String]
        var effects: Int
    }

    struct Status: Encodable {
        var vectors: Int
        var measured: Int
        var inProgress: Int
        var missing: Int
        var complete: Bool
        var stores: [StoreStatus]
        var shards: [ShardStatus]
        var recipes: [RecipeStatus]
        var inProgressLabels: [String]
        var missingLabels: [String]
    }

    func run() async throws {
        let probes = try ProbeVectorSpec(vectors).load(width: nil, site: nil)
        var index: [ContentDigest: Int] = [:]
        for (i, probe) in probes.enumerated() { index[probe.key] = i }
        var measured = Set<Int>()
        var started = Set<Int>()
        var storeRows: [StoreStatus] = []
        var recipes: [ContentDigest: RecipeStatus] = [:]
        let rule = EffectMeasurer.shardAgreements[0]
        for path in expandedStores() {
            var row = StoreStatus(path: path, exists: ArtifactStore.exists(at: path), measured: 0, inProgress: 0)
            guard row.exists else {
                storeRows.append(row)
                continue
            }
            do {
                let store = try ArtifactStore(path: path, readOnly: true)
                var mine = Set<Int>()
                for (_, header) in try store.list(kind: .effect) {
                    guard let vector = header.recipe.inputs["vector"], let i = index[vector] else { continue }
                    mine.insert(i)
                    row.lastEffect = max(row.lastEffect ?? "", header.createdAt)
                    let shared = rule.shared(header.recipe)
                    recipes[shared.key, default: describe(shared)].effects += 1
                }
                var begun = Set<Int>()
                for (key, _) in try store.list(kind: .vector) { if let i = index[key] { begun.insert(i) } }
                for (_, header) in try store.list(kind: .calibration) {
                    if let i = header.recipe.inputs["vector"].flatMap({ index[$0] }) { begun.insert(i) }
                }
                row.measured = mine.count
                row.inProgress = begun.subtracting(mine).count
                measured.formUnion(mine)
                started.formUnion(begun)
            } catch {
                row.error = "\(error)"
            }
            storeRows.append(row)
        }
        let inProgress = started.subtracting(measured)
        let missing = Set(probes.indices).subtracting(measured).subtracting(inProgress)
        var shardRows: [ShardStatus] = []
        if let shards {
            for i in 0..<shards {
                let mine = Set(probes.indices.filter { $0 % shards == i })
                shardRows.append(
                    ShardStatus(
                        shard: "\(i)/\(shards)", assigned: mine.count, measured: mine.intersection(measured).count,
                        inProgress: mine.intersection(inProgress).count))
            }
        }
        let status = Status(
            vectors: probes.count, measured: measured.count, inProgress: inProgress.count, missing: missing.count,
            complete: measured.count == probes.count, stores: storeRows, shards: shardRows,
            recipes: recipes.values.sorted { $0.recipe < $1.recipe },
            inProgressLabels: inProgress.sorted().map { probes[$0].label },
            missingLabels: missing.sorted().map { probes[$0].label })
        if json {
            try StoreOutput.printJSON(status)
        } else {
            printText(status)
        }
    }

    private func describe(_ shared: Recipe) -> RecipeStatus {
        RecipeStatus(
            recipe: shared.key.hex, algorithm: "\(shared.algorithm) v\(shared.version)",
            inputs: shared.inputs.mapValues(\.hex), effects: 0)
    }

    private func printText(_ status: Status) {
        StoreOutput.printTable(
            ["STORE", "MEASURED", "IN PROGRESS", "LAST EFFECT"],
            status.stores.map { row in
                if let error = row.error { return [row.path, "-", "-", "unreadable: \(error)"] }
                guard row.exists else { return [row.path, "0", "0", "not created yet"] }
                return [row.path, "\(row.measured)", "\(row.inProgress)", row.lastEffect ?? "-"]
            })
        if !status.shards.isEmpty {
            StoreOutput.printTable(
                ["SHARD", "ASSIGNED", "MEASURED", "IN PROGRESS"],
                status.shards.map { ["\($0.shard)", "\($0.assigned)", "\($0.measured)", "\($0.inProgress)"] })
        }
        for recipe in status.recipes {
            let inputs = recipe.inputs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.prefix(12))…" }
            print(
                "recipe \(recipe.recipe.prefix(12))… (\(recipe.algorithm); \(inputs.joined(separator: ", "))): "
                    + "\(recipe.effects) effect\(recipe.effects == 1 ? "" : "s")")
        }
        if status.recipes.count > 1 {
            print(
                "warning: the stores hold effects of \(status.recipes.count) different recipes (another model, SAE "
                    + "or protocol); `steer store merge` refuses to mix them.")
        }
        func list(_ title: String, _ labels: [String]) {
            guard !labels.isEmpty, show > 0 else { return }
            let more = labels.count > show ? ", ... (\(labels.count - show) more)" : ""
            print("\(title): " + labels.prefix(show).joined(separator: ", ") + more)
        }
        list("in progress", status.inProgressLabels)
        list("missing", status.missingLabels)
        print(
            "\(status.measured) of \(status.vectors) vectors measured, \(status.inProgress) in progress, "
                + "\(status.missing) missing" + (status.complete ? " (complete)." : "."))
    }

    /// The --store arguments with directories of stores expanded to their store subdirectories.
    private func expandedStores() -> [String] {
        var out: [String] = []
        let manager = FileManager.default
        for path in stores {
            let expanded = (path as NSString).expandingTildeInPath
            var isDirectory: ObjCBool = false
            if !ArtifactStore.exists(at: expanded), manager.fileExists(atPath: expanded, isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                let children = ((try? manager.contentsOfDirectory(atPath: expanded)) ?? []).sorted()
                let found = children.map { expanded + "/" + $0 }.filter { ArtifactStore.exists(at: $0) }
                if !found.isEmpty {
                    out += found
                    continue
                }
            }
            out.append(expanded)
        }
        return out
    }
}
