import ArgumentParser
import Foundation
import Pipeline

struct TasksList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the built-in tasks, then those of the user catalog.")

    func run() async throws {
        var tasks = try TaskCatalog.builtins()
        for name in TaskCatalog.userNames where TaskCatalog.builtinJSON(name) == nil {
            do {
                tasks.append(try TaskCatalog.load(contentsOf: TaskCatalog.userDirectory + "/" + name + ".json"))
            } catch {
                FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            }
        }
        let rows = tasks.map { task in
            [
                task.name, task.targets.map(\.description).joined(separator: ","),
                task.saeDirectFeatures.map(\.description).joined(separator: ","),
                "\(task.positivePrompts.count)/\(task.negativePrompts.count)", task.description,
            ]
        }
        let header = ["NAME", "TARGETS", "SAE-DIRECT", "PROMPTS", "DESCRIPTION"]
        let widths = (0..<header.count - 1).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                line +=
                    column < widths.count
                    ? cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0) : cell
            }
            print(line)
        }
    }
}
