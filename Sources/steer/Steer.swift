import ArgumentParser

@main
struct Steer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Measure, estimate, build, apply and store SAE-targeted steering vectors.",
        subcommands: [])
}
