import Foundation
import SteeringTestSupport
import Testing

/// The built-in tasks and the task loader, through the built `steer` executable (`steer tasks ...`).
/// This also proves the built-in tasks are found by the executable itself, wherever it runs from.
@Suite("steer tasks")
struct TasksCLITests {
    /// The task file format, as a test reads it.
    struct TaskFile: Decodable, Equatable {
        struct Target: Decodable, Equatable {
            var feature: Int
            var weight: Double
        }

        var name: String
        var layer: Int
        var dictionary: String
        var targets: [Target]
        var sae_direct_features: [Target]
        var positive_prompts: [String]
        var negative_prompts: [String]
        var behaviour_criterion: String
        var coherence_criterion: String
        var lexicon: [String]
    }

    /// The method's table (Docs/Tasks.md): SAE-TS targets, SAE-direct features, prompts per side.
    static let expected: [(name: String, targets: [TaskFile.Target], sae: [TaskFile.Target], prompts: Int)] = [
        ("anger", [.init(feature: 4111, weight: 1)], [.init(feature: 4111, weight: 1)], 10),
        ("christian_evangelist", [.init(feature: 5483, weight: 1)], [.init(feature: 5483, weight: 1)], 10),
        ("conspiracy", [.init(feature: 8710, weight: 1)], [.init(feature: 8710, weight: 1)], 10),
        (
            "french", [.init(feature: 8392, weight: 0.5), .init(feature: 15769, weight: 0.5)],
            [.init(feature: 8392, weight: 0.5), .init(feature: 15769, weight: 0.5)], 10
        ),
        ("london", [.init(feature: 14455, weight: 1)], [.init(feature: 14455, weight: 1)], 13),
        (
            "love", [.init(feature: 16036, weight: 0.5), .init(feature: 7863, weight: 0.5)],
            [.init(feature: 16036, weight: 0.5), .init(feature: 7863, weight: 0.5)], 10
        ),
        ("praise", [.init(feature: 2054, weight: 1)], [.init(feature: 11919, weight: 1)], 10),
        (
            "want_to_die", [.init(feature: 16226, weight: 0.5), .init(feature: 9679, weight: 0.5)],
            [.init(feature: 16226, weight: 0.5), .init(feature: 9679, weight: 0.5)], 11
        ),
        ("wedding", [.init(feature: 4230, weight: 1)], [.init(feature: 4230, weight: 1)], 10),
    ]

    static func steer(_ arguments: [String]) throws -> SubprocessResult {
        let executable = try #require(BuiltProduct.path("steer"), "the steer executable was not built")
        return try Subprocess.run(executable, arguments, timeout: 60)
    }

