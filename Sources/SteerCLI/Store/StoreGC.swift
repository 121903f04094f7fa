import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store gc`: remove what no alias reaches.
struct StoreGC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove every artifact that no alias reaches.",
        discussion: """
            An artifact is kept when an alias points at it or when it is an input (recipe.inputs) of a \
            kept artifact. Everything else is removed. Freed pages are reused by later writes; the file \
            does not shrink.
            """)

    @OptionGroup var options: StoreOptions

    @Flag(help: "Only list what would be removed.")
    var dryRun = false

    @Flag(help: "Print the removed keys as a JSON array.")
    var json = false

    func run() async throws {
        let store = try options.open(readOnly: dryRun)
        let headers = dryRun ? try Dictionary(uniqueKeysWithValues: store.list().map { ($0.key, $0.header) }) : [:]
        let removed = try store.gc(dryRun: dryRun)
        if json {
            try StoreOutput.printJSON(removed.map(\.hex))
            return
        }
        for key in removed {
            let kind = headers[key].map { " \($0.kind.rawValue)" } ?? ""
            print("\(dryRun ? "would remove" : "removed") \(key.hex)\(kind)")
        }
        let verb = dryRun ? "Would remove" : "Removed"
        let kept = try store.count - (dryRun ? removed.count : 0)
        print("\(verb) \(removed.count) artifact\(removed.count == 1 ? "" : "s"); \(kept) kept.")
    }
}
