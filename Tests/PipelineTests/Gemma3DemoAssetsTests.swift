import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

/// The committed Gemma-3 demo assets that the recipe wrote (Demo/gemma3-270m): the task files agree with the
/// recipe's task selection in results.json and load as tasks, and the exported effect dataset is well formed.
@Suite("The Gemma-3 demo's task files and effect dataset")
struct Gemma3DemoAssetsTests {
    static let demo = repositoryRoot.appendingPathComponent("Demo/gemma3-270m").path

    static func results() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: demo + "/recipe/results.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("one task file per clean concept, with the recipe's targets, loadable, at the dictionary's layer")
    func taskFiles() throws {
        let tasks = try #require(try Self.results()["tasks"] as? [String: Any])
        let concepts = try #require(tasks["concepts"] as? [String: [String: Any]])
        let clean = concepts.filter { ($0.value["clean"] as? Bool) == true }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.demo + "/tasks")
            .filter { $0.hasSuffix(".json") }
        #expect(Set(files) == Set(clean.keys.map { $0 + ".json" }))
        #expect(clean.count + concepts.filter { ($0.value["clean"] as? Bool) != true }.count == 9)
        for (name, info) in clean {
            let task = try DemoAssets.task(Self.demo + "/tasks/\(name).json")
            // The CLI's task loader reads the recipe's layout too.
            #expect(try TaskCatalog.load(Self.demo + "/tasks/\(name).json") == task)
            let chosen = try #require(info["chosen"] as? [Int])
            #expect(task.targets.map(\.feature) == chosen, "\(name)")
            #expect(task.saeDirectFeatures == task.targets)
            #expect(abs(task.targets.map(\.weight).reduce(0, +) - 1) < 1e-6)
            #expect(task.layer == 6 && task.targets.allSatisfy { (0..<2048).contains($0.feature) })
            let dictionary = repositoryRoot.appendingPathComponent(task.dictionary).path
            #expect(FileManager.default.fileExists(atPath: dictionary + "/params.safetensors"), "\(task.dictionary)")
            #expect(!task.positivePrompts.isEmpty && task.positivePrompts.count == task.negativePrompts.count)
        }
    }

    @Test("steer vector make takes a demo task file: the SAE-direct vector is the task's decoder row")
    func vectorFromTaskFile() throws {
        let dir = try makeTemporaryDirectory("gemma3-task")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sae = Self.demo + "/sae/resid_post/layer_6_width_2k"
        let made = try #require(
            try BuiltProduct.runSteer([
                "vector", "make", "--task", Self.demo + "/tasks/want_to_die.json", "--strategy", "sae-direct",
                "--sae", sae, "--store", dir + "/store", "--out", dir + "/v.npy",
            ]))
        #expect(made.status == 0, "\(made.stderr)")
        let vector = try NPY.read(path: dir + "/v.npy").floats()
        let task = try TaskCatalog.load(Self.demo + "/tasks/want_to_die.json")
        let decoder = try SafetensorsFile(path: sae + "/params.safetensors").floats("w_dec")
        let row = task.targets[0].feature
        let direction = Array(decoder[(row * 640)..<((row + 1) * 640)])
        #expect(vector.count == 640)
        let cosine = Vector.cosine(vector, direction)
        #expect(abs(cosine - 1) < 1e-5, "cosine \(cosine)")
    }

    @Test("the exported effect dataset: f16 rows of distinct decoder rows at the stated scale, finite")
    func effectDataset() throws {
        let path = Self.demo + "/effects/layer_6_width_2k.safetensors"
        let file = try SafetensorsFile(path: path)
        let rows = try file.int32s("rows")
        let count = rows.count
        #expect(count >= 1)
        #expect(try file.info("features").shape == [count, 640] && file.info("effects").shape == [count, 2048])
        #expect(try file.info("features").dtype == .f16 && file.info("effects").dtype == .f16)
        #expect(Set(rows).count == count && rows.allSatisfy { (0..<2048).contains($0) })
        #expect(try file.floats("scales").allSatisfy { $0 == 140 })
        let features = try file.floats("features"), effects = try file.floats("effects")
        #expect(features.allSatisfy(\.isFinite) && effects.allSatisfy(\.isFinite))
        // Each feature row is its probe (a unit decoder row) times the scale, up to f16 rounding.
        for row in 0..<count {
            let norm = (0..<640).map { Double(features[row * 640 + $0]) }.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 140) <= 140 * 2e-3, "probe \(rows[row]): norm \(norm)")
        }
        #expect(file.metadata["protocol"]?.contains("\"rolloutsPerPrompt\":4") == true)
    }
}
