import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

/// A store holding steering vectors in the shapes `steer vector export` meets.
private struct VectorStore {
    var values: [Float]
    var withLayer: ContentDigest
    var withoutLayer: ContentDigest
    var estimator: ContentDigest
    var matrix: ContentDigest

    init(path: String) throws {
        let store = try ArtifactStore(path: path)
        var generator = SeededGenerator(seed: 11)
        values = (0..<24).map { _ in generator.normal() }
        estimator = try store.put(
            recipe: Recipe(kind: .estimator, algorithm: "ridge", parameters: ["lambda": 0.5]),
            floats: [1, 2, 3, 4], shape: [2, 2])
        withLayer = try store.put(
            recipe: Recipe(
                kind: .vector, algorithm: "sae-ts", version: 1,
                parameters: ["layer": 12, "targets": .array([.int(12904)]), "bias_scale": 1.0],
                inputs: ["estimator": estimator, "model": ContentDigest(ofString: "gemma-2-2b")]),
            floats: values, shape: [values.count])
        withoutLayer = try store.put(
            recipe: Recipe(kind: .vector, algorithm: "cli-test", parameters: ["name": "plain"]),
            floats: values, shape: [1, values.count])
        matrix = try store.put(
            recipe: Recipe(kind: .vector, algorithm: "cli-test", parameters: ["name": "matrix"]),
            floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        try store.setAlias("vector/london", to: withLayer)
    }
}

@Suite("steer vector export")
struct VectorExportCLITests {
    @Test("npy, safetensors, gguf and json carry the same values, the layer and the provenance")
    func formats() throws {
        try withCLIStore { steer, directory in
            let fixture = try VectorStore(path: steer.storePath)
            let npy = try steer.run([
                "vector", "export", "vector/london", "--format", "npy", "--out", directory + "/v.npy",
            ])
            #expect(npy.status == 0, "\(npy.all)")
            let array = try NPY.read(path: directory + "/v.npy")
            #expect(array.shape == [24] && array.dtype == .f32)
            #expect(try array.floats() == fixture.values)

            let st = try steer.run(["vector", "export", "vector/london", "--out", directory + "/v.safetensors"])
            #expect(st.status == 0, "\(st.all)")
            let safetensors = try SafetensorsFile(path: directory + "/v.safetensors")
            #expect(try safetensors.floats("vector") == fixture.values)
            #expect(try safetensors.info("vector").shape == [24])
            #expect(safetensors.metadata["layer"] == "12")
            #expect(safetensors.metadata["key"] == fixture.withLayer.hex)
            #expect(safetensors.metadata["algorithm"] == "sae-ts")

            let gguf = try steer.run(["vector", "export", fixture.withLayer.hex, "--out", directory + "/v.gguf"])
            #expect(gguf.status == 0, "\(gguf.all)")
            #expect(gguf.stdout.contains("layer 12"))
            let control = try LlamaControlVector(file: GGUFFile(path: directory + "/v.gguf"))
            #expect(control.modelHint == "gemma2")
            #expect(control.directions == [12: fixture.values])

            let json = try steer.run([
                "vector", "export", String(fixture.withLayer.hex.prefix(8)), "--format", "json", "--out",
                directory + "/v.json",
            ])
            #expect(json.status == 0, "\(json.all)")
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/v.json"))
            let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let vector = try #require(document["vector"] as? [Double])
            #expect(vector.map(Float.init) == fixture.values, "floats survive JSON exactly")
            #expect(document["layer"] as? Int == 12)
            let norm = try #require(document["norm"] as? Double)
            #expect(abs(norm - fixture.values.reduce(0) { $0 + Double($1 * $1) }.squareRoot()) < 1e-6)
            let provenance = try #require(document["provenance"] as? [String: Any])
            #expect(provenance["key"] as? String == fixture.withLayer.hex)
            #expect(provenance["algorithm"] as? String == "sae-ts")
            let parameters = try #require(provenance["parameters"] as? [String: Any])
            #expect(parameters["targets"] as? [Int] == [12904])
            let inputs = try #require(provenance["inputs"] as? [String: String])
            #expect(inputs["estimator"] == fixture.estimator.hex)
            #expect(inputs["model"] == ContentDigest(ofString: "gemma-2-2b").hex)
        }
    }

