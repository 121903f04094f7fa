import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Keys")
struct KeyTests {
    static let modelDigest = ContentDigest(ofString: "model")
    static let saeDigest = ContentDigest(ofString: "sae")

    static let base = Recipe(
        kind: .effect, algorithm: "effect-measurement", version: 2,
        parameters: ["layer": 12, "scale": 1.0, "prompt": "I think", "greedy": false, "topK": [1, 2]],
        inputs: ["model": modelDigest, "sae": saeDigest])

    /// Each variant changes exactly one input of `base`.
    static let variants: [(String, Recipe)] = {
        var out: [(String, Recipe)] = []
        var r = base
        r.kind = .baseline
        out.append(("kind", r))
        r = base
        r.algorithm = "effect-measurement2"
        out.append(("algorithm", r))
        r = base
        r.version = 3
        out.append(("version", r))
        r = base
        r.parameters["layer"] = 13
        out.append(("int parameter", r))
        r = base
        r.parameters["scale"] = 1.0000001
        out.append(("double parameter", r))
        r = base
        r.parameters["scale"] = 1
        out.append(("double 1.0 to int 1", r))
        r = base
        r.parameters["prompt"] = "I think "
        out.append(("string parameter", r))
        r = base
        r.parameters["topK"] = [2, 1]
        out.append(("array order", r))
        r = base
        r.parameters["extra"] = .null
        out.append(("added parameter", r))
        r = base
        r.inputs["sae"] = ContentDigest(ofString: "sae2")
        out.append(("input digest", r))
        r = base
        r.inputs["tokenizer"] = ContentDigest(ofString: "tok")
        out.append(("added input", r))
        return out
    }()

    @Test("Changing any single input of the recipe changes the key", arguments: variants.map(\.0))
    func singleChange(name: String) throws {
        let variant = try #require(Self.variants.first { $0.0 == name }?.1)
        #expect(variant.key != Self.base.key, "changing the \(name) kept the key")
    }

    @Test("The recipe read back from a header reproduces the key (doubles stay doubles)")
    func headerRoundTrip() throws {
        try withTemporaryStore { store, _ in
            var r = Self.base
            r.parameters["tiny"] = 1e-6
            r.parameters["big"] = 1e300
            r.parameters["negative"] = -0.5
            r.parameters["nested"] = ["a": [1.0, 2, "x\n\"y\u{1}"], "b": ["c": true]]
            r.parameters["unicode"] = "größe 🚀"
            let key = try store.put(recipe: r, floats: [1], shape: [1])
            let back = try #require(try store.recipe(key))
            #expect(back == r)
            #expect(back.key == key)
            #expect(back.canonicalBytes == r.canonicalBytes)
            #expect(try store.verify().isClean)
        }
    }

    @Test("Another process computes the same key for the same recipe")
    func sameKeyAcrossProcesses() throws {
        guard let writer = storeTestWriter() else { return }
        let result = try Subprocess.run(
            writer,
            [
                "key", "effect", "effect-measurement", "2", "layer=12", "scale=1.0", "prompt=I think",
                "greedy=false", "input:model=\(Self.modelDigest.hex)", "input:sae=\(Self.saeDigest.hex)",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        var r = Self.base
        r.parameters["topK"] = nil
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == r.key.hex)
    }

    @Test("Artifacts written by another process have the keys this process computes")
    func writtenByAnotherProcess() throws {
        guard let writer = storeTestWriter() else { return }
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            let result = try Subprocess.run(writer, ["write", path, "5", "7", "--floats", "8"])
            #expect(result.status == 0, "\(result.stderr)")
            let printed = result.stdout.split(separator: "\n").map(String.init)
            let expected = (0..<5).map { WriterArtifacts.recipe(seed: 7, index: $0).key.hex }
            #expect(printed == expected)
            let store = try ArtifactStore(path: path, readOnly: true)
            for index in 0..<5 {
                let artifact = try #require(try store.get(WriterArtifacts.recipe(seed: 7, index: index).key))
                #expect(try artifact.floats() == WriterArtifacts.payload(seed: 7, index: index, count: 8))
            }
        }
    }
}
