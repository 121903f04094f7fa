import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@Suite("steer store")
struct StoreCLITests {
    struct ListedArtifact: Decodable {
        var key: String
        var kind: String
        var dtype: String
        var shape: [Int]
        var aliases: [String]
    }

    @Test("ls prints a table, filters by kind and prints JSON")
    func list() throws {
        try withCLIStore { steer, _ in
            let empty = try steer.run(["store", "ls"])
            #expect(empty.status != 0, "a missing store is an error for a read-only command")
            #expect(empty.stderr.contains("No artifact store at"))

            let populated = try Populated(path: steer.storePath)
            let table = try steer.run(["store", "ls"])
            #expect(table.status == 0, "\(table.all)")
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.first?.hasPrefix("KEY") == true)
            #expect(lines.contains { $0.hasPrefix(populated.vector.short) && $0.contains("vector/test") })
            #expect(table.stdout.contains("4 artifacts"))

            let json = try steer.run(["store", "ls", "--kind", "estimator", "--json"])
            #expect(json.status == 0, "\(json.all)")
            let listed = try JSONDecoder().decode([ListedArtifact].self, from: Data(json.stdout.utf8))
            #expect(listed.map(\.key) == [populated.estimator.hex])
            #expect(listed.first?.shape == [2, 2])

            let badKind = try steer.run(["store", "ls", "--kind", "vectors"])
            #expect(badKind.status != 0)
            #expect(badKind.stderr.contains("Unknown kind 'vectors'"))
            #expect(badKind.stderr.contains("vector"))
        }
    }

    @Test("STEER_STORE names the default store")
    func environmentDefault() throws {
        try withCLIStore { steer, _ in
            let populated = try Populated(path: steer.storePath)
            let result = try steer.run(
                ["store", "ls", "--json"], store: false, environment: ["STEER_STORE": steer.storePath])
            #expect(result.status == 0, "\(result.all)")
            #expect(result.stdout.contains(populated.vector.hex))
        }
    }

    @Test("show resolves aliases and prefixes and prints the header and recipe")
    func show() throws {
        try withCLIStore { steer, _ in
            let populated = try Populated(path: steer.storePath)
            let byAlias = try steer.run(["store", "show", "vector/test"])
            #expect(byAlias.status == 0, "\(byAlias.all)")
            #expect(byAlias.stdout.contains(populated.vector.hex))
            #expect(byAlias.stdout.contains("\"algorithm\": \"cli-test\""))
            #expect(byAlias.stdout.contains(populated.estimator.hex), "the recipe lists its input")

            let byPrefix = try steer.run(["store", "show", String(populated.estimator.hex.prefix(8)), "--json"])
            #expect(byPrefix.status == 0, "\(byPrefix.all)")
            let object = try JSONSerialization.jsonObject(with: Data(byPrefix.stdout.utf8)) as? [String: Any]
            #expect(object?["key"] as? String == populated.estimator.hex)
            let header = object?["header"] as? [String: Any]
            #expect(header?["dtype"] as? String == "f32")
            #expect(header?["shape"] as? [Int] == [2, 2])
        }
    }

    @Test("Unknown aliases and keys exit non-zero with a helpful message")
    func unknownReference() throws {
        try withCLIStore { steer, _ in
            _ = try Populated(path: steer.storePath)
            let typo = try steer.run(["store", "show", "vector/tset"])
            #expect(typo.status != 0)
            #expect(typo.stderr.contains("No alias 'vector/tset'"))
            #expect(typo.stderr.contains("Did you mean 'vector/test'"))
            #expect(typo.stderr.contains("steer store alias"))

            let missingKey = try steer.run(["store", "show", String(repeating: "0", count: 64)])
            #expect(missingKey.status != 0)
            #expect(missingKey.stderr.contains("No artifact with key"))

            let short = try steer.run(["store", "show", "abc"])
            #expect(short.status != 0)
            #expect(short.stderr.contains("6"))
        }
    }

    @Test("alias lists, sets, moves and removes aliases")
    func alias() throws {
        try withCLIStore { steer, _ in
            let populated = try Populated(path: steer.storePath)
            let set = try steer.run(["store", "alias", "estimator/latest", String(populated.estimator.hex.prefix(10))])
            #expect(set.status == 0, "\(set.all)")
            let moved = try steer.run(["store", "alias", "estimator/latest", populated.effect.hex])
            #expect(moved.status == 0)
            #expect(moved.stdout.contains("Moved"))

            let listed = try steer.run(["store", "alias", "--json"])
            let aliases = try JSONDecoder().decode([String: String].self, from: Data(listed.stdout.utf8))
            #expect(aliases == ["estimator/latest": populated.effect.hex, "vector/test": populated.vector.hex])
            let table = try steer.run(["store", "alias"])
            #expect(table.stdout.contains("estimator/latest"))

            let removed = try steer.run(["store", "alias", "estimator/latest", "--remove"])
            #expect(removed.status == 0, "\(removed.all)")
            let again = try steer.run(["store", "alias", "estimator/latest", "--remove"])
            #expect(again.status != 0)
            #expect(again.stderr.contains("No alias 'estimator/latest'"))

            let invalid = try steer.run(["store", "alias", "has space", populated.effect.hex])
            #expect(invalid.status != 0)
            #expect(invalid.stderr.contains("Invalid alias name"))
            let noTarget = try steer.run(["store", "alias", "lonely"])
            #expect(noTarget.status != 0)
        }
    }

    @Test("gc --dry-run reports, gc removes what no alias reaches")
    func gc() throws {
        try withCLIStore { steer, _ in
            let populated = try Populated(path: steer.storePath)
            let dry = try steer.run(["store", "gc", "--dry-run"])
            #expect(dry.status == 0, "\(dry.all)")
            #expect(dry.stdout.contains("would remove \(populated.stray.hex)"))
            #expect(dry.stdout.contains("3 kept"))
            let store = try ArtifactStore(path: steer.storePath, readOnly: true)
            #expect(try store.count == 4)

            let real = try steer.run(["store", "gc", "--json"])
            #expect(real.status == 0, "\(real.all)")
            #expect(try JSONDecoder().decode([String].self, from: Data(real.stdout.utf8)) == [populated.stray.hex])
            #expect(try store.count == 3)
            #expect(try store.has(populated.effect))
        }
    }

    @Test("verify exits 0 on a clean store and 1 with the damaged key listed")
    func verify() throws {
        try withCLIStore { steer, _ in
            let populated = try Populated(path: steer.storePath)
            let clean = try steer.run(["store", "verify"])
            #expect(clean.status == 0, "\(clean.all)")
            #expect(clean.stdout.contains("all intact"))

            let store = try ArtifactStore(path: steer.storePath)
            var raw = try #require(try store.testingRawValue(forKey: populated.vector))
            raw[raw.count - 1] ^= 0x40
            try store.testingWriteRawValue(raw, forKey: populated.vector.bytes)
            let damaged = try steer.run(["store", "verify"])
            #expect(damaged.status == 1)
            #expect(damaged.stdout.contains("DAMAGED \(populated.vector.hex)"))
            let json = try steer.run(["store", "verify", "--json"])
            #expect(json.status == 1)
            #expect(json.stdout.contains("\"clean\" : false"))
        }
    }

    @Test("merge copies another store's artifacts and reports conflicts with exit 1")
    func merge() throws {
        try withCLIStore { steer, directory in
            let populated = try Populated(path: steer.storePath)
            let otherPath = directory + "/other"
            let other = try ArtifactStore(path: otherPath)
            let extra = try other.put(recipe: recipe("extra"), floats: [9], shape: [1])
            try other.setAlias("vector/extra", to: extra)

            let clean = try steer.run(["store", "merge", otherPath])
            #expect(clean.status == 0, "\(clean.all)")
            #expect(clean.stdout.contains("Added 1 artifact and 1 alias"))
            let store = try ArtifactStore(path: steer.storePath, readOnly: true)
            #expect(try store.get(extra)?.floats() == [9])

            try other.put(recipe: recipe("v", inputs: ["estimator": populated.estimator]), floats: [1, 1], shape: [2])
            let conflicting = try steer.run(["store", "merge", otherPath, "--json"])
            #expect(conflicting.status == 1)
            #expect(conflicting.stdout.contains(populated.vector.hex))
            #expect(try store.get(populated.vector)?.floats() == [0.5, -0.5])

            let missing = try steer.run(["store", "merge", directory + "/nowhere"])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("No artifact store at"))
            let itself = try steer.run(["store", "merge", steer.storePath])
            #expect(itself.status != 0)
            #expect(itself.stderr.contains("into itself"))
        }
    }

    @Test("export writes .npy and .safetensors files and refuses other extensions")
    func export() throws {
        try withCLIStore { steer, directory in
            let populated = try Populated(path: steer.storePath)
            let npy = try steer.run(["store", "export", "vector/test", "--out", directory + "/v.npy"])
            #expect(npy.status == 0, "\(npy.all)")
            #expect(try NPY.read(path: directory + "/v.npy").floats() == [0.5, -0.5])

            let safetensors = try steer.run([
                "store", "export", String(populated.estimator.hex.prefix(12)), "--out", directory + "/m.safetensors",
                "--name", "W",
            ])
            #expect(safetensors.status == 0, "\(safetensors.all)")
            let file = try SafetensorsFile(path: directory + "/m.safetensors")
            // Estimator artifacts ([d_model + 1, d_sae]: M then b) export in the authors' layout, W and b.
            #expect(try file.floats("W") == [1, 2])
            #expect(try file.floats("b") == [3, 4])
            #expect(file.metadata["key"] == populated.estimator.hex)

            let bad = try steer.run(["store", "export", "vector/test", "--out", directory + "/v.csv"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains(".npy"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/v.csv"))
        }
    }

    @Test("A store path that is a regular file, lies below one, or is missing for gc, is refused")
    func fileAsStore() throws {
        try withCLIStore { steer, directory in
            let file = directory + "/file"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            let result = try steer.run(["store", "ls", "--store", file], store: false)
            #expect(result.status != 0)
            #expect(result.stderr.contains("is not a directory"))
            let below = try steer.run(["store", "merge", steer.storePath, "--store", file + "/s"], store: false)
            #expect(below.status != 0)
            #expect(below.stderr.contains("Cannot create the artifact store"))
            let missing = try steer.run(["store", "gc"])
            #expect(missing.status != 0)
            #expect(missing.stderr.contains("No artifact store at"))
            #expect(!FileManager.default.fileExists(atPath: steer.storePath), "gc created an empty store")
        }
    }
}
