import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store show`: the header and recipe of one artifact.
struct StoreShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show an artifact's header and recipe.")

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("Alias, key or unique key prefix (≥ 6 hex characters).", valueName: "key-or-alias"))
    var reference: String

    @Flag(help: "Print the header as JSON (key, aliases and the stored header with its recipe).")
    var json = false

    func run() async throws {
        let store = try options.open(readOnly: true)
        let key = try store.resolve(reference)
        guard let header = try store.header(key) else {
            throw ArtifactStoreError.unknownKey(key: key.hex, path: store.path)
        }
        let aliases = try store.aliases(of: key)
        if json {
            let document: RecipeValue = .object([
                "key": .string(key.hex),
                "aliases": .array(aliases.map { .string($0) }),
                "header": header.canonicalValue,
            ])
            print(StoreOutput.prettyJSON(document))
            return
        }
        StoreOutput.printTable(
            ["FIELD", "VALUE"],
            [
                ["key", key.hex],
                ["aliases", aliases.isEmpty ? "-" : aliases.joined(separator: ", ")],
                ["kind", header.kind.rawValue],
                ["dtype", header.dtype.rawValue],
                ["shape", StoreOutput.shape(header.shape)],
                ["payload", "\(StoreOutput.bytes(header.payloadSize)) (\(header.payloadSize) bytes)"],
                ["digest", header.payloadDigest.hex],
                ["created", header.createdAt],
            ])
        print("recipe:")
        print(StoreOutput.prettyJSON(header.recipe.canonicalValue))
    }
}
