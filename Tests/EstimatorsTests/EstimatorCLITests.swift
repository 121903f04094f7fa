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
                unknown.status != 0 && unknown.stderr.contains("available: linear-adam, mean-effect, ridge"), "\(unknown.stderr)")
            let tooBig = try steer(
                "estimators", "fit", "--estimator", "ridge", "--dataset", file, "--validation-size", "30")
            #expect(tooBig.status != 0 && tooBig.stderr.contains("no training row"), "\(tooBig.stderr)")
            let missing = try steer("estimators", "fit", "--estimator", "ridge", "--dataset", "no/such/alias")
            #expect(missing.status != 0 && missing.stderr.contains("no/such/alias"), "\(missing.stderr)")

            // Any declared option by name; undeclared keys, unknown estimators and disagreeing flags are refused.
            expectSuccess(
                try steer(
                    "estimators", "fit", "--estimator", "linear-adam", "--dataset", file, "--validation-size", "10",
                    "--estimator-option", "linear-adam.epochs=2", "--estimator-option", "linear-adam.batch-size=8"),
                "Fitted linear-adam")
            let undeclared = try steer(
                "estimators", "fit", "--estimator", "linear-adam", "--dataset", file, "--estimator-option",
                "linear-adam.epoch=2")
            #expect(
                undeclared.status != 0 && undeclared.stderr.contains("estimator 'linear-adam' option 'epoch'")
                    && undeclared.stderr.contains("its options are learning-rate"), "\(undeclared.stderr)")
            let unknownName = try steer(
                "estimators", "fit", "--estimator", "ridge", "--dataset", file, "--estimator-option", "lasso.alpha=1")
            #expect(
                unknownName.status != 0 && unknownName.stderr.contains("available: linear-adam, mean-effect, ridge"),
                "\(unknownName.stderr)")
            let disagree = try steer(
                "estimators", "fit", "--estimator", "linear-adam", "--dataset", file, "--epochs", "3",
                "--estimator-option", "linear-adam.epochs=4")
            #expect(disagree.status != 0 && disagree.stderr.contains("disagree"), "\(disagree.stderr)")
            let malformed = try steer(
                "estimators", "fit", "--estimator", "ridge", "--dataset", file, "--estimator-option", "folds=3")
            #expect(malformed.status != 0 && malformed.stderr.contains("NAME.KEY=VALUE"), "\(malformed.stderr)")
        }
    }

    @Test("steer plugins lists every kind with each plugin's options and defaults")
    func pluginListing() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let listing = try Subprocess.run(steer, ["plugins"], timeout: 60)
        #expect(listing.status == 0, "\(listing.stderr)")
        for fragment in [
            "backend plugins", "gemma3", "quantized", "dictionary plugins", "jumprelu", "estimator plugins",
            "linear-adam", "ridge", "strategy plugins", "sae-ts", "sae-direct  (no options)", "judge plugins", "openai",
            "gpt-4o-mini",
        ] {
            #expect(listing.stdout.contains(fragment), "lacks '\(fragment)': \(listing.stdout)")
        }
        #expect(listing.stdout.range(of: #"epochs\s+15\s"#, options: .regularExpression) != nil)
        #expect(listing.stdout.range(of: #"lambda\s+1\s"#, options: .regularExpression) != nil)
        let one = try Subprocess.run(steer, ["plugins", "--kind", "strategy"], timeout: 60)
        #expect(one.status == 0 && !one.stdout.contains("linear-adam") && one.stdout.contains("rotation"))
        let bad = try Subprocess.run(steer, ["plugins", "--kind", "widget"], timeout: 60)
        #expect(bad.status != 0 && bad.stderr.contains("backend, dictionary, estimator, strategy, judge"))
    }
}
