import Foundation
import SteeringCore
import SteeringPlugins
import SteeringTestSupport
import TensorFormats
import Testing

@testable import SteerCLI

/// A strategy that lives outside Plugins/: the dictionary direction of the targets times `sign`
/// (default −1, so it steers away from the features).
struct FlippedDirectionStrategy: SteeringStrategy {
    let name = "test-flipped"
    let displayName = "Flipped"
    let version = 1
    let requirements: Set<StrategyRequirement> = [.dictionary, .targets]
    static let options = [PluginOptionSpec("sign", default: "-1", "Multiplies the unit direction.")]

    func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        var sign: Float = -1
        if case .string(let text)? = inputs.options["sign"] {
            guard let value = Float(text) else {
                throw SteeringError.invalidArgument(what: "option sign '\(text)'", problem: "is not a number")
            }
            sign = value
        }
        let rows = try inputs.dictionary!.decoderRows(inputs.targets.map(\.feature))
        var sum = [Float](repeating: 0, count: rows.columns)
        for (index, target) in inputs.targets.enumerated() {
            for c in 0..<rows.columns { sum[c] += target.weight * rows[index, c] }
        }
        let norm = Vector.norm(sum)
        return SteeringVector(values: sum.map { sign * $0 / norm }, site: inputs.site, provenance: ["strategy": name])
    }
}

/// A strategy that needs an input core does not name, passed through the input bag.
struct OffsetStrategy: SteeringStrategy {
    static let offset = StrategyInputKey<[Float]>("offset")
    let name = "test-offset"
    let version = 1
    let requirements: Set<StrategyRequirement> = [.input(Self.offset)]

    func makeVector(_ inputs: StrategyInputs) throws -> SteeringVector {
        try checkRequirements(inputs)
        return SteeringVector(values: inputs[Self.offset]!, site: inputs.site)
    }
}

/// A judge that lives outside Plugins/: 1 + 9 × (share of the completion's characters equal to `letter`).
struct LetterShareJudge: Judge {
    let name = "test-letters"
    let letter: Character
    var identity: [String: RecipeValue] { ["name": .string(name), "letter": .string(String(letter))] }

    func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        requests.map { request in
            let count = request.completion.filter { $0 == letter }.count
            return .success(1 + 9 * Double(count) / Double(max(1, request.completion.count)))
        }
    }
}

/// The standard plugins plus the two above, registered by a tool (here: this test target).
func extendedRegistry() -> PluginRegistry {
    var registry = PluginRegistry.standard
    registry.register(strategy: "test-flipped", options: FlippedDirectionStrategy.options) { _ in
        FlippedDirectionStrategy()
    }
    registry.register(strategy: "test-offset") { _ in OffsetStrategy() }
    registry.register(
        judge: "test-letters", options: [PluginOptionSpec("letter", default: "e", "The letter counted.")]
    ) { options, _ in
        LetterShareJudge(letter: options.values["letter"]?.first ?? "e")
    }
    return registry
}

/// Plugins defined outside Plugins/ are reached by name, with their options, from the CLI's own entry points
/// (`vector make`, `evaluate`, `plugins`) run in this process with the tool's registry.
@Suite("Plugins from another target through the CLI")
struct ExtensionPluginsTests {
    let model = fixturePath("gemma2/tiny-f32")
    let sae = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20")

