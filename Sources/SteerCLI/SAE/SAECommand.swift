import ArgumentParser

struct SAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sae", abstract: "Inspect and apply JumpReLU sparse autoencoders.",
        subcommands: [SAEEncode.self, SAEInfo.self])
}
