import ArgumentParser

struct EffectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "effects", abstract: "Measure, show, export and import steering-vector effects on SAE features.",
        subcommands: [
            EffectsMeasure.self, EffectsStatus.self, EffectsShow.self, EffectsExport.self, EffectsImport.self,
        ])
}
