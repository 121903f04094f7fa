import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

/// Runs Tests/Reference/read_store.py (the reader documented in Docs/Artifacts.md) on a store written
/// by Swift. Skipped when `python3` with the `lmdb` and `numpy` packages is not available.
@Suite("Python reader")
struct PythonReaderTests {
    static let script = BuiltProduct.packageRoot(from: #filePath).map { $0 + "/Tests/Reference/read_store.py" }

    static let pythonAvailable: Bool = {
        let probe = try? Subprocess.run("/usr/bin/env", ["python3", "-c", "import lmdb, numpy"], timeout: 60)
        if probe?.status != 0 {
            print(
                "PythonReaderTests skipped: `python3 -c \"import lmdb, numpy\"` failed; run `pip install lmdb numpy`.")
            return false
        }
        return true
    }()

    struct Listing: Decodable {
        var key: String
        var kind: String
        var dtype: String
        var shape: [Int]
        var algorithm: String
    }

    struct Loaded: Decodable {
        var key: String
        var recipeKey: String
        var dtype: String
        var shape: [Int]
        var values: [Double]
    }

    func python(_ arguments: [String]) throws -> String {
        let script = try #require(Self.script)
        let result = try Subprocess.run("/usr/bin/env", ["python3", script] + arguments, timeout: 120)
        #expect(result.status == 0, "read_store.py \(arguments): \(result.stderr)")
        return result.stdout
    }

    @Test("read_store.py lists by kind and loads payloads with the numbers Swift wrote", .enabled(if: pythonAvailable))
    func readsSwiftStore() throws {
        try withTemporaryStore { store, path in
            let matrix = Matrix(rows: 2, columns: 3, values: [1.5, -2.25, .pi, 1e-30, -0.0, 65504.125])
            // Parameters that exercise every canonical-JSON rule, so Python must rebuild the key exactly.
            let parameters: [String: RecipeValue] = [
                "doubles": [1.0, 0.1, 1e-6, 2.5e-5, 9.5e15, 1e16, -1.5e300, 0.30000000000000004, 123456.789],
                "ints": [0, -7, .int(Int.max)], "flags": [true, false, .null],
                "text": "tab\tquote\"slash\\ü🚀\u{1}\u{8}/", "nested": ["b": ["z": 1], "a": [], "B": [:]],
                "nan": .double(.nan), "inf": .double(-.infinity),
            ]
            let estimatorRecipe = recipe(
                "m", kind: .estimator, parameters: parameters, inputs: ["model": ContentDigest(ofString: "m")])
            let estimator = try store.put(recipe: estimatorRecipe, matrix: matrix)
            let ints = try store.put(recipe: recipe("i", kind: .dataset), int32s: [.min, -1, 0, .max], shape: [4])
            let vector = try store.put(recipe: recipe("v", kind: .vector), floats: [0.1, 0.2], shape: [2])
            try store.put(recipe: recipe("j", kind: .scores), json: ["score": 0.75])
            try store.setAlias("vector/test", to: vector)

            let all = try JSONDecoder().decode([Listing].self, from: Data(try python([path, "ls", "--json"]).utf8))
            #expect(all.map(\.key) == (try store.list().map(\.key.hex)))
            let estimators = try JSONDecoder().decode(
                [Listing].self, from: Data(try python([path, "ls", "--kind", "estimator", "--json"]).utf8))
            #expect(estimators.map(\.key) == [estimator.hex])
            #expect(estimators.first?.shape == [2, 3])
            #expect(estimators.first?.dtype == "f32")

            let loaded = try JSONDecoder().decode(
                Loaded.self, from: Data(try python([path, "get", estimator.hex, "--json"]).utf8))
            #expect(loaded.shape == [2, 3])
            #expect(loaded.recipeKey == estimator.hex, "Python's canonical JSON differs from Swift's")
            #expect(loaded.values.map { Float($0).bitPattern } == matrix.values.map(\.bitPattern))

            let loadedInts = try JSONDecoder().decode(
                Loaded.self, from: Data(try python([path, "get", String(ints.hex.prefix(8)), "--json"]).utf8))
            #expect(loadedInts.values == [Double(Int32.min), -1, 0, Double(Int32.max)])

            let aliased = try JSONDecoder().decode(
                Loaded.self, from: Data(try python([path, "get", "vector/test", "--json"]).utf8))
            #expect(aliased.key == vector.hex)
            #expect(aliased.recipeKey == vector.hex)
            #expect(aliased.values.map(Float.init) == [0.1, 0.2])
        }
    }

    @Test("The Python code in Docs/Artifacts.md is copied verbatim from read_store.py")
    func documentationMatchesScript() throws {
        let root = try #require(BuiltProduct.packageRoot(from: #filePath))
        let script = try String(contentsOfFile: root + "/Tests/Reference/read_store.py", encoding: .utf8)
        let document = try String(contentsOfFile: root + "/Docs/Artifacts.md", encoding: .utf8)
        let blocks = document.components(separatedBy: "```python\n").dropFirst().map {
            String($0.components(separatedBy: "```")[0])
        }
        #expect(blocks.count >= 5)
        for block in blocks {
            #expect(script.contains(block), "Docs/Artifacts.md block not in read_store.py:\n\(block)")
        }
    }
}
