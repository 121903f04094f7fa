import ArgumentParser
import Pipeline

struct TasksShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a task (built-in name or JSON file), validating it.")

    @Argument(help: "A built-in task name or the path of a task JSON file.")
    var task: String

    @Flag(help: "Print the task as JSON instead of a summary.")
    var json = false

    func run() async throws {
        let task = try TaskCatalog.load(self.task)
        if json {
            print(try TaskCatalog.json(for: task), terminator: "")
            return
        }
        print("name:                \(task.name)")
        print("description:         \(task.description)")
        print("site:                \(task.site.transformerLensName)")
        print("dictionary:          \(task.dictionary)")
        print("targets:             \(task.targets.map(\.description).joined(separator: ",")) (sae-ts, pinv, rotation)")
        print("sae-direct features: \(task.saeDirectFeatures.map(\.description).joined(separator: ","))")
        print("behaviour criterion: \(task.behaviourCriterion)")
        print("coherence criterion: \(task.coherenceCriterion)")
        if let lexicon = task.lexicon { print("lexicon (\(lexicon.count)):        \(lexicon.joined(separator: ", "))") }
        print("digest:              \(task.digest.hex)")
        for (title, prompts) in [("positive", task.positivePrompts), ("negative", task.negativePrompts)] {
            print("\(title) prompts (\(prompts.count)):")
            for (index, prompt) in prompts.enumerated() { print("  \(index + 1). \(prompt)") }
        }
    }
}
