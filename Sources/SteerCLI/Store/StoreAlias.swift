import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store alias`: list, set or remove aliases.
struct StoreAlias: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "List aliases, point NAME at an artifact, or remove NAME with --remove.",
        discussion: """
            steer store alias                       list every alias
            steer store alias NAME KEY-OR-ALIAS     point NAME at an artifact (moves an existing alias)
            steer store alias NAME --remove         delete NAME
            Aliases are the roots of `steer store gc`.
            """)

    @OptionGroup var options: StoreOptions

    @Argument(help: "Alias name, e.g. vector/london/sae-ts.")
    var name: String?

    @Argument(help: ArgumentHelp("Artifact to point the alias at.", valueName: "key-or-alias"))
    var target: String?

    @Flag(help: "Remove the alias NAME.")
    var remove = false

    @Flag(help: "When listing, print a JSON object name → key.")
    var json = false

    func validate() throws {
        if remove {
            guard name != nil, target == nil else { throw ValidationError("--remove takes exactly one NAME.") }
        } else if name != nil, target == nil {
            throw ValidationError("Give the artifact to point '\(name!)' at (a key, prefix or alias), or --remove.")
        }
        if let name, !remove { try ArtifactStore.validateAliasName(name) }
    }

    func run() async throws {
        guard let name else { return try list() }
        let store = try options.open(readOnly: false)
        if remove {
            let old = try store.removeAlias(name)
            print("Removed alias \(name) (was \(old.short)).")
            return
        }
        let key = try store.resolve(target!)
        if let previous = try store.setAlias(name, to: key), previous != key {
            print("Moved alias \(name): \(previous.short) → \(key.short).")
        } else {
            print("\(name) → \(key.hex)")
        }
    }

    private func list() throws {
        let store = try options.open(readOnly: true)
        let aliases = try store.aliases()
        if json {
            try StoreOutput.printJSON(aliases.mapValues(\.hex))
            return
        }
        guard !aliases.isEmpty else {
            print("No aliases in \(store.path). Set one with `steer store alias NAME KEY`.")
            return
        }
        let rows = try aliases.keys.sorted().map { name -> [String] in
            let key = aliases[name]!
            let kind = try store.header(key)?.kind.rawValue ?? "(missing)"
            return [name, key.short, kind]
        }
        StoreOutput.printTable(["ALIAS", "KEY", "KIND"], rows)
    }
}
