import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Aliases and resolving references")
struct AliasTests {
    @Test("Set, move, list and remove aliases")
    func lifecycle() throws {
        try withTemporaryStore { store, _ in
            let a = try store.put(recipe: recipe("a"), floats: [1], shape: [1])
            let b = try store.put(recipe: recipe("b"), floats: [2], shape: [1])
            #expect(try store.setAlias("vector/london/sae-ts", to: a) == nil)
            #expect(try store.setAlias("vector/london/sae-ts", to: b) == a)
            try store.setAlias("other", to: b)
            #expect(try store.aliases() == ["vector/london/sae-ts": b, "other": b])
            #expect(try store.aliases(of: b) == ["other", "vector/london/sae-ts"])
            #expect(try store.removeAlias("other") == b)
            #expect(try store.aliases() == ["vector/london/sae-ts": b])
        }
    }

    @Test("An alias must point at a stored artifact")
    func aliasNeedsArtifact() throws {
        try withTemporaryStore { store, _ in
            expectStoreError({ try store.setAlias("ghost", to: recipe("absent").key) }) {
                if case .unknownKey = $0 { true } else { false }
            }
        }
    }

    @Test(
        "Invalid alias names are refused",
        arguments: ["", "has space", "tab\there", "abcdef", "ABCDEF0123", String(repeating: "x", count: 300)])
    func invalidNames(name: String) throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("a"), floats: [1], shape: [1])
            expectStoreError({ try store.setAlias(name, to: key) }) {
                if case .invalidAliasName = $0 { true } else { false }
            }
        }
    }

    @Test("resolve accepts an alias, a full key and a unique hex prefix")
    func resolve() throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("a"), floats: [1], shape: [1])
            try store.setAlias("vec", to: key)
            #expect(try store.resolve("vec") == key)
            #expect(try store.resolve(" vec\n") == key)
            #expect(try store.resolve(key.hex) == key)
            #expect(try store.resolve(key.hex.uppercased()) == key)
            #expect(try store.resolve(String(key.hex.prefix(6))) == key)
            #expect(try store.resolve(String(key.hex.prefix(7))) == key)
            #expect(try store.resolve(String(key.hex.prefix(63))) == key)
        }
    }

    @Test("resolve explains unknown aliases, keys, short and ambiguous prefixes")
    func resolveErrors() throws {
        try withTemporaryStore { store, path in
            var keys: [ContentDigest] = []
            for index in 0..<3 { keys.append(try store.put(recipe: recipe("p\(index)"), floats: [1], shape: [1])) }
            try store.setAlias("vector/london/sae-ts", to: keys[0])
            try store.setAlias("vector/paris/sae-ts", to: keys[1])

            let unknown = expectStoreError({ _ = try store.resolve("vector/londn/sae-ts") }) {
                if case .unknownAlias("vector/londn/sae-ts", let suggestions, path) = $0 {
                    suggestions.first == "vector/london/sae-ts"
                } else {
                    false
                }
            }
            let message = unknown.map { "\($0)" } ?? ""
            #expect(message.contains("Did you mean 'vector/london/sae-ts'"))
            #expect(message.contains("steer store alias"))

            expectStoreError({ _ = try store.resolve(recipe("absent").key.hex) }) {
                if case .unknownKey = $0 { true } else { false }
            }
            expectStoreError({ _ = try store.resolve("abc") }) {
                if case .invalidReference = $0 { true } else { false }
            }
            // Two keys that share a long prefix, written through the raw test hook.
            let first = try #require(ContentDigest(hex: "abcdef01" + String(repeating: "0", count: 56)))
            let second = try #require(ContentDigest(hex: "abcdef02" + String(repeating: "0", count: 56)))
            try store.testingWriteRawValue([1], forKey: first.bytes)
            try store.testingWriteRawValue([2], forKey: second.bytes)
            let ambiguous = expectStoreError({ _ = try store.resolve("abcdef0") }) {
                if case .ambiguousPrefix("abcdef0", let matches) = $0 { matches.count == 2 } else { false }
            }
            #expect(ambiguous.map { "\($0)" }?.contains("Give more characters") == true)
            #expect(try store.resolve("abcdef01") == first)
            #expect(try store.resolve("ABCDEF02") == second)
            expectStoreError({ _ = try store.resolve("abcdef03") }) {
                if case .unknownKey = $0 { true } else { false }
            }
            expectStoreError({ _ = try store.removeAlias("vector/paris/sae-tz") }) {
                if case .unknownAlias(_, let suggestions, _) = $0 {
                    suggestions.contains("vector/paris/sae-ts")
                } else {
                    false
                }
            }
        }
    }
}
