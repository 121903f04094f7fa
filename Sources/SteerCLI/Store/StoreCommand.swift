import ArgumentParser

/// `steer store`: inspect and maintain the content-addressed artifact store.
struct Store: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect and maintain the content-addressed artifact store.",
        discussion: """
            Artifacts are addressed by the SHA-256 of their recipe. Wherever a KEY is expected you may give \
            an alias, a full 64-character key or a unique hex prefix of at least 6 characters. \
            The store is --store, else $STEER_STORE, else ~/.steer/store. See Docs/Artifacts.md.
            """,
        subcommands: [
            StoreList.self, StoreShow.self, StoreExport.self, StoreAlias.self, StoreGC.self, StoreVerify.self,
            StoreMerge.self,
        ])
}
