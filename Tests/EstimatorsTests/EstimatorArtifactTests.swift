import ArtifactStore
import Estimators
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@Suite("Estimator artifacts")
struct EstimatorArtifactTests {
    static func model(d: Int = 4, s: Int = 3, seed: UInt64 = 1) -> LinearEffectModel {
        var random = SeededGenerator(seed: seed)
        return LinearEffectModel(weight: random.matrix(rows: d, columns: s), bias: (0..<s).map { _ in random.normal() })
    }

    @Test("A model round-trips through the store as [M; b] under its recipe")
    func storeRoundTrip() throws {
        try withTemporaryStore { store, _ in
            let model = Self.model()
            let estimator = try RidgeEstimator()
            let dataset = ContentDigest(ofString: "dataset")
            let recipe = EstimatorArtifact.recipe(estimator: estimator, dataset: dataset, split: EffectDataSplit())
            #expect(recipe.kind == .estimator && recipe.algorithm == "ridge" && recipe.inputs == ["dataset": dataset])
            #expect(recipe.parameters["split-validation-size"] == .int(100))
            #expect(recipe.parameters["folds"] == .int(5))
            let key = try EstimatorArtifact.put(model, recipe: recipe, in: store)
            #expect(key == recipe.key)
            #expect(try store.header(key)?.shape == [5, 3])
            try store.setAlias("estimator/test", to: key)
            let loaded = try EstimatorArtifact.load("estimator/test", from: store)
            #expect(loaded.key == key && loaded.model == model)
            let other = try store.put(recipe: Recipe(kind: .vector, algorithm: "v"), floats: [1, 2], shape: [1, 2])
            expectMessage(contains: "an estimator is an f32") { _ = try EstimatorArtifact.load(other.hex, from: store) }
        }
    }

