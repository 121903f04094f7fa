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

    /// Opens the store. Only commands that add artifacts (`merge`) pass `create: true`; the others
    /// fail on a missing store instead of leaving an empty one behind.
    func open(readOnly: Bool, create: Bool = false) throws -> ArtifactStore {
        if !readOnly, !create, !ArtifactStore.exists(at: path) {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            if !exists || isDirectory.boolValue { throw ArtifactStoreError.storeMissing(path: path) }
        }
        return try ArtifactStore(path: path, readOnly: readOnly)
    }
}