    @Test("a new strategy and judge run through vector make and evaluate by name with their options")
    func strategyAndJudge() async throws {
        let dir = try makeTemporaryDirectory("extension")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = extendedRegistry()
        let store = ["--store", dir + "/store"]
        func make(_ strategy: String, _ out: String, _ extra: [String] = []) async throws -> [Float] {
            try await Steer.run(
                [
                    "vector", "make", "--strategy", strategy, "--target", "42:1,7:0.5", "--sae", sae, "--out",
                    dir + "/" + out,
                ] + extra + store, registry: registry)
            return try NPY.read(path: dir + "/" + out).floats()
        }
        let direct = try await make("sae-direct", "direct.npy")
        let flipped = try await make("test-flipped", "flipped.npy")
        let kept = try await make("test-flipped", "kept.npy", ["--strategy-option", "test-flipped.sign=1"])
        #expect(direct.count == flipped.count && !direct.isEmpty)
        for i in direct.indices {
            #expect(abs(flipped[i] + direct[i]) < 1e-6 && abs(kept[i] - direct[i]) < 1e-6)
        }
        await #expect(throws: (any Error).self) {
            _ = try await make("test-flipped", "bad.npy", ["--strategy-option", "test-flipped.gain=2"])
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.npy"))

        let task: [String: Any] = [
            "name": "tiny-cat", "description": "cats", "layer": 1, "dictionary": "fixture",
            "targets": [["feature": 42, "weight": 1]], "sae_direct_features": [["feature": 42, "weight": 1]],
            "positive_prompts": ["the cat sat", "a cat ran"], "negative_prompts": ["the house is big", "people live"],
            "behaviour_criterion": "mentions cats", "coherence_criterion": "is coherent",
        ]
        try JSONSerialization.data(withJSONObject: task).write(to: URL(fileURLWithPath: dir + "/task.json"))
        try await Steer.run(
            [
                "evaluate", "--model", model, "--sae", sae, "--tasks", dir + "/task.json", "--strategies",
                "test-flipped,sae-direct", "--strategy-option", "test-flipped.sign=1", "--scales", "0:4:4",
                "--samples", "3", "--prompt", "the cat", "--max-new-tokens", "4", "--behaviour-judge", "test-letters",
                "--judge-option", "test-letters.letter=t", "--compare", "test-flipped:sae-direct", "--report",
                dir + "/report",
            ] + store, registry: registry)
        let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(html.contains("Does Flipped beat SAE-direct?"))
        #expect(html.contains("data-strategy=\"test-flipped\""))
        let results = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/report/results.json")))
        let cells = ((results as? [String: Any])?["cells"] as? [[String: Any]]) ?? []
        #expect(cells.count == 4)
        // The behaviour scores are the test judge's: the share of "t" in each example completion.
        for cell in cells {
            let examples = cell["examples"] as? [String] ?? []
            let scores = cell["behaviourScores"] as? [Double] ?? []
            #expect(!examples.isEmpty && examples.count <= scores.count)
            for (text, score) in zip(examples, scores) {
                let share = Double(text.filter { $0 == "t" }.count) / Double(max(1, text.count))
                #expect(abs(score - share) < 1e-9, "\(text): \(score)")
            }
        }
        // With sign=1 the flipped vector equals SAE-direct's, so their cells agree exactly.
        let byStrategy = Dictionary(grouping: cells) { $0["strategy"] as? String ?? "" }
        let behaviour = { (s: String) in (byStrategy[s] ?? []).compactMap { $0["behaviour"] as? Double }.sorted() }
        #expect(behaviour("test-flipped") == behaviour("sae-direct") && behaviour("sae-direct").count == 2)
    }

    @Test("steer plugins lists the tool's plugins with their options")
    func listing() throws {
        let listing = try PluginsCommand.listing([.strategy, .judge], registry: extendedRegistry())
        #expect(listing.contains("test-flipped") && listing.contains("sign") && listing.contains("test-letters"))
    }

    @Test("an input core does not name travels in the input bag and is required by its key")
    func inputBag() throws {
        let strategy = OffsetStrategy()
        var inputs = StrategyInputs(site: ActivationSite(layer: 1))
        #expect(throws: SteeringError.self) { try strategy.makeVector(inputs) }
        do {
            _ = try strategy.makeVector(inputs)
        } catch {
            #expect("\(error)".contains("'offset'"), "\(error)")
        }
        inputs[OffsetStrategy.offset] = [1, 2, 3]
        #expect(try strategy.makeVector(inputs).values == [1, 2, 3])
        #expect(StrategyRequirement.named.allSatisfy { !$0.rawValue.hasPrefix("input:") })
    }
}
