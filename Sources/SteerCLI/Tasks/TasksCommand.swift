import ArgumentParser

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List, show, export and import steering tasks (targets, prompt sets, criteria).",
        discussion: """
            The method's nine Gemma-2-2B tasks are built in. Wherever a task is expected, a built-in name \
            or the path of a task JSON file may be given, or the name of a task in the user catalog \
            ($STEER_TASKS_DIR, else ~/.config/steer/tasks); `export` writes editable copies and `import` \
            converts the SAE-TS authors' task folders (Docs/Tasks.md).
            """,
        subcommands: [TasksList.self, TasksShow.self, TasksExport.self, TasksImport.self])
}
