import Foundation
import SteeringTestSupport
import Testing

/// `steer tasks import` on task folders in the SAE-TS authors' layout (github.com/slavachalnev/SAE-TS,
/// `steer_cfgs/<model>/<task>/`). The folders are written here with made-up content; none of the authors'
/// files is copied.
@Suite("steer tasks import (SAE-TS task folders)")
struct TasksImportCLITests {
    /// The task file format, as a test reads it (every field).
    struct TaskFile: Decodable, Equatable {
        struct Target: Decodable, Equatable {
            var feature: Int
            var weight: Double
        }

        var name: String
        var description: String
        var layer: Int
        var dictionary: String
        var targets: [Target]
        var sae_direct_features: [Target]
        var positive_prompts: [String]
        var negative_prompts: [String]
        var behaviour_criterion: String
        var coherence_criterion: String
        var lexicon: [String]?
    }

    static let positive = ["The kettle whistles a cheerful tune", "Socks dance in the dryer", "Toast lands butter up"]
    static let negative = ["The kettle is on the counter", "Socks are in the drawer", "Toast is bread"]

    static func featureFile(_ features: String, layer: Int = 7, width: String = "width_16k/average_l0_99") -> String {
        """
        {
        \t"sae_load_method": "gemmascope",
        \t"repo_id": "google/gemma-scope-2b-pt-res",
        \t"filename": "layer_\(layer)/\(width)/params.npz",
        \t"hp": "blocks.\(layer).hook_resid_post",
        \t"layer": \(layer),
        \t"features": \(features)
        }
        """
    }

    static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Writes a made-up task folder `root/<model>/<task>` in the authors' layout; `files` replaces or (with a
    /// nil value) removes single files.
    @discardableResult
    static func writeTask(
        _ root: String, model: String = "gemma2", task: String = "whimsy", files: [String: String?] = [:]
    ) throws -> String {
        let folder = root + "/" + model + "/" + task
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var contents: [String: String?] = [
            "criteria.json": try json([
                [
                    "name": "Whimsy", "score": "The text is playful and whimsical.",
                    "coherence": "The text reads smoothly.",
                ]
            ]),
            "feature_steer.json": featureFile("[[321, 1]]"),
            "optimised_steer.json": featureFile("[[654, 0.25], [987, 0.75]]"),
            "act_steer.json": try json(["pos": positive, "neg": negative, "layer": 7, "hp": "blocks.7.hook_resid_post"]
            ),
        ]
        for (name, text) in files { contents[name] = text }
        for (name, text) in contents {
            let path = folder + "/" + name
            if let text {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            } else if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
        }
        return folder
    }

    static func steer(_ arguments: [String], tasksDirectory: String? = nil) throws -> SubprocessResult {
        let executable = try #require(BuiltProduct.path("steer"), "the steer executable was not built")
        return try Subprocess.run(
            executable, arguments, environment: ["STEER_TASKS_DIR": tasksDirectory], timeout: 60)
    }

