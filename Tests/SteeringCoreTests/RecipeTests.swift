import SteeringCore
import Testing

@Suite("Recipes and content keys")
struct RecipeTests {
    static let base = Recipe(
        kind: .estimator, algorithm: "ridge", version: 2,
        parameters: ["folds": 5, "grid": [0.001, 0.1, 10.0], "name": "café", "normalize": true],
        inputs: ["dataset": ContentDigest(hex: String(repeating: "ab", count: 32))!])

    @Test("canonical JSON has sorted keys, no whitespace, shortest floats")
    func canonicalForm() {
        #expect(
            String(decoding: Self.base.canonicalBytes, as: UTF8.self)
                == #"{"algorithm":"ridge","inputs":{"dataset":"abababababababababababababababababababababababababababababababab"},"kind":"estimator","parameters":{"folds":5,"grid":[0.001,0.1,10.0],"name":"café","normalize":true},"version":2}"#
        )
    }

    @Test("the key is SHA-256 of the canonical bytes (value computed independently with Python hashlib)")
    func knownKey() {
        #expect(Self.base.key.hex == "ef33ce731a1661b9b8c6e2525f0e27dcedef493eaa33c84b42bdde869e482c1a")
    }

    @Test("changing any single input changes the key")
    func everyInputMatters() {
        var variants = [Recipe]()
        var r = Self.base
        r.kind = .vector
        variants.append(r)
        r = Self.base
        r.algorithm = "linear-adam"
        variants.append(r)
        r = Self.base
        r.version = 3
        variants.append(r)
        r = Self.base
        r.parameters["folds"] = 6
        variants.append(r)
        r = Self.base
        r.parameters["grid"] = [0.001, 0.1, 10.5]
        variants.append(r)
        r = Self.base
        r.parameters["extra"] = .null
        variants.append(r)
        r = Self.base
        r.inputs["dataset"] = ContentDigest(hex: String(repeating: "ac", count: 32))!
        variants.append(r)
        r = Self.base
        r.inputs["model"] = ContentDigest(ofString: "x")
        variants.append(r)
        let keys = Set(variants.map(\.key) + [Self.base.key])
        #expect(keys.count == variants.count + 1)
    }

    @Test("dictionary insertion order does not matter")
    func orderIndependent() {
        let a: RecipeValue = ["b": 1, "a": 2, "é": 3, "z": [1, 2]]
        let b: RecipeValue = ["z": [1, 2], "é": 3, "a": 2, "b": 1]
        #expect(a.canonicalJSON == b.canonicalJSON)
        #expect(a.canonicalJSON == #"{"a":2,"b":1,"z":[1,2],"é":3}"#)
    }

    @Test("strings are escaped")
    func escaping() {
        let v: RecipeValue = .string("a\"b\\c\nd\u{01}")
        #expect(v.canonicalJSON == #""a\"b\\c\nd\u0001""#)
    }

    @Test("digests parse, print and reject bad hex")
    func digests() {
        #expect(ContentDigest(hex: "zz") == nil)
        #expect(ContentDigest(hex: String(repeating: "g", count: 64)) == nil)
        let d = ContentDigest(ofString: "abc")
        #expect(d.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ContentDigest(hex: d.hex.uppercased()) == d)
        #expect(d.bytes.count == 32 && d.bytes[0] == 0xba)
    }
}
