import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store ls`: one line per artifact.
struct StoreList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List artifacts (key, kind, dtype, shape, size, algorithm, aliases).")

    @OptionGroup var options: StoreOptions

    @Option(help: "Only artifacts of this kind: \(ArtifactKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: String?

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    func validate() throws {
        if let kind, ArtifactKind(rawValue: kind) == nil {
            throw ValidationError(
                "Unknown kind '\(kind)'; use one of \(ArtifactKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
    }

    func run() async throws {
        let store = try options.open(readOnly: true)
        let listing = try store.list(kind: kind.flatMap(ArtifactKind.init(rawValue:)))
        let aliases = try store.aliases()
        var aliasesByKey: [ContentDigest: [String]] = [:]
        for (name, key) in aliases { aliasesByKey[key, default: []].append(name) }
        if json {
            try StoreOutput.printJSON(
                listing.map {
                    StoreOutput.ArtifactSummary(
                        key: $0.key, header: $0.header, aliases: (aliasesByKey[$0.key] ?? []).sorted())
                })
            return
        }
        guard !listing.isEmpty else {
            print(kind.map { "No \($0) artifacts in \(store.path)." } ?? "The store at \(store.path) is empty.")
            return
        }
        StoreOutput.printTable(
            ["KEY", "KIND", "DTYPE", "SHAPE", "SIZE", "ALGORITHM", "CREATED", "ALIASES"],
            listing.map { key, header in
                [
                    key.short, header.kind.rawValue, header.dtype.rawValue, StoreOutput.shape(header.shape),
                    StoreOutput.bytes(header.payloadSize), "\(header.recipe.algorithm) v\(header.recipe.version)",
                    header.createdAt, (aliasesByKey[key] ?? []).sorted().joined(separator: ", "),
                ]
            })
        let total = listing.reduce(0) { $0 + $1.header.payloadSize }
        print("\(listing.count) artifact\(listing.count == 1 ? "" : "s"), \(StoreOutput.bytes(total)) of payload.")
    }
}
