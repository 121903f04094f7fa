import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

/// The method authors' published PyTorch files go straight into the store, and give the same
/// vectors as the same numbers in safetensors.
@Suite("Importing the authors' .pt artifacts")
struct AuthorsArtifactsCLITests {
    @Test("estimators import / effects import take .pt; SAE-TS from the .pt adapter equals SAE-TS from safetensors")
    func importPyTorch() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let dir = try makeTemporaryDirectory("authors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        func run(_ arguments: [String]) throws -> SubprocessResult {
            try Subprocess.run(steer, arguments + ["--store", store], timeout: 120)
        }
        let adapter = fixturePath("torch/adapter.pt"), effects = fixturePath("torch/effects.pt")
        let imported = try run(["estimators", "import", "--file", adapter, "--alias", "authors/adapter"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let dataset = try run(["effects", "import", "--file", effects, "--alias", "authors/effects"])
        #expect(dataset.status == 0, "\(dataset.stderr)")

        let file = try NamedTensorFile.open(path: adapter)
        var writer = SafetensorsWriter()
        try writer.add("W", floats: try file.floats("W"), shape: [6, 10])
        try writer.add("b", floats: try file.floats("b"), shape: [10])
        try writer.write(to: dir + "/adapter.safetensors")
        for (name, estimator) in [("pt", "authors/adapter"), ("st", dir + "/adapter.safetensors")] {
            let made = try run(
                [
                    "vector", "make", "--strategy", "sae-ts", "--target", "3:1,7:0.5", "--layer", "0", "--estimator",
                    estimator, "--out", dir + "/\(name).npy",
                ])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let fromPyTorch = try NPY.read(path: dir + "/pt.npy").floats()
        let fromSafetensors = try NPY.read(path: dir + "/st.npy").floats()
        #expect(fromPyTorch.count == 6)
        #expect(fromPyTorch == fromSafetensors)
    }
}
