import ArgumentParser
import ArtifactStore
import Pipeline
import SteeringCore

/// `steer store merge`: union another store (a shard) into this one.
struct StoreMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Copy every artifact and alias of OTHER that this store lacks.",
        discussion: """
            Keys present in both stores must have identical payloads; when they differ, this store's copy \
            is kept and the conflict reported. Damaged artifacts of OTHER are not copied. Exits 1 when \
            anything was reported, 0 when the merge was clean. A store whose effects or calibrations were \
            measured with another model, SAE or protocol than this store's is refused (exit 1, nothing copied, \
            the differing recipe input named) unless --allow-mixed-recipes is given.
            """)

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("The store to copy from (opened read-only).", valueName: "other-store"))
    var other: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Merge even when OTHER's effects were measured with another model, SAE or protocol.")
    var allowMixedRecipes = false

    struct Report: Encodable {
        var added: [String]
        var alreadyPresent: Int
        var conflicts: [[String: String]]
        var rejected: [[String: String]]
        var aliasesAdded: [String]
        var aliasConflicts: [[String: String]]
        var clean: Bool
    }

    func run() async throws {
        // Ours first: a read-only open of the same directory would block the writable one.
        let store = try options.open(readOnly: false, create: true)
        let source = try ArtifactStore(path: other, readOnly: true)
        let report = try store.merge(
            from: source, requiring: allowMixedRecipes ? [] : EffectMeasurer.shardAgreements)
        if json {
            try StoreOutput.printJSON(
                Report(
                    added: report.added.map(\.hex), alreadyPresent: report.alreadyPresent,
                    conflicts: report.conflicts.map {
                        ["key": $0.key.hex, "ours": $0.ours.hex, "theirs": $0.theirs.hex]
                    },
                    rejected: report.rejected.map { ["key": $0.key, "problem": $0.problem] },
                    aliasesAdded: report.aliasesAdded,
                    aliasConflicts: report.aliasConflicts.map {
                        ["name": $0.name, "ours": $0.ours.hex, "theirs": $0.theirs.hex]
                    },
                    clean: report.isClean))
        } else {
            print(
                "Added \(report.added.count) artifact\(report.added.count == 1 ? "" : "s") and "
                    + "\(report.aliasesAdded.count) alias\(report.aliasesAdded.count == 1 ? "" : "es"); "
                    + "\(report.alreadyPresent) already present.")
            for conflict in report.conflicts {
                print(
                    "CONFLICT \(conflict.key.hex): payload \(conflict.ours.short) here, \(conflict.theirs.short) "
                        + "in \(source.path); kept ours")
            }
            for conflict in report.aliasConflicts {
                print(
                    "CONFLICT alias \(conflict.name): \(conflict.ours.short) here, \(conflict.theirs.short) in "
                        + "\(source.path); kept ours")
            }
            for problem in report.rejected { print("SKIPPED \(problem.key): \(problem.problem)") }
        }
        if !report.isClean { throw ExitCode.failure }
    }
}
