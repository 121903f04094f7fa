import ArgumentParser
import ArtifactStore
import Foundation

/// The `--store` option shared by every `steer store` subcommand.
struct StoreOptions: ParsableArguments {
    /// Environment variable naming the default store.
    static let environmentVariable = "STEER_STORE"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Artifact store directory (default: $STEER_STORE, else ~/.steer/store).", valueName: "path"))
    var store: String?

    /// The store directory this invocation uses.
    var path: String {
        if let store, !store.isEmpty { return store }
        if let fromEnvironment = ProcessInfo.processInfo.environment[Self.environmentVariable], !fromEnvironment.isEmpty
        {
            return fromEnvironment
        }
        return "~/.steer/store"
    }

    /// Opens the store; read-only commands never create one.
    func open(readOnly: Bool) throws -> ArtifactStore {
        try ArtifactStore(path: path, readOnly: readOnly)
    }
}
