import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

/// End-to-end runs of the model and SAE subcommands on the tiny reference checkpoint and SAE.
@Suite("steer tokenize / forward / generate / sae / features")
struct ModelCLITests {
    let model = fixturePath("gemma2/tiny-f32")
    let sae = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20/params.npz")

    func steer(_ arguments: [String]) throws -> SubprocessResult? {
        try BuiltProduct.runSteer(arguments, timeout: 120)
    }

    @Test("tokenize prints the Hugging Face ids as a JSON array")
    func tokenize() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: model + "/tokenized.json"))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        let first = cases[0]
        guard let result = try steer(["tokenize", "--model", model, "--text", first["text"] as! String]) else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let ids = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [Int]
        #expect(ids == first["ids"] as! [Int])
        guard let noBOS = try steer(["tokenize", "--model", model, "--text", first["text"] as! String, "--no-bos"])
        else { return }
        let idsNoBOS = try JSONSerialization.jsonObject(with: Data(noBOS.stdout.utf8)) as! [Int]
        #expect(idsNoBOS == Array(ids.dropFirst()))
    }

    @Test("forward writes tokens, logits and residual streams that match the reference")
    func forward() throws {
        let dir = try makeTemporaryDirectory("cli-forward")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try SafetensorsFile(path: model + "/reference.safetensors")
        let tokens = try reference.int32s("tokens.1")
        let out = dir + "/out.safetensors"
        guard
            let result = try steer([
                "forward", "--model", model, "--tokens", tokens.map(String.init).joined(separator: ","),
                "--layers", "0,2", "--out", out,
            ])
        else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let file = try SafetensorsFile(path: out)
        #expect(try file.int32s("tokens") == tokens)
        #expect(try file.info("logits").shape == [tokens.count, 512])
        #expect(
            maxAbsDifference(try file.floats("logits"), try reference.floats("logits.1")) <= Tolerance.logitsAbsolute)
        for layer in [0, 2] {
            let error = maxRelativeDifference(
                try file.floats("resid_post.\(layer)"), try reference.floats("resid_post.1.\(layer)"))
            #expect(error <= Tolerance.residualRelative)
        }
    }

    @Test(
        "activations writes transformers' hidden states after a block for every window; an existing output is refused")
    func activations() throws {
        let dir = try makeTemporaryDirectory("cli-activations")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try SafetensorsFile(path: model + "/reference.safetensors")
        let tokens = try reference.int32s("tokens.1")
        try NPY.write(NDArray(int32s: tokens + tokens, shape: [2, tokens.count]), to: dir + "/w.npy")
        let arguments = [
            "activations", "--model", model, "--layer", "2", "--windows", dir + "/w.npy", "--out", dir + "/a.npy",
            "--batch-windows", "1",
        ]
        guard let result = try steer(arguments) else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let array = try NPY.read(path: dir + "/a.npy")
        let width = array.shape[1]
        #expect(array.shape == [2 * (tokens.count - 1), width])
        let expected = Array(try reference.floats("resid_post.1.2")[width...])
        let rows = try array.floats()
        #expect(maxRelativeDifference(Array(rows[..<expected.count]), expected) <= Tolerance.residualRelative)
        #expect(Array(rows[expected.count...]) == Array(rows[..<expected.count]), "the same window gives the same rows")
        guard let again = try steer(arguments) else { return }
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"), "\(again.stderr)")
    }

    @Test("generate: greedy output matches the reference; steering changes it; bad input exits non-zero")
    func generate() throws {
        let dir = try makeTemporaryDirectory("cli-generate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard
            let plain = try steer([
                "generate", "--model", model, "--prompt", "the cat", "--n", "2", "--max-new-tokens", "6",
                "--temperature", "0", "--json",
            ])
        else { return }
        #expect(plain.status == 0, "\(plain.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as! [[String: Any]]
        #expect(rows.count == 2)
        #expect((rows[0]["tokens"] as! [Int]) == (rows[1]["tokens"] as! [Int]), "greedy rows are identical")
        let reference = try SafetensorsFile(path: model + "/reference.safetensors")
        let vector = try reference.floats("steer_vector")
        try NPY.write(NDArray(floats: vector, shape: [vector.count]), to: dir + "/v.npy")
        guard
            let steered = try steer([
                "generate", "--model", model, "--prompt", "the cat", "--n", "1", "--max-new-tokens", "6",
                "--temperature", "0", "--json", "--steer", dir + "/v.npy", "--scale", "40", "--layer", "1",
            ])
        else { return }
        #expect(steered.status == 0, "\(steered.stderr)")
        let steeredRows = try JSONSerialization.jsonObject(with: Data(steered.stdout.utf8)) as! [[String: Any]]
        #expect((steeredRows[0]["tokens"] as! [Int]) != (rows[0]["tokens"] as! [Int]))
        try NPY.write(NDArray(floats: [1, 2, 3], shape: [3]), to: dir + "/bad.npy")
        guard
            let bad = try steer([
                "generate", "--model", model, "--prompt", "x", "--steer", dir + "/bad.npy", "--scale", "1", "--layer",
                "1",
            ])
        else { return }
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("64 values"), "\(bad.stderr)")
        guard
            let deep = try steer([
                "generate", "--model", model, "--prompt", "x", "--steer", dir + "/v.npy", "--scale", "1", "--layer",
                "9",
            ])
        else { return }
        #expect(deep.status != 0 && deep.stderr.contains("out of range"), "\(deep.stderr)")
        guard let missing = try steer(["generate", "--model", dir + "/nope", "--prompt", "x"]) else { return }
        #expect(missing.status != 0 && missing.stderr.contains("not found"), "\(missing.stderr)")
    }

    @Test("sae encode / sae info / features")
    func saeCommands() throws {
        let dir = try makeTemporaryDirectory("cli-sae")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try SafetensorsFile(path: fixturePath("sae/reference.safetensors"))
        let inputs = try reference.floats("inputs")
        try NPY.write(NDArray(floats: inputs, shape: [40, 64]), to: dir + "/x.npy")
        guard
            let encoded = try steer(["sae", "encode", "--sae", sae, "--input", dir + "/x.npy", "--out", dir + "/f.npy"])
        else { return }
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let features = try NPY.read(path: dir + "/f.npy")
        #expect(features.shape == [40, 256])
        #expect(maxAbsDifference(try features.floats(), try reference.floats("features")) <= Tolerance.featureAbsolute)

        guard let info = try steer(["sae", "info", "--sae", sae, "--model", model, "--text", "the cat sat on the mat"])
        else { return }
        #expect(info.status == 0, "\(info.stderr)")
        for field in [
            "d_model:     64", "d_sae:       256", "blocks.1.hook_resid_post", "mean L0",
            "fraction of variance explained", "kind:        jumprelu", "path:        \(sae)", "thresholds:  min",
        ] {
            #expect(info.stdout.contains(field), "missing \(field) in \(info.stdout)")
        }
        guard let top = try steer(["features", "--model", model, "--sae", sae, "--text", "the cat", "--top", "3"])
        else { return }
        #expect(top.status == 0, "\(top.stderr)")
        let lines = top.stdout.split(separator: "\n")
        #expect(lines.count >= 2)
        #expect(lines.allSatisfy { $0.split(separator: "\t").count >= 3 })

        try NPY.write(NDArray(floats: [Float](repeating: 0, count: 10), shape: [2, 5]), to: dir + "/wrong.npy")
        guard
            let wrong = try steer([
                "sae", "encode", "--sae", sae, "--input", dir + "/wrong.npy", "--out", dir + "/g.npy",
            ])
        else { return }
        #expect(wrong.status != 0 && wrong.stderr.contains("64"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/g.npy"), "no partial output on failure")
        let otherModel = fixturePath("gemma2/mqa-odd-bf16")
        guard let mismatch = try steer(["features", "--model", otherModel, "--sae", sae, "--text", "x"]) else { return }
        #expect(
            mismatch.status != 0 && mismatch.stderr.contains("48") && mismatch.stderr.contains("64"),
            "\(mismatch.stderr)")
    }
}
