import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Merging stores")
struct MergeTests {
    @Test("merge copies the union, reports payload and alias conflicts, and is idempotent")
    func union() throws {
        try withTemporaryDirectory { directory in
            let ours = try ArtifactStore(path: directory + "/ours")
            let theirs = try ArtifactStore(path: directory + "/theirs")
            let a = try ours.put(recipe: recipe("a"), floats: [1], shape: [1])
            let b = try ours.put(recipe: recipe("b"), floats: [2], shape: [1])
            let d = try ours.put(recipe: recipe("d"), floats: [4], shape: [1])
            try ours.setAlias("x", to: a)
            #expect(try theirs.put(recipe: recipe("b"), floats: [2], shape: [1]) == b)
            let c = try theirs.put(recipe: recipe("c"), floats: [3], shape: [1])
            #expect(try theirs.put(recipe: recipe("d"), floats: [40], shape: [1]) == d)
            try theirs.setAlias("x", to: c)
            try theirs.setAlias("y", to: c)

            let report = try ours.merge(from: theirs)
            #expect(report.added == [c])
            #expect(report.alreadyPresent == 1)
            #expect(report.conflicts.map(\.key) == [d])
            #expect(report.conflicts.first?.ours == ContentDigest(ofFloats: [4]))
            #expect(report.conflicts.first?.theirs == ContentDigest(ofFloats: [40]))
            #expect(report.aliasesAdded == ["y"])
            #expect(report.aliasConflicts == [AliasConflict(name: "x", ours: a, theirs: c)])
            #expect(report.rejected.isEmpty)
            #expect(!report.isClean)

            #expect(try ours.get(d)?.floats() == [4])
            #expect(try ours.get(c)?.floats() == [3])
            #expect(try ours.aliases() == ["x": a, "y": c])
            #expect(try ours.verify().isClean)

            let again = try ours.merge(from: theirs)
            #expect(again.added.isEmpty)
            #expect(again.alreadyPresent == 2)
            #expect(again.aliasesAdded.isEmpty)
        }
    }

    @Test("merge copies many artifacts across several chunks")
    func chunks() throws {
        try withTemporaryDirectory { directory in
            let ours = try ArtifactStore(path: directory + "/ours", initialMapSize: 64 << 10)
            let theirs = try ArtifactStore(path: directory + "/theirs")
            let keys = try theirs.putBatch(
                (0..<1_200).map { .floats(recipe: recipe("m\($0)"), [Float($0)], shape: [1]) })
            let report = try ours.merge(from: theirs)
            #expect(report.added == keys.sorted())
            #expect(report.isClean)
            #expect(try ours.count == 1_200)
        }
    }

    @Test("Damaged artifacts of the other store are reported and not copied")
    func rejectsDamage() throws {
        try withTemporaryDirectory { directory in
            let ours = try ArtifactStore(path: directory + "/ours")
            let theirs = try ArtifactStore(path: directory + "/theirs")
            let good = try theirs.put(recipe: recipe("good"), floats: [1], shape: [1])
            let bad = try theirs.put(recipe: recipe("bad"), floats: [1, 2, 3], shape: [3])
            var raw = try #require(try theirs.testingRawValue(forKey: bad))
            raw[raw.count - 1] ^= 0xFF
            try theirs.testingWriteRawValue(raw, forKey: bad.bytes)
            try theirs.setAlias("bad", to: bad)

            let report = try ours.merge(from: theirs)
            #expect(report.added == [good])
            #expect(report.rejected.map(\.key).contains(bad.hex))
            #expect(report.rejected.contains { $0.key == "alias 'bad'" })
            #expect(try !ours.has(bad))
        }
    }

    @Test("A store cannot be merged into itself")
    func intoSelf() throws {
        try withTemporaryStore { store, path in
            let same = try ArtifactStore(path: path, readOnly: true)
            expectStoreError({ _ = try store.merge(from: same) }) {
                if case .mergeIntoSelf = $0 { true } else { false }
            }
        }
    }
}
