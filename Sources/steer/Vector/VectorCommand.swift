import ArgumentParser

struct VectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector", abstract: "Build, inspect and export steering vectors.",
        subcommands: [VectorMake.self, VectorInspect.self])
}
