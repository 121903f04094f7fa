import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Verify")
struct VerifyTests {
    @Test("A clean store verifies")
    func clean() throws {
        try withTemporaryStore { store, _ in
            for index in 0..<10 { try store.put(recipe: recipe("v\(index)"), floats: [Float(index)], shape: [1]) }
            let report = try store.verify()
            #expect(report.isClean)
            #expect(report.checked == 10)
        }
    }

    @Test("verify detects a corrupted payload; get(verifyingDigest:) refuses it")
    func corruptedPayload() throws {
        try withTemporaryStore { store, _ in
            let good = try store.put(recipe: recipe("good"), floats: [1, 2], shape: [2])
            let key = try store.put(recipe: recipe("bad"), floats: [1, 2, 3, 4], shape: [4])
            var raw = try #require(try store.testingRawValue(forKey: key))
            raw[raw.count - 2] ^= 0x01
            try store.testingWriteRawValue(raw, forKey: key.bytes)

            let report = try store.verify()
            #expect(!report.isClean)
            #expect(report.checked == 2)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.key == key.hex)
            #expect(report.problems.first?.problem.contains("SHA-256") == true)
            #expect(try store.get(good, verifyingDigest: true) != nil)
            let error = expectStoreError({ _ = try store.get(key, verifyingDigest: true) }) {
                if case .corruptArtifact(key.hex, _) = $0 { true } else { false }
            }
            #expect(error.map { "\($0)" }?.contains("steer store verify") == true)
            #expect(try store.get(key) != nil)  // structure is intact, only the digest differs
        }
    }

    @Test(
        "verify names every kind of structural damage",
        arguments: [
            ("truncated", "promises"), ("bad magic", "magic"), ("garbage header", "not valid JSON"),
            ("newer layout", "version"), ("wrong key", "not its recipe's key"), ("short key", "not 32"),
            ("header length", "runs past"),
        ])
    func structuralDamage(kind: String, expected: String) throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("x"), floats: [1, 2, 3], shape: [3])
            let other = recipe("y").key
            var raw = try #require(try store.testingRawValue(forKey: key))
            var target = key.bytes
            switch kind {
            case "truncated": raw.removeLast(3)
            case "bad magic": raw[0] = UInt8(ascii: "X")
            case "garbage header": raw[12] = UInt8(ascii: "#")
            case "newer layout": raw[4] = 9
            case "wrong key": target = other.bytes
            case "short key": target = [1, 2, 3, 4, 5]
            case "header length": raw[11] = 0x7F
            default: Issue.record("unknown case \(kind)")
            }
            try store.testingWriteRawValue(raw, forKey: target)
            let report = try store.verify()
            #expect(report.problems.contains { $0.problem.contains(expected) }, "\(report.problems)")
        }
    }

    @Test("Dangling and damaged aliases are reported")
    func aliases() throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: recipe("a"), floats: [1], shape: [1])
            try store.setAlias("dangling", to: key)
            try store.remove(key)
            var report = try store.verify()
            #expect(report.isClean)
            #expect(report.danglingAliases == ["dangling": key])
            try store.testingWriteRawAlias([1, 2, 3], forName: "broken")
            report = try store.verify()
            #expect(report.problems.map(\.key) == ["alias 'broken'"])
        }
    }
}
