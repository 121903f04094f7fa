import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

/// End-to-end runs of `steer effects import` and `steer estimators …` against a temporary store.
@Suite("steer estimators CLI", .serialized)
struct EstimatorCLITests {
    /// Runs the built `steer` with `--store <dir>/store` and `STEER_STORE` unset.
    struct Runner {
        let executable: String
        let directory: String

        func callAsFunction(_ arguments: String...) throws -> SubprocessResult {
            try Subprocess.run(
                executable, arguments + ["--store", directory + "/store"],
                environment: ["STEER_STORE": nil, "STEER_CACHE_DIR": directory + "/cache"], timeout: 300)
        }
    }

    func withRunner(_ body: (Runner) throws -> Void) throws {
        guard let steer = BuiltProduct.steer() else { return }
        let directory = try makeTemporaryDirectory("steer-estimators-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(Runner(executable: steer, directory: directory))
    }

    func expectSuccess(
        _ result: SubprocessResult, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 0, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                result.stdout.contains(fragment), "stdout lacks '\(fragment)': \(result.stdout)",
                sourceLocation: sourceLocation)
        }
    }

    @Test("import → fit (stored, then reused) → compare → import estimator → export W and b")
    func workflow() throws {
        try withRunner { steer in
            let data = MatrixEffectSource.linear(
                weight: EstimatorArtifactTests.model(d: 5, s: 6).weight, bias: [0, 1, 2, 3, 4, 5], rows: 120,
                noise: 0.01, seed: 8)
            let file = steer.directory + "/effects.safetensors"
            try writeDatasetFile(file, inputs: data.inputs, effects: data.effects)

            expectSuccess(try steer("effects", "import", "--file", file, "--alias", "data/test"), "Imported", "Alias")
            expectSuccess(try steer("effects", "import", "--file", file), "already in the store")

            let out = steer.directory + "/ridge.safetensors"
            let fit = try steer(
                "estimators", "fit", "--estimator", "ridge", "--dataset", "data/test", "--validation-size", "20",
                "--alias", "estimator/ridge", "--out", out)
            expectSuccess(fit, "Fitted ridge on 100 rows", "R²", "top-6 overlap", "Wrote W [5, 6]")
            expectSuccess(
                try steer(
                    "estimators", "fit", "--estimator", "ridge", "--dataset", "data/test", "--validation-size", "20"),
                "reusing it, not refitting")
            expectSuccess(
                try steer("estimators", "fit", "--estimator", "linear-adam", "--dataset", file, "--epochs", "2"),
                "already in the store as", "Fitted linear-adam on 20 rows")

            let compare = try steer(
                "estimators", "compare", "--dataset", "data/test", "--validation-size", "20", "--epochs", "3",
                "--lambdas", "0.001,0.1,10", "--alias", "evaluation/test")
            expectSuccess(
                compare, "estimator", "ridge", "linear-adam", "cos median", "Stored the comparison as evaluation")

            let imported = try steer("estimators", "import", "--file", out, "--alias", "estimator/imported")
            expectSuccess(imported, "Imported", "W [5, 6]")
            expectSuccess(try steer("estimators", "import", "--file", out), "nothing to do")

            let exported = steer.directory + "/exported.safetensors"
            expectSuccess(try steer("store", "export", "estimator/ridge", "--out", exported))
            let a = try SafetensorsFile(path: exported), b = try SafetensorsFile(path: out)
            #expect(try a.floats("W") == b.floats("W") && a.floats("b") == b.floats("b"))
        }
    }

    @Test("Misused flags and unknown estimators fail with a clear message")
    func errors() throws {
        try withRunner { steer in
            let data = MatrixEffectSource.linear(
                weight: EstimatorArtifactTests.model(d: 3, s: 2).weight, bias: [0, 0], rows: 30, seed: 9)
            let file = steer.directory + "/effects.safetensors"
            try writeDatasetFile(file, inputs: data.inputs, effects: data.effects)
            let misplaced = try steer("estimators", "fit", "--estimator", "ridge", "--dataset", file, "--epochs", "3")
            #expect(
                misplaced.status != 0 && misplaced.stderr.contains("only apply to linear-adam"), "\(misplaced.stderr)")
            let unknown = try steer("estimators", "fit", "--estimator", "lasso", "--dataset", file)
            #expect(
                unknown.status != 0 && unknown.stderr.contains("available: linear-adam, ridge"), "\(unknown.stderr)")
            let tooBig = try steer(
                "estimators", "fit", "--estimator", "ridge", "--dataset", file, "--validation-size", "30")
            #expect(tooBig.status != 0 && tooBig.stderr.contains("no training row"), "\(tooBig.stderr)")
            let missing = try steer("estimators", "fit", "--estimator", "ridge", "--dataset", "no/such/alias")
            #expect(missing.status != 0 && missing.stderr.contains("no/such/alias"), "\(missing.stderr)")
        }
    }
}
