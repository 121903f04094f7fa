import ArgumentParser
import Pipeline

struct TasksExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write editable JSON copies of built-in tasks to a directory.")

    @Argument(help: "Built-in task names (or use --all).")
    var names: [String] = []

    @Flag(help: "Export every built-in task.")
    var all = false

    @Option(help: "Directory to write NAME.json files into (created if missing).")
    var out: String

    @Flag(help: "Replace existing files.")
    var force = false

    func validate() throws {
        guard all != !names.isEmpty else { throw ValidationError("Give task names or --all, not both or neither.") }
    }

    func run() async throws {
        for name in all ? TaskCatalog.builtinNames : names {
            print(try TaskCatalog.export(name, to: out, overwrite: force))
        }
    }
}
