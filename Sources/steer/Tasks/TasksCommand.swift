import ArgumentParser

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "List, show and export steering tasks (targets, prompt sets, criteria).",
        discussion: """
            The method's nine Gemma-2-2B tasks are built in. Wherever a task is expected, a built-in name \
            or the path of a task JSON file may be given; `export` writes editable copies (Docs/Tasks.md).
            """,
        subcommands: [TasksList.self, TasksShow.self, TasksExport.self])
}
