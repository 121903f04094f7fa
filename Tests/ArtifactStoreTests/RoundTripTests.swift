import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Put and get")
struct RoundTripTests {
    struct Summary: Codable, Equatable {
        var label: String
        var scores: [Double]
        var url: String
    }

    @Test("f32 artifacts round-trip with their header")
    func floats() throws {
        try withTemporaryStore { store, _ in
            let values: [Float] = [1.5, -2.25, .pi, 0, -0.0, .greatestFiniteMagnitude, 1e-30]
            let r = recipe("floats", kind: .vector, parameters: ["scale": .double(1.0)])
            let key = try store.put(recipe: r, floats: values, shape: [values.count])
            #expect(key == r.key)
            let artifact = try #require(try store.get(key, verifyingDigest: true))
            #expect(try artifact.floats().map(\.bitPattern) == values.map(\.bitPattern))
            #expect(artifact.header.dtype == .f32)
            #expect(artifact.header.shape == [values.count])
            #expect(artifact.header.kind == .vector)
            #expect(artifact.header.recipe == r)
            #expect(artifact.header.recipe.key == key)
            #expect(artifact.header.payloadSize == values.count * 4)
            #expect(artifact.header.payloadDigest == ContentDigest(ofFloats: values))
            #expect(!artifact.header.createdAt.isEmpty)
        }
    }

    @Test("i32, u8 and json artifacts round-trip")
    func otherDTypes() throws {
        try withTemporaryStore { store, _ in
            let ints: [Int32] = [0, 1, -1, .max, .min, 42]
            let intKey = try store.put(recipe: recipe("ints", kind: .dataset), int32s: ints, shape: [2, 3])
            let intArtifact = try #require(try store.get(intKey))
            #expect(try intArtifact.int32s() == ints)
            #expect(intArtifact.header.shape == [2, 3])

            let bytes: [UInt8] = [0, 255, 7, 128]
            let byteKey = try store.put(recipe: recipe("bytes"), dtype: .u8, shape: [4], payload: bytes)
            #expect(try store.get(byteKey)?.payload == bytes)

            let summary = Summary(label: "ünïcode \"quoted\"", scores: [0.5, 1.0], url: "a/b")
            let jsonKey = try store.put(recipe: recipe("json", kind: .scores), json: summary)
            let jsonArtifact = try #require(try store.get(jsonKey))
            #expect(jsonArtifact.header.dtype == .json)
            #expect(try jsonArtifact.decodeJSON(Summary.self) == summary)
            #expect(jsonArtifact.header.shape == [jsonArtifact.payload.count])
        }
    }

    @Test("A 2-D f32 artifact reads back as a Matrix")
    func matrix() throws {
        try withTemporaryStore { store, _ in
            let m = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
            let key = try store.put(recipe: recipe("matrix", kind: .estimator), matrix: m)
            #expect(try store.get(key)?.matrix() == m)
            let vectorKey = try store.put(recipe: recipe("vector"), floats: [1, 2], shape: [2])
            expectStoreError({ _ = try store.get(vectorKey)?.matrix() }) {
                if case .wrongType = $0 { true } else { false }
            }
        }
    }