    static func taskFile(_ nameOrPath: String) throws -> TaskFile {
        let result = try steer(["tasks", "show", nameOrPath, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(TaskFile.self, from: Data(result.stdout.utf8))
    }

    @Test("list names the nine built-in tasks")
    func list() throws {
        let result = try Self.steer(["tasks", "list"])
        #expect(result.status == 0, "\(result.stderr)")
        let names = result.stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
        #expect(names == Self.expected.map(\.name))
    }

    @Test("built-in tasks carry the method's feature ids, prompt counts and shared coherence criterion")
    func builtinContents() throws {
        var coherence = Set<String>()
        for entry in Self.expected {
            let task = try Self.taskFile(entry.name)
            #expect(task.name == entry.name)
            #expect(task.layer == 12)
            #expect(task.dictionary == "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82")
            #expect(task.targets == entry.targets, "\(entry.name)")
            #expect(task.sae_direct_features == entry.sae, "\(entry.name)")
            #expect(task.positive_prompts.count == entry.prompts && task.negative_prompts.count == entry.prompts)
            #expect(Set(task.positive_prompts).isDisjoint(with: task.negative_prompts), "\(entry.name)")
            #expect((15...30).contains(task.lexicon.count), "\(entry.name): \(task.lexicon.count) lexicon entries")
            #expect(task.lexicon.allSatisfy { $0 == $0.lowercased() }, "\(entry.name): lexicon must be lowercase")
            #expect(!task.behaviour_criterion.isEmpty)
            coherence.insert(task.coherence_criterion)
        }
        #expect(coherence.count == 1, "one coherence criterion for every task, got \(coherence)")
    }

    @Test("export --all writes files that load back unchanged and can be edited")
    func exportRoundTrip() throws {
        let directory = try makeTemporaryDirectory("steer-tasks")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Self.steer(["tasks", "export", "--all", "--out", directory])
        #expect(result.status == 0, "\(result.stderr)")
        for entry in Self.expected {
            let path = directory + "/\(entry.name).json"
            let written = try String(contentsOfFile: path, encoding: .utf8)
            #expect(written == (try Self.steer(["tasks", "show", entry.name, "--json"])).stdout)
            #expect(try Self.taskFile(path) == (try Self.taskFile(entry.name)))
        }
        // An edited copy is a new task.
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/london.json")))
                as? [String: Any])
        object["name"] = "paris"
        object["targets"] = [["feature": 123]]
        object.removeValue(forKey: "lexicon")
        let edited = directory + "/paris.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: edited))
        let shown = try Self.steer(["tasks", "show", edited])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(
            shown.stdout.contains("name:                paris") && shown.stdout.contains("targets:             123 "))
        // Refuses to overwrite without --force.
        let again = try Self.steer(["tasks", "export", "anger", "--out", directory])
        #expect(again.status != 0 && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(try Self.steer(["tasks", "export", "anger", "--out", directory, "--force"]).status == 0)
    }

    @Test(
        "invalid task files name the file and the field",
        arguments: [
            ("drop", "positive_prompts", "field 'positive_prompts': is missing"),
            ("empty", "negative_prompts", "field 'negative_prompts': is empty"),
            ("negative", "targets", "field 'targets[1].feature': is -3"),
            ("duplicate", "sae_direct_features", "field 'sae_direct_features[1].feature': feature 4111 appears twice"),
            ("unknown", "lexicons", "field 'lexicons': unknown field"),
            ("string", "layer", "field 'layer': has the wrong type; expected an integer"),
            ("badname", "name", "field 'name': 'Anger Task' must be"),
            ("zero", "targets", "field 'targets': every weight is zero"),
        ])
    func invalidFiles(edit: String, field: String, message: String) throws {
        let directory = try makeTemporaryDirectory("steer-tasks-bad")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let json = try Self.steer(["tasks", "show", "anger", "--json"]).stdout
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        switch edit {
        case "drop": object.removeValue(forKey: field)
        case "empty": object[field] = [String]()
        case "negative": object[field] = [["feature": 4111, "weight": 1], ["feature": -3, "weight": 1]]
        case "duplicate": object[field] = [["feature": 4111, "weight": 1], ["feature": 4111]]
        case "unknown": object[field] = ["x"]
        case "string": object[field] = "12"
        case "badname": object[field] = "Anger Task"
        default: object[field] = [["feature": 4111, "weight": 0]]
        }
        let path = directory + "/\(edit).json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        let result = try Self.steer(["tasks", "show", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("task file \(path), \(message)"), "\(result.stderr)")
    }

    @Test("unknown names list the built-in tasks; broken JSON gives a line and column")
    func unknownAndBroken() throws {
        let unknown = try Self.steer(["tasks", "show", "angry"])
        #expect(unknown.status != 0 && unknown.stderr.contains("built-in tasks: anger, christian_evangelist"))
        let directory = try makeTemporaryDirectory("steer-tasks-broken")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/broken.json"
        try Data("{\n  \"name\": \"x\",,\n}".utf8).write(to: URL(fileURLWithPath: path))
        let broken = try Self.steer(["tasks", "show", path])
        #expect(broken.status != 0 && broken.stderr.contains("is not valid JSON") && broken.stderr.contains("line 2"))
    }
}