    @Test(
        "The authors' layout (W [d_model, d_sae], b [d_sae]) loads from safetensors",
        arguments: [TensorDType.f32, .bf16])
    func safetensorsFile(dtype: TensorDType) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = Self.model(d: 6, s: 5)
        let path = directory + "/adapter.safetensors"
        var writer = SafetensorsWriter()
        try writer.add("W", floats: model.weight.values, shape: model.weight.shape, as: dtype)
        try writer.add("b", floats: model.bias, shape: [5], as: dtype)
        try writer.write(to: path)
        let loaded = try EstimatorFiles.load(path)
        #expect(loaded.weight.values == (try rounded(model.weight.values, through: dtype)))
        #expect(loaded.bias == (try rounded(model.bias, through: dtype)))
        expectMessage(contains: "supported formats: safetensors") {
            _ = try EstimatorFiles.load(directory + "/adapter.csv")
        }
    }

    @Test("Malformed estimator files name the file and the tensor")
    func malformedFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.safetensors"
        var writer = SafetensorsWriter()
        try writer.add("W", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        try writer.write(to: path)
        expectMessage(contains: "no tensor 'b'") { _ = try EstimatorFiles.load(path) }
        try writer.add("b", floats: [1, 2], shape: [2])
        try writer.write(to: path)
        expectMessage(contains: "expected shape [3]") { _ = try EstimatorFiles.load(path) }
        writer = SafetensorsWriter()
        try writer.add("W", floats: [1, .nan, 3, 4, 5, 6], shape: [2, 3])
        try writer.add("b", floats: [1, 2, 3], shape: [3])
        try writer.write(to: path)
        expectMessage(contains: "tensor 'W'") { _ = try EstimatorFiles.load(path) }
    }

    @Test("Importing a file is keyed by its digest; export writes W and b back")
    func importAndExport() throws {
        try withTemporaryStore { store, directory in
            let model = Self.model(d: 3, s: 7)
            let path = directory + "/adapter.safetensors"
            try SafetensorsEstimatorFormat.write(model, to: path)
            let first = try EstimatorImport.importFile(path, into: store)
            #expect(first.imported && first.inputWidth == 3 && first.outputWidth == 7)
            let recipe = try #require(try store.recipe(first.key))
            let fileDigest = try FileFingerprint.digest(ofFile: path)
            #expect(recipe.algorithm == "import" && recipe.inputs["file"] == fileDigest)
            #expect(!(try EstimatorImport.importFile(path, into: store)).imported)
            let out = directory + "/exported.safetensors"
            try store.export(first.key, to: out)
            let exported = try SafetensorsFile(path: out)
            #expect(Set(exported.tensorNames) == ["W", "b"])
            #expect(try exported.info("W").shape == [3, 7])
            #expect(try exported.floats("W") == model.weight.values && exported.floats("b") == model.bias)
            #expect(try EstimatorFiles.load(out) == model)
        }
    }

    @Test("A fit is stored under its recipe and reused instead of refitted")
    func fittingReuse() throws {
        try withTemporaryStore { store, _ in
            let (x, _) = randomPairs(rows: 60, d: 4, s: 3, seed: 9)
            let truth = Self.model(d: 4, s: 3)
            let y = ReferenceRegression.normalised(x).map { row in
                (0..<3).map { j in
                    Float((0..<4).reduce(Double(truth.bias[j])) { $0 + row[$1] * Double(truth.weight[$1, j]) })
                }
            }
            let data = try InMemoryEffectDataset(inputs: x, effects: Matrix(stacking: y))
            let split = EffectDataSplit(validationSize: 10)
            let estimator = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1e-8]))
            let first = try EstimatorFitting.fit(estimator, on: data, split: split, store: store)
            #expect(!first.reused && first.key == first.recipe.key)
            #expect(maxAbsDifference(first.model.weight.values, truth.weight.values) <= 1e-4)
            let second = try EstimatorFitting.fit(estimator, on: data, split: split, store: store)
            #expect(second.reused && second.model == first.model && second.seconds == 0)
            let otherSplit = try EstimatorFitting.fit(
                estimator, on: data, split: EffectDataSplit(validationSize: 5), store: store)
            #expect(!otherSplit.reused && otherSplit.key != first.key)
            let progress = EstimatorFitting.progressTotal(for: try LinearAdamEstimator(), trainingRows: 49_900)
            #expect(progress.total == 11_700 && progress.unit == "steps")
            #expect(EstimatorFitting.progressTotal(for: estimator, trainingRows: 50).unit == "rows")
            expectMessage(contains: "no training row") {
                _ = try EstimatorFitting.fit(
                    estimator, on: data, split: EffectDataSplit(validationSize: 60), store: nil)
            }
        }
    }
}

@Suite("The authors' PyTorch files")
struct AuthorsPyTorchFileTests {
    @Test("an adapter state dict and an effects dict written by torch.save load like their safetensors twins")
    func pytorchFiles() throws {
        // Tests/Fixtures/torch (written by Tests/Reference/make_torch_fixtures.py) holds the authors' layouts:
        // adapter.pt = {"W": [6, 10], "b": [10]} and effects.pt = {"features": [5, 6], "effects": [5, 10]}.
        let adapter = fixturePath("torch/adapter.pt"), effects = fixturePath("torch/effects.pt")
        let model = try EstimatorFiles.load(adapter)
        let file = try NamedTensorFile.open(path: adapter)
        #expect(model.weight.values == (try file.floats("W")))
        #expect(model.bias == (try file.floats("b")))
        #expect(model.weight.shape == [6, 10])
        let dataset = try TensorFileEffectDataset(path: effects)
        #expect(dataset.count == 5 && dataset.inputWidth == 6 && dataset.outputWidth == 10)
        let (inputs, outputs) = try dataset.read(rows: [0, 1, 3])
        let raw = try NamedTensorFile.open(path: effects)
        let features = try raw.floats("features"), effectValues = try raw.floats("effects")
        #expect(inputs.row(2) == Array(features[18..<24]))
        #expect(outputs.row(0) == Array(effectValues[0..<10]))
    }
}
