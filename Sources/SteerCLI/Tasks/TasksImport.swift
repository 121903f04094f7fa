import ArgumentParser
import Foundation
import Pipeline

struct TasksImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert the SAE-TS authors' task folders (steer_cfgs/<model>/<task>/) into task files.",
        discussion: """
            --file is a task folder of github.com/slavachalnev/SAE-TS (e.g. SAE-TS/steer_cfgs/gemma2/anger, \
            holding criteria.json, feature_steer.json, optimised_steer.json and act_steer.json), one of its \
            files, or a folder of task folders (steer_cfgs/gemma2) to import them all. Each task is written \
            as NAME.json into --out, or into the user task catalog ($STEER_TASKS_DIR, else \
            ~/.config/steer/tasks), where other commands find it by name. Docs/Tasks.md gives the mapping.
            """)

    @Option(help: "A SAE-TS task folder, one of its JSON files, or a folder of task folders.")
    var file: String

    @Option(help: "Directory to write NAME.json into (default: the user task catalog).")
    var out: String?

    @Option(help: "Put before each folder name to make the task name (keeps imports apart from built-ins).")
    var prefix = "saets-"

    @Option(help: "The task's name (only when importing one folder).")
    var name: String?

    @Option(help: "An act_steer.json to take the CAA prompt sets from, for folders without one.")
    var actSteer: String?

    @Flag(help: "Replace existing files.")
    var force = false

    func run() async throws {
        let folders = try SAETSTaskImport.taskFolders(at: file)
        if name != nil && folders.count > 1 {
            throw ValidationError("--name needs a single task folder; \(file) holds \(folders.count).")
        }
        let directory = out ?? TaskCatalog.userDirectory
        var failures = 0
        for folder in folders {
            do {
                let task = try SAETSTaskImport.importTask(
                    folder: folder, name: name, prefix: prefix, actSteer: actSteer)
                let path = try TaskCatalog.write(task, to: directory, overwrite: force)
                print("\(task.name)\t\(path)")
            } catch {
                if folders.count == 1 { throw error }
                failures += 1
                FileHandle.standardError.write(Data("skipped: \(error)\n".utf8))
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(
                Data("Error: \(failures) of \(folders.count) task folders were not imported (see above).\n".utf8))
            throw ExitCode.failure
        }
    }
}