    static func read(_ path: String) throws -> TaskFile {
        try JSONDecoder().decode(TaskFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("a task folder becomes a task file with every field mapped")
    func importOne() throws {
        let root = try makeTemporaryDirectory("saets")
        let folder = try Self.writeTask(root)
        let out = root + "/out"
        let result = try Self.steer(["tasks", "import", "--file", folder, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "saets-whimsy\t\(out)/saets-whimsy.json\n")
        let task = try Self.read(out + "/saets-whimsy.json")
        #expect(
            task
                == TaskFile(
                    name: "saets-whimsy",
                    description: "Whimsy (SAE-TS task gemma2/whimsy, imported from the authors' steer_cfgs)",
                    layer: 7, dictionary: "gemma-scope-2b-pt-res/layer_7/width_16k/average_l0_99",
                    targets: [.init(feature: 654, weight: 0.25), .init(feature: 987, weight: 0.75)],
                    sae_direct_features: [.init(feature: 321, weight: 1)], positive_prompts: Self.positive,
                    negative_prompts: Self.negative, behaviour_criterion: "The text is playful and whimsical.",
                    coherence_criterion: "The text reads smoothly.", lexicon: nil))
        // The written file is a valid task for every other command.
        let shown = try Self.steer(["tasks", "show", out + "/saets-whimsy.json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("site:                blocks.7.hook_resid_post"), "\(shown.stdout)")

        // One of the folder's files names the folder too; --name and --prefix choose the name.
        let byFile = try Self.steer([
            "tasks", "import", "--file", folder + "/criteria.json", "--out", out, "--name", "mine",
        ])
        #expect(byFile.status == 0, "\(byFile.stderr)")
        #expect(try Self.read(out + "/mine.json").targets == task.targets)
        let prefixed = try Self.steer(["tasks", "import", "--file", folder, "--out", out, "--prefix", "paper_"])
        #expect(prefixed.status == 0, "\(prefixed.stderr)")
        #expect(try Self.read(out + "/paper_whimsy.json").name == "paper_whimsy")

        // An existing file is kept unless --force.
        let again = try Self.steer(["tasks", "import", "--file", folder, "--out", out])
        #expect(again.status != 0 && again.stderr.contains("already exists; pass --force"), "\(again.stderr)")
        #expect(try Self.steer(["tasks", "import", "--file", folder, "--out", out, "--force"]).status == 0)
    }

    @Test("without --out the task goes into the user catalog, where commands find it by name")
    func intoCatalog() throws {
        let root = try makeTemporaryDirectory("saets")
        let folder = try Self.writeTask(root, task: "Odd Name.65k")
        let catalog = root + "/catalog"
        let result = try Self.steer(["tasks", "import", "--file", folder], tasksDirectory: catalog)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: catalog + "/saets-odd_name_65k.json"))
        let shown = try Self.steer(["tasks", "show", "saets-odd_name_65k", "--json"], tasksDirectory: catalog)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(try JSONDecoder().decode(TaskFile.self, from: Data(shown.stdout.utf8)).layer == 7)
        let list = try Self.steer(["tasks", "list"], tasksDirectory: catalog)
        #expect(list.status == 0, "\(list.stderr)")
        let names = list.stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: " ")[0]) }
        #expect(names.count == 10 && names.last == "saets-odd_name_65k", "\(names)")
        // Other catalogs do not see it.
        let elsewhere = try Self.steer(["tasks", "show", "saets-odd_name_65k"], tasksDirectory: root + "/empty")
        #expect(elsewhere.status != 0)
    }

    @Test("a folder of task folders imports them all; a folder without act_steer.json takes --act-steer")
    func importAll() throws {
        let root = try makeTemporaryDirectory("saets")
        try Self.writeTask(root, task: "alpha")
        try Self.writeTask(root, task: "beta", files: ["optimised_steer.json": nil])
        let gamma = try Self.writeTask(root, task: "gamma_65k", files: ["act_steer.json": nil])
        try FileManager.default.createDirectory(atPath: root + "/gemma2/not_a_task", withIntermediateDirectories: true)
        let out = root + "/out"
        let all = try Self.steer(["tasks", "import", "--file", root + "/gemma2", "--out", out])
        #expect(all.status != 0)
        #expect(all.stdout.contains("saets-alpha\t") && all.stdout.contains("saets-beta\t"), "\(all.stdout)")
        #expect(all.stderr.contains("gamma_65k: has no act_steer.json") && all.stderr.contains("--act-steer"))
        #expect(all.stderr.contains("1 of 3 task folders were not imported"), "\(all.stderr)")
        // Without optimised_steer.json the SAE-direct features are the targets too.
        let beta = try Self.read(out + "/saets-beta.json")
        #expect(beta.targets == [.init(feature: 321, weight: 1)] && beta.sae_direct_features == beta.targets)
        let borrowed = try Self.steer([
            "tasks", "import", "--file", gamma, "--out", out, "--act-steer", root + "/gemma2/alpha/act_steer.json",
        ])
        #expect(borrowed.status == 0, "\(borrowed.stderr)")
        #expect(try Self.read(out + "/saets-gamma_65k.json").positive_prompts == Self.positive)
        let named = try Self.steer(["tasks", "import", "--file", root + "/gemma2", "--out", out, "--name", "x"])
        #expect(named.status != 0 && named.stderr.contains("--name needs a single task folder"), "\(named.stderr)")
    }

    @Test(
        "bad input names the file and the field",
        arguments: [
            ("criteria.json", "{\"name\": \"x\"}", "criteria.json: is an object; expected a list"),
            ("criteria.json", "[]", "criteria.json: is an empty list"),
            (
                "criteria.json", "[{\"name\": \"x\", \"score\": \"s\"}]",
                "criteria.json, field '[0].coherence': is missing"
            ),
            (
                "criteria.json", "[{\"name\": \"x\", \"score\": 3, \"coherence\": \"c\"}]",
                "criteria.json, field '[0].score': is 3; expected a string"
            ),
            ("criteria.json", "[{\"name\": ", "criteria.json: is not valid JSON"),
            ("feature_steer.json", "{\"layer\": 7}", "feature_steer.json, field 'sae': is missing"),
            (
                "optimised_steer.json", featureFile("[[\"654\", 1]]"),
                "optimised_steer.json, field 'features[0][0]': is \"654\"; expected an integer feature id"
            ),
            (
                "optimised_steer.json", featureFile("[[654, \"high\"]]"),
                "optimised_steer.json, field 'features[0][1]': is \"high\"; expected a number"
            ),
            ("optimised_steer.json", featureFile("[654]"), "optimised_steer.json, field 'features[0]': is 654"),
            ("optimised_steer.json", featureFile("[]"), "optimised_steer.json, field 'features': is empty"),
            (
                "optimised_steer.json", featureFile("[[-4, 1]]"),
                "field 'targets[0].feature': is -4; feature ids are ≥ 0"
            ),
            (
                "optimised_steer.json", featureFile("[[654, 1]]", layer: 8),
                "feature_steer.json says layer 7 but optimised_steer.json says layer 8"
            ),
            (
                "optimised_steer.json", featureFile("[[654, 1]]", width: "width_65k/average_l0_72"),
                "uses SAE 'gemma-scope-2b-pt-res/layer_7/width_16k/average_l0_99' but optimised_steer.json uses"
            ),
            (
                "feature_steer.json",
                featureFile("[[1, 1]]").replacingOccurrences(of: "hook_resid_post", with: "hook_mlp_out"),
                "feature_steer.json, field 'hp': is 'blocks.7.hook_mlp_out'; only blocks.7.hook_resid_post"
            ),
            (
                "feature_steer.json",
                featureFile("[[1, 1]]").replacingOccurrences(of: "gemmascope", with: "pickle"),
                "feature_steer.json, field 'sae_load_method': is 'pickle'"
            ),
            ("act_steer.json", "{\"pos\": [\"a\"], \"layer\": 7}", "act_steer.json, field 'neg': is missing"),
            (
                "act_steer.json", "{\"pos\": [\"a\", 5], \"neg\": [\"b\"], \"layer\": 7}",
                "act_steer.json, field 'pos[1]': is 5; expected a string"
            ),
            (
                "act_steer.json",
                "{\"pos\": [[{\"role\": \"user\", \"content\": \"hi\"}]], \"neg\": [\"b\"], \"layer\": 7}",
                "act_steer.json, field 'pos[0]': is a chat-format example"
            ),
            (
                "act_steer.json", "{\"pos\": [\"a\"], \"neg\": [\"b\"], \"layer\": \"7\"}",
                "act_steer.json, field 'layer': is \"7\"; expected an integer"
            ),
            (
                "act_steer.json", "{\"pos\": [\"a\"], \"neg\": [\"b\"], \"layer\": 3}",
                "act_steer.json, field 'layer': is 3 but optimised_steer.json says layer 7"
            ),
            (
                "act_steer.json", "{\"pos\": [\"a\", \"a\"], \"neg\": [\"b\"], \"layer\": 7}",
                "field 'positive_prompts[1]': repeats \"a\""
            ),
        ] as [(String, String, String)])
    func badInput(file: String, content: String, expected: String) throws {
        let root = try makeTemporaryDirectory("saets")
        let folder = try Self.writeTask(root, files: [file: content])
        let out = root + "/out"
        let result = try Self.steer(["tasks", "import", "--file", folder, "--out", out])
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.contains(folder), "names the file or folder: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/saets-whimsy.json"))
    }

    @Test("paths that are not task folders are refused")
    func badPaths() throws {
        let root = try makeTemporaryDirectory("saets")
        let missing = try Self.steer(["tasks", "import", "--file", root + "/nope", "--out", root])
        #expect(missing.status != 0 && missing.stderr.contains(root + "/nope: does not exist"), "\(missing.stderr)")
        let empty = try Self.steer(["tasks", "import", "--file", root, "--out", root])
        #expect(empty.status != 0 && empty.stderr.contains("holds no task folder"), "\(empty.stderr)")
        let folder = try Self.writeTask(root, files: ["criteria.json": nil])
        let noCriteria = try Self.steer(["tasks", "import", "--file", folder, "--out", root])
        #expect(noCriteria.status != 0 && noCriteria.stderr.contains("has no criteria.json"), "\(noCriteria.stderr)")
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        let other = try Self.steer(["tasks", "import", "--file", root + "/notes.txt", "--out", root])
        #expect(other.status != 0 && other.stderr.contains("is not one of criteria.json"), "\(other.stderr)")
    }
}