    @Test("--layer overrides the recipe; GGUF needs a layer of at least 1; --model-hint is written")
    func layers() throws {
        try withCLIStore { steer, directory in
            let fixture = try VectorStore(path: steer.storePath)
            let out = directory + "/plain.gguf"
            let missing = try steer.run(["vector", "export", fixture.withoutLayer.hex, "--out", out])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("--layer"))
            #expect(!FileManager.default.fileExists(atPath: out))

            let given = try steer.run([
                "vector", "export", fixture.withoutLayer.hex, "--out", out, "--layer", "6", "--model-hint", "llama",
            ])
            #expect(given.status == 0, "\(given.all)")
            let control = try LlamaControlVector(file: GGUFFile(path: out))
            #expect(control.directions.keys.sorted() == [6] && control.modelHint == "llama")
            #expect(control.directions[6] == fixture.values, "a [1, d] artifact exports as [d]")

            let overridden = try steer.run(["vector", "export", "vector/london", "--out", out, "--layer", "5"])
            #expect(overridden.status == 0, "\(overridden.all)")
            #expect(overridden.stderr.contains("overrides the recipe's layer 12"))
            #expect(try LlamaControlVector(file: GGUFFile(path: out)).directions.keys.sorted() == [5])

            let zero = try steer.run(["vector", "export", "vector/london", "--out", out, "--layer", "0"])
            #expect(zero.status != 0)
            #expect(zero.stderr.contains("direction.0"))
            #expect(try LlamaControlVector(file: GGUFFile(path: out)).directions.keys.sorted() == [5], "unchanged")
        }
    }

    @Test("A .npy file is accepted as the vector")
    func npyInput() throws {
        try withCLIStore { steer, directory in
            let input = directory + "/input.npy"
            try NPY.write(NDArray(floats: [0.5, -1, 2], shape: [3]), to: input)
            let result = try steer.run(
                ["vector", "export", input, "--out", directory + "/x.gguf", "--layer", "3"], store: false)
            #expect(result.status == 0, "\(result.all)")
            #expect(
                try LlamaControlVector(file: GGUFFile(path: directory + "/x.gguf")).directions == [3: [0.5, -1, 2]])
            let json = try steer.run(["vector", "export", input, "--out", directory + "/x.json"], store: false)
            #expect(json.status == 0, "\(json.all)")
            let text = try String(contentsOfFile: directory + "/x.json", encoding: .utf8)
            #expect(text.contains("\"vector\": [0.5, -1.0, 2.0]"))
            #expect(text.contains("\"layer\": null"))
            #expect(text.contains("\"source\": \"\(input)\""))
        }
    }

    @Test("Unknown keys, other kinds, bad shapes and bad arguments are clear errors")
    func errors() throws {
        try withCLIStore { steer, directory in
            let fixture = try VectorStore(path: steer.storePath)
            let out = directory + "/e.npy"
            let unknown = try steer.run(["vector", "export", "vector/paris", "--out", out])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("vector/paris"))
            let estimator = try steer.run(["vector", "export", fixture.estimator.hex, "--out", out])
            #expect(estimator.status != 0)
            #expect(estimator.stderr.contains("has kind 'estimator', not 'vector'"))
            let matrix = try steer.run(["vector", "export", fixture.matrix.hex, "--out", out])
            #expect(matrix.status != 0)
            #expect(matrix.stderr.contains("shape [2, 3]"))
            let noFile = try steer.run(["vector", "export", directory + "/absent.npy", "--out", out], store: false)
            #expect(noFile.status != 0)
            #expect(noFile.stderr.contains("no such file"))
            let noFormat = try steer.run(["vector", "export", "vector/london", "--out", directory + "/v.bin"])
            #expect(noFormat.status != 0)
            #expect(noFormat.stderr.contains("--format"))
            let badFormat = try steer.run(["vector", "export", "vector/london", "--format", "pt", "--out", out])
            #expect(badFormat.status != 0)
            #expect(!FileManager.default.fileExists(atPath: out), "nothing is written on failure")
        }
    }
}
