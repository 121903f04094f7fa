import ArgumentParser

/// `steer effects`: effect datasets (steering vector → measured SAE-feature effect).
struct EffectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "effects", abstract: "Import and manage effect datasets.", subcommands: [EffectsImport.self])
}
