import ArtifactStore
import Estimators
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@Suite("Effect datasets")
struct EffectDatasetTests {
    @Test("In-memory dataset reads rows and has a content digest")
    func inMemory() throws {
        let (x, y) = randomPairs(rows: 10, d: 3, s: 4, seed: 1)
        let data = try InMemoryEffectDataset(inputs: x, effects: y)
        let (rx, ry) = try data.read(rows: [2, 2, 9])
        #expect(rx.row(0) == x.row(2) && rx.row(2) == x.row(9) && ry.row(1) == y.row(2))
        #expect(data.digest == (try InMemoryEffectDataset(inputs: x, effects: y)).digest)
        var changed = y
        changed[3, 3] += 1
        #expect(data.digest != (try InMemoryEffectDataset(inputs: x, effects: changed)).digest)
        expectMessage(contains: "10 rows but effects have 9") {
            _ = try InMemoryEffectDataset(inputs: x, effects: y.rows(0..<9))
        }
        expectMessage(contains: "out of range") { _ = try data.read(rows: [10]) }
        expectMessage(contains: "ascending") { _ = try data.read(rows: [3, 1]) }
    }

    @Test("Safetensors dataset decodes rows on demand", arguments: [TensorDType.f32, .bf16, .f16, .f64])
    func safetensorsRows(dtype: TensorDType) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (x, y) = randomPairs(rows: 7, d: 5, s: 3, seed: 2)
        let path = directory + "/d.safetensors"
        try writeDatasetFile(path, inputs: x, effects: y, dtype: dtype)
        let data = try TensorFileEffectDataset(path: path)
        #expect(data.count == 7 && data.inputWidth == 5 && data.outputWidth == 3)
        #expect(data.digest == (try FileFingerprint.digest(ofFile: path)))
        let (rx, ry) = try data.read(rows: [0, 4, 6])
        let ex = try rounded(x.row(0) + x.row(4) + x.row(6), through: dtype)
        let ey = try rounded(y.row(0) + y.row(4) + y.row(6), through: dtype)
        #expect(rx.values == ex && ry.values == ey)
    }

    @Test("Malformed dataset files are refused with the file and tensor named")
    func malformedFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (x, y) = randomPairs(rows: 4, d: 2, s: 3, seed: 3)
        let path = directory + "/bad.safetensors"
        var writer = SafetensorsWriter()
        try writer.add("features", floats: x.values, shape: x.shape)
        try writer.write(to: path)
        expectMessage(contains: "no tensor 'effects'") { _ = try TensorFileEffectDataset(path: path) }
        try writeDatasetFile(path, inputs: x, effects: y.rows(0..<3))
        expectMessage(contains: "has 4 rows but 'effects' has 3") { _ = try TensorFileEffectDataset(path: path) }
        writer = SafetensorsWriter()
        try writer.add("features", floats: x.values, shape: [8])
        try writer.add("effects", floats: y.values, shape: y.shape)
        try writer.write(to: path)
        expectMessage(contains: "expected a 2-D") { _ = try TensorFileEffectDataset(path: path) }
        writer = SafetensorsWriter()
        try writer.add("features", int32s: [1, 2, 3, 4], shape: [2, 2])
        try writer.add("effects", floats: y.values, shape: [2, 6])
        try writer.write(to: path)
        expectMessage(contains: "not a float type") { _ = try TensorFileEffectDataset(path: path) }
    }

    @Test("Importing a file stores rows equal to the file's; re-importing is a no-op", arguments: [1, 4, 7, 100])
    func importRoundTrip(chunkRows: Int) throws {
        try withTemporaryStore { store, directory in
            let (x, y) = randomPairs(rows: 23, d: 4, s: 6, seed: 4)
            let path = directory + "/effects.safetensors"
            try writeDatasetFile(path, inputs: x, effects: y)
            let first = try EffectDatasetImport.importSafetensors(path, into: store, chunkRows: chunkRows)
            #expect(first.imported && first.count == 23 && first.inputWidth == 4 && first.outputWidth == 6)
            let again = try EffectDatasetImport.importSafetensors(path, into: store, chunkRows: chunkRows)
            #expect(!again.imported && again.key == first.key)
            let stored = try StoredEffectDataset(store: store, key: first.key)
            #expect(stored.digest == first.key)
            #expect(stored.manifest.chunks.count == (23 + chunkRows - 1) / chunkRows)
            #expect(stored.manifest.provenance["source"] == "effects.safetensors")
            let all = try stored.read(rows: Array(0..<23))
            #expect(all.inputs == x && all.effects == y)
            let some = try stored.read(rows: [0, 3, 4, 7, 22])
            #expect(some.inputs.row(2) == x.row(4) && some.effects.row(4) == y.row(22))
            let base = try #require(try store.recipe(first.key)).inputs
            #expect(base["file"] == (try FileFingerprint.digest(ofFile: path)))
            #expect(base.keys.filter { $0.hasPrefix("chunk.") }.count == stored.manifest.chunks.count)
            #expect(
                try StoredEffectDataset.find(
                    recipe: EffectDatasetImport.recipe(fileDigest: FileFingerprint.digest(ofFile: path)), in: store)
                    == first.key)
        }
    }

    @Test("Import refuses NaN and names the row and column")
    func importRejectsNaN() throws {
        try withTemporaryStore { store, directory in
            var (x, y) = randomPairs(rows: 9, d: 3, s: 4, seed: 5)
            y[6, 2] = .nan
            let path = directory + "/nan.safetensors"
            try writeDatasetFile(path, inputs: x, effects: y)
            expectMessage(contains: "row 6 (column 2)") {
                _ = try EffectDatasetImport.importSafetensors(path, into: store, chunkRows: 4)
            }
            x[0, 0] = .infinity
            y[6, 2] = 0
            try writeDatasetFile(path, inputs: x, effects: y)
            expectMessage(contains: "'features'") {
                _ = try EffectDatasetImport.importSafetensors(path, into: store, chunkRows: 4)
            }
        }
    }

    @Test("The writer cuts chunks at exact boundaries and reads across them")
    func writerChunkBoundaries() throws {
        try withTemporaryStore { store, _ in
            let (x, y) = randomPairs(rows: 12, d: 2, s: 3, seed: 6)
            for (rows, expectedChunks) in [(8, 2), (9, 3), (1, 1), (12, 3)] {
                let writer = try EffectDatasetWriter(store: store, inputWidth: 2, outputWidth: 3, chunkRows: 4)
                for r in 0..<rows { try writer.append(input: x.row(r), effect: y.row(r)) }
                let key = try writer.finish(
                    recipe: Recipe(kind: .dataset, algorithm: "test", parameters: ["n": .int(rows)]))
                let data = try StoredEffectDataset(store: store, key: key, cacheLimitBytes: 1)
                #expect(data.manifest.chunks.count == expectedChunks)
                #expect(data.count == rows)
                let boundary = [0, 3, 4, 7, 8].filter { $0 < rows }
                let (rx, ry) = try data.read(rows: boundary)
                for (i, r) in boundary.enumerated() { #expect(rx.row(i) == x.row(r) && ry.row(i) == y.row(r)) }
                let chunkShapes = try data.manifest.chunks.map { try #require(try store.header($0)).shape }
                #expect(chunkShapes.last == [rows - (expectedChunks - 1) * 4, 5])
            }
        }
    }

    @Test("Writer errors: widths, NaN (row named), empty, wrong kind, finish twice")
    func writerErrors() throws {
        try withTemporaryStore { store, _ in
            let writer = try EffectDatasetWriter(store: store, inputWidth: 2, outputWidth: 3)
            expectMessage(contains: "input of dataset row 0") { try writer.append(input: [1], effect: [1, 2, 3]) }
            expectMessage(contains: "effect of dataset row 0") { try writer.append(input: [1, 2], effect: [1]) }
            try writer.append(input: [1, 2], effect: [1, 2, 3])
            expectMessage(contains: "effect of dataset row 1") {
                try writer.append(input: [1, 2], effect: [1, .nan, 3])
            }
            expectMessage(contains: "kind 'dataset'") {
                _ = try writer.finish(recipe: Recipe(kind: .vector, algorithm: "x"))
            }
            expectMessage(contains: "reserved") {
                _ = try writer.finish(
                    recipe: Recipe(
                        kind: .dataset, algorithm: "x", inputs: ["chunk.000000": ContentDigest(ofString: "a")]))
            }
            let empty = try EffectDatasetWriter(store: store, inputWidth: 2, outputWidth: 3)
            expectMessage(contains: "no rows") { _ = try empty.finish(recipe: Recipe(kind: .dataset, algorithm: "x")) }
            _ = try writer.finish(recipe: Recipe(kind: .dataset, algorithm: "x"))
            expectMessage(contains: "already called") {
                _ = try writer.finish(recipe: Recipe(kind: .dataset, algorithm: "x"))
            }
            expectMessage(contains: "must all be positive") {
                _ = try EffectDatasetWriter(store: store, inputWidth: 0, outputWidth: 3)
            }
        }
    }

    @Test("A dataset written under a recipe is found again from that recipe, and gc keeps its chunks")
    func findAndGC() throws {
        try withTemporaryStore { store, _ in
            let (x, y) = randomPairs(rows: 10, d: 2, s: 2, seed: 7)
            let recipe = Recipe(kind: .dataset, algorithm: "effect-collection", parameters: ["probe": "65k"])
            #expect(try StoredEffectDataset.find(recipe: recipe, in: store) == nil)
            let writer = try EffectDatasetWriter(store: store, inputWidth: 2, outputWidth: 2, chunkRows: 3)
            try writer.append(inputs: x, effects: y)
            let key = try writer.finish(recipe: recipe)
            #expect(try StoredEffectDataset.find(recipe: recipe, in: store) == key)
            try store.setAlias("dataset/test", to: key)
            #expect(try store.gc().isEmpty)
            #expect(try StoredEffectDataset(store: store, key: key).read(rows: Array(0..<10)).effects == y)
        }
    }

    @Test("Opening a non-dataset artifact as a dataset explains what it is")
    func wrongArtifact() throws {
        try withTemporaryStore { store, _ in
            let key = try store.put(recipe: Recipe(kind: .vector, algorithm: "x"), floats: [1, 2], shape: [2])
            expectMessage(contains: "not an effect dataset manifest") {
                _ = try StoredEffectDataset(store: store, key: key)
            }
        }
    }

    @Test("The synthetic dataset is deterministic per row and follows its map")
    func synthetic() throws {
        let data = SyntheticEffectDataset(count: 50, inputWidth: 6, outputWidth: 5, rank: 2, noise: 0, seed: 3)
        let all = try data.read(rows: Array(0..<50))
        let some = try data.read(rows: [7, 31])
        #expect(some.inputs.row(1) == all.inputs.row(31) && some.effects.row(0) == all.effects.row(7))
        let model = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1e-8]))
            .fit(data, rows: Array(0..<50), progress: nil)
        #expect(maxAbsDifference(model.weight.values, data.trueWeight.values) <= 1e-3)
        #expect(maxAbsDifference(model.bias, data.offset) <= 1e-3)
    }
}