    @Test("Accessors for another dtype throw wrongType")
    func wrongType() throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("ints"), int32s: [1, 2], shape: [2])
            let artifact = try #require(try store.get(key))
            expectStoreError({ _ = try artifact.floats() }) {
                if case .wrongType(_, "f32", "i32") = $0 { true } else { false }
            }
            expectStoreError({ _ = try artifact.decodeJSON([Int].self) }) {
                if case .wrongType = $0 { true } else { false }
            }
        }
    }

    @Test("Empty payloads and zero-sized shapes are allowed")
    func empty() throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("empty"), floats: [], shape: [0, 16])
            let artifact = try #require(try store.get(key, verifyingDigest: true))
            #expect(try artifact.floats().isEmpty)
            #expect(try artifact.matrix() == Matrix(rows: 0, columns: 16))
        }
    }

    @Test("A shape that disagrees with the payload is refused")
    func badShape() throws {
        try withTemporaryStore { store, _ in
            expectStoreError({ try store.put(recipe: recipe("bad"), floats: [1, 2, 3], shape: [2, 2]) }) {
                if case .invalidArtifact = $0 { true } else { false }
            }
            expectStoreError({ try store.put(recipe: recipe("neg"), floats: [], shape: [-1, 0]) }) {
                if case .invalidArtifact = $0 { true } else { false }
            }
            expectStoreError({ try store.put(recipe: recipe("json"), dtype: .json, shape: [1, 1], payload: [0x31]) }) {
                if case .invalidArtifact = $0 { true } else { false }
            }
            let count = try store.count
            #expect(count == 0)
        }
    }

    @Test("Values are write-once: a second put of the same key keeps the first payload")
    func writeOnce() throws {
        try withTemporaryStore { store, _ in
            let r = recipe("once")
            let first = try store.put(recipe: r, floats: [1], shape: [1])
            let second = try store.put(recipe: r, floats: [2], shape: [1])
            #expect(first == second)
            #expect(try store.get(first)?.floats() == [1])
            #expect(try store.count == 1)
            #expect(try store.remove(first))
            #expect(try !store.remove(first))
            try store.put(recipe: r, floats: [3], shape: [1])
            #expect(try store.get(first)?.floats() == [3])
        }
    }

    @Test("putBatch, has, header, recipe, list by kind and count")
    func queries() throws {
        try withTemporaryStore { store, _ in
            let recipes = (0..<5).map { recipe("item\($0)", kind: $0 < 2 ? .effect : .vector) }
            let keys = try store.putBatch(recipes.map { .floats(recipe: $0, [Float(1)], shape: [1]) })
            #expect(keys == recipes.map(\.key))
            #expect(try store.count == 5)
            #expect(try store.has(keys[3]))
            #expect(try !store.has(recipe("absent").key))
            #expect(try store.get(recipe("absent").key) == nil)
            #expect(try store.header(keys[1])?.kind == .effect)
            #expect(try store.recipe(keys[4]) == recipes[4])
            let effects = try store.list(kind: .effect)
            #expect(Set(effects.map(\.key)) == Set(keys[0..<2]))
            let all = try store.list()
            #expect(all.map(\.key) == keys.sorted())
            #expect(try store.list(kind: .generations).isEmpty)
        }
    }

    @Test("Values follow the documented layout: magic, version, padded canonical header, payload")
    func layout() throws {
        try withTemporaryStore { store, _ in
            let values: [Float] = [1, 2, 3]
            let key = try store.put(recipe: recipe("layout"), floats: values, shape: [3])
            let raw = try #require(try store.testingRawValue(forKey: key))
            #expect(Array(raw[0..<4]) == Array("STRA".utf8))
            #expect(raw[4..<8].elementsEqual([1, 0, 0, 0]))
            let headerLength = Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24
            #expect((12 + headerLength) % 16 == 0)
            let headerText = String(decoding: raw[12..<(12 + headerLength)], as: UTF8.self)
            let header = try #require(try store.header(key))
            #expect(headerText.trimmingCharacters(in: .whitespaces) == header.canonicalJSON)
            #expect(headerText.contains("\"recipe\":\(header.recipe.canonicalValue.canonicalJSON)"))
            let payload = Array(raw[(12 + headerLength)...])
            #expect(payload == values.withUnsafeBytes { Array($0) })
        }
    }

    @Test("A read-only store reads but refuses writes")
    func readOnly() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            let key: ContentDigest
            do {
                let writer = try ArtifactStore(path: path)
                key = try writer.put(recipe: recipe("ro"), floats: [7], shape: [1])
            }
            let reader = try ArtifactStore(path: path, readOnly: true)
            #expect(reader.isReadOnly)
            #expect(try reader.get(key)?.floats() == [7])
            expectStoreError({ try reader.put(recipe: recipe("x"), floats: [1], shape: [1]) }) {
                if case .readOnly = $0 { true } else { false }
            }
            expectStoreError({ try reader.setAlias("a", to: key) }) {
                if case .readOnly = $0 { true } else { false }
            }
            expectStoreError({ try reader.gc() }) {
                if case .readOnly = $0 { true } else { false }
            }
            #expect(try reader.gc(dryRun: true) == [key])
        }
    }

    @Test("Two instances on one directory share the environment")
    func sharedEnvironment() throws {
        try withTemporaryStore { store, path in
            let second = try ArtifactStore(path: path + "/")
            let key = try second.put(recipe: recipe("shared"), floats: [1], shape: [1])
            #expect(try store.has(key))
            let readOnly = try ArtifactStore(path: path, readOnly: true)
            #expect(try readOnly.count == 1)
        }
    }
}
