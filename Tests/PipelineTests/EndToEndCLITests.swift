import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

/// The whole method through the CLI on the tiny fixtures: measure → export → fit → make vectors →
/// inspect → evaluate → report, then a rerun that computes nothing, and the documented bad inputs.
@Suite("End to end through steer")
struct EndToEndCLITests {
    @Test("measure, fit, make, inspect, evaluate; rerun computes nothing; clear errors for bad input")
    func wholeMethod() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let dir = try makeTemporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        let model = PipelineFixtures.modelPath, sae = PipelineFixtures.saePath
        func run(_ arguments: [String]) throws -> SubprocessResult {
            try Subprocess.run(steer, arguments + ["--store", store], timeout: 300)
        }
        let measured = try run(
            [
                "effects", "measure", "--model", model, "--sae", sae, "--vectors", "decoder-rows:\(sae):0-60",
                "--scale", "6",
            ]
                + PipelineFixtures.protocolFlags)
        #expect(measured.status == 0, "\(measured.stderr)")
        #expect(try run(["effects", "export", "--out", dir + "/d.safetensors"]).status == 0)
        let fit = try run(
            [
                "estimators", "fit", "--estimator", "ridge", "--dataset", dir + "/d.safetensors", "--validation-size",
                "10",
                "--alias", "est",
            ])
        #expect(fit.status == 0, "\(fit.stderr)")

        let task: [String: Any] = [
            "name": "tiny-cat", "description": "cats", "layer": 1, "dictionary": "fixture",
            "targets": [["feature": 42, "weight": 1]], "sae_direct_features": [["feature": 42, "weight": 1]],
            "positive_prompts": ["the cat sat", "a cat ran", "cats and cats"],
            "negative_prompts": ["the house is big", "people live here", "then it ran"],
            "behaviour_criterion": "mentions cats", "coherence_criterion": "is coherent",
            "lexicon": ["cat", "cats", "mat"],
        ]
        try JSONSerialization.data(withJSONObject: task).write(to: URL(fileURLWithPath: dir + "/task.json"))
        for strategy in ["caa", "sae-direct", "sae-ts", "pinv", "rotation"] {
            let made = try run(
                [
                    "vector", "make", "--strategy", strategy, "--task", dir + "/task.json", "--model", model, "--sae",
                    sae,
                    "--estimator", "est", "--out", dir + "/\(strategy).npy", "--alias", "v/\(strategy)",
                ])
            #expect(made.status == 0, "\(strategy): \(made.stderr)")
        }
        let inspect = try run(["vector", "inspect", "v/sae-ts", "--estimator", "est", "--top", "3"])
        #expect(inspect.status == 0 && inspect.stdout.contains("feature     42"), "\(inspect.stdout)\(inspect.stderr)")

        let evaluateArguments = [
            "evaluate", "--model", model, "--sae", sae, "--estimator", "est", "--tasks", dir + "/task.json",
            "--strategies", "caa,sae-direct,sae-ts", "--scales", "0:4:8", "--samples", "6", "--prompt", "the cat",
            "--max-new-tokens", "6", "--report", dir + "/report",
        ]
        let evaluation = try run(evaluateArguments)
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stderr.contains("9 cells"))
        let html = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(html.contains("Does SAE-TS beat SAE-direct and CAA?"))
        let again = try run(evaluateArguments)
        #expect(again.status == 0 && again.stderr.contains("0 computed now"), "\(again.stderr)")

        // Strategy options by plugin name: sae-ts with λ = 0 is another vector, and evaluate forwards it
        // (its cells at scales 4 and 8 are new; at scale 0 every vector shares the unsteered cell).
        let lambdaZero = try run(
            [
                "vector", "make", "--strategy", "sae-ts", "--task", dir + "/task.json", "--estimator", "est", "--out",
                dir + "/sae-ts-0.npy", "--strategy-option", "sae-ts.lambda=0",
            ])
        #expect(lambdaZero.status == 0, "\(lambdaZero.stderr)")
        #expect(try NPY.read(path: dir + "/sae-ts-0.npy").floats() != NPY.read(path: dir + "/sae-ts.npy").floats())
        let forwarded = try run(evaluateArguments + ["--strategy-option", "sae-ts.lambda=0"])
        #expect(forwarded.status == 0 && forwarded.stderr.contains("2 computed now"), "\(forwarded.stderr)")
        let undeclared = try run(
            [
                "vector", "make", "--strategy", "sae-ts", "--task", dir + "/task.json", "--estimator", "est",
                "--strategy-option", "sae-ts.mu=1",
            ])
        #expect(
            undeclared.status != 0 && undeclared.stderr.contains("strategy 'sae-ts' option 'mu'")
                && undeclared.stderr.contains("its options are lambda"), "\(undeclared.stderr)")
        // Judges by name with their options; the task configures them (feature-activation calibrates its
        // reference on the task's positive prompts).
        let byFeatures = try run(
            evaluateArguments + ["--behaviour-judge", "feature-activation", "--judge-option", "lexicon.saturation=2"])
        #expect(
            byFeatures.status != 0 && byFeatures.stderr.contains("lexicon is not being used"), "\(byFeatures.stderr)")
        let features = try run(evaluateArguments + ["--behaviour-judge", "feature-activation"])
        #expect(features.status == 0, "\(features.stderr)")
        let otherClaim = try run(evaluateArguments + ["--compare", "caa:sae-direct"])
        #expect(otherClaim.status == 0, "\(otherClaim.stderr)")
        let otherHTML = try String(contentsOfFile: dir + "/report/index.html", encoding: .utf8)
        #expect(otherHTML.contains("Does CAA beat SAE-direct?") && otherHTML.contains("95 % bootstrap"))
        let unknownJudge = try run(evaluateArguments + ["--behaviour-judge", "oracle"])
        #expect(
            unknownJudge.status != 0 && unknownJudge.stderr.contains("available: coherence-loglik"),
            "\(unknownJudge.stderr)")
        let unused = try run(evaluateArguments + ["--strategy-option", "pinv.rcond=0.1"])
        #expect(unused.status != 0 && unused.stderr.contains("pinv is not being used"), "\(unused.stderr)")

        let unknown = try run(["vector", "make", "--strategy", "magic", "--target", "1", "--sae", sae])
        #expect(unknown.status != 0 && unknown.stderr.contains("available: caa"), "\(unknown.stderr)")
        let outOfRange = try run(["vector", "make", "--strategy", "sae-direct", "--target", "999", "--sae", sae])
        #expect(outOfRange.status != 0 && outOfRange.stderr.contains("999"), "\(outOfRange.stderr)")
    }
}
