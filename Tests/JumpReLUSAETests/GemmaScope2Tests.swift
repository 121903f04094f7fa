import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@testable import JumpReLUSAE

/// Fixtures of Tests/Reference/make_gemma_scope_2_fixtures.py: one random SAE (d_model 64, width 256) in
/// the Gemma Scope 2 layout, stored as F32, BF16 and F16, with sae-lens' outputs for each.
enum GemmaScope2Fixtures {
    static let folder = "resid_post/layer_1_width_256_l0_small"
    static let variants = ["f32", "bf16", "f16"]
    static func path(_ variant: String) -> String { fixturePath("sae/gemma_scope_2/\(variant)/\(folder)") }
    static let reference = fixturePath("sae/gemma_scope_2/reference.safetensors")

    /// A copy of the f32 folder in a fresh temporary directory (under `resid_post/`), for editing.
    static func copy() throws -> String {
        let dir = try makeTemporaryDirectory("gs2") + "/resid_post/layer_1_width_256_l0_small"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for file in ["config.json", "params.safetensors"] {
            try FileManager.default.copyItem(atPath: path("f32") + "/" + file, toPath: dir + "/" + file)
        }
        return dir
    }

    /// Rewrites `dir/config.json` with `edit` applied.
    static func editConfig(_ dir: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: dir + "/config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    /// Rewrites `dir/params.safetensors` from the f32 fixture's tensors with `edit` applied.
    static func editParams(_ dir: String, _ edit: (inout [(name: String, values: [Float], shape: [Int])]) -> Void)
        throws
    {
        let file = try SafetensorsFile(path: path("f32") + "/params.safetensors")
        var tensors = try file.tensorNames.sorted().map {
            (name: $0, values: try file.floats($0), shape: try file.info($0).shape)
        }
        edit(&tensors)
        var writer = SafetensorsWriter()
        for tensor in tensors { try writer.add(tensor.name, floats: tensor.values, shape: tensor.shape) }
        try writer.write(to: dir + "/params.safetensors")
    }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }
}

@Suite("Gemma Scope 2 dictionaries (params.safetensors + config.json)")
struct GemmaScope2Tests {
    typealias F = GemmaScope2Fixtures

    @Test("features and reconstructions match sae-lens' Gemma 3 loader within 1e-5", arguments: F.variants)
    func parity(variant: String) throws {
        let sae = try JumpReLUSAE(path: F.path(variant))
        let reference = try SafetensorsFile(path: F.reference)
        let x = try SAEFixtures.matrix(reference, "inputs")
        let features = try sae.encode(x)
        let expected = try reference.floats("\(variant).features")
        #expect(maxAbsDifference(features.values, expected) <= Tolerance.featureAbsolute)
        // The same features fire (the fixture keeps every pre-activation ≥ 1e-3 from its threshold).
        #expect(zip(features.values, expected).allSatisfy { ($0 == 0) == ($1 == 0) })
        #expect(expected.contains { $0 != 0 } && expected.contains { $0 == 0 })
        let reconstruction = try sae.decode(features)
        #expect(
            maxAbsDifference(reconstruction.values, try reference.floats("\(variant).reconstruction"))
                <= Tolerance.featureAbsolute)
        try checkFeatureDictionary(sae)
    }

    @Test("the stored dtypes are F32, BF16 and F16, and each loads as its exact float32 upcast")
    func dtypes() throws {
        for (variant, dtype) in zip(F.variants, [TensorDType.f32, .bf16, .f16]) {
            let file = try SafetensorsFile(path: F.path(variant) + "/params.safetensors")
            for name in file.tensorNames { #expect(try file.info(name).dtype == dtype, "\(variant) \(name)") }
            let sae = try JumpReLUSAE(path: F.path(variant))
            #expect(sae.parameters.threshold == (try file.floats("threshold")))
            #expect(sae.parameters.encoder.values == (try file.floats("w_enc")))
        }
        // Rounding changes the values, so the fingerprints differ; the same values give the same one.
        let prints = try F.variants.map { try JumpReLUSAE(path: F.path($0)).descriptor.fingerprint }
        #expect(Set(prints).count == 3)
        #expect(try JumpReLUSAE(path: F.path("bf16")).descriptor.fingerprint == prints[1])
    }

    @Test("site, name and shapes come from config.json and the folder; params.safetensors itself also loads")
    func siteAndName() throws {
        let sae = try JumpReLUSAE(path: F.path("f32"))
        #expect(sae.descriptor.site == ActivationSite(layer: 1))
        #expect(sae.descriptor.site?.transformerLensName == "blocks.1.hook_resid_post")
        #expect(sae.descriptor.name == "resid_post/layer_1_width_256_l0_small")
        #expect(sae.descriptor.inputWidth == 64 && sae.descriptor.featureCount == 256)
        let file = try JumpReLUSAE(path: F.path("f32") + "/params.safetensors")
        #expect(file.descriptor.fingerprint == sae.descriptor.fingerprint)
        #expect(try JumpReLUSAE(path: F.path("f32"), site: ActivationSite(layer: 7)).descriptor.site?.layer == 7)
        // The hook point decides the layer, not the folder name.
        let dir = try F.copy()
        try F.editConfig(dir) {
            $0["hf_hook_point_in"] = "model.layers.9.output"
            $0["hf_hook_point_out"] = "model.layers.9.output"
        }
        #expect(try JumpReLUSAE(path: dir).descriptor.site == ActivationSite(layer: 9))
        // Optional fields may be absent; hf_hook_point_out may be absent or null.
        try F.editConfig(dir) { config in
            for key in ["hf_hook_point_out", "width", "l0", "model_name", "affine_connection", "type"] {
                config.removeValue(forKey: key)
            }
        }
        #expect(try JumpReLUSAE(path: dir).descriptor.site == ActivationSite(layer: 9))
        try F.editConfig(dir) { $0["hf_hook_point_out"] = NSNull() }
        #expect(try JumpReLUSAE(path: dir).descriptor.fingerprint == sae.descriptor.fingerprint)
    }

    @Test("hook-point mapping: block outputs only, with or without language_model")
    func hookPoints() {
        #expect(GemmaScope2.residualSite("model.layers.9.output") == ActivationSite(layer: 9))
        #expect(GemmaScope2.residualSite("model.language_model.layers.30.output") == ActivationSite(layer: 30))
        #expect(GemmaScope2.residualSite("layers.0.output") == ActivationSite(layer: 0))
        for other in [
            "model.layers.9.self_attn.o_proj.input", "model.layers.9.post_feedforward_layernorm.output",
            "model.layers.9.pre_feedforward_layernorm.output", "model.layers.x.output", "model.layers.-1.output",
            "model.layers.9.output.extra", "model.embed_tokens.output", "",
        ] {
            #expect(GemmaScope2.residualSite(other) == nil, "\(other)")
        }
    }

    @Test(
        "attention-output, MLP-output and transcoder dictionaries are refused, naming the hook point",
        arguments: [
            ("model.layers.4.self_attn.o_proj.input", nil, nil, "attention output"),
            ("model.layers.4.post_feedforward_layernorm.output", nil, nil, "MLP output"),
            (
                "model.layers.4.pre_feedforward_layernorm.output", "model.layers.4.post_feedforward_layernorm.output",
                false, "transcoder"
            ),
            ("model.layers.4.output", nil, true, "affine_connection = true"),
            ("model.embed_tokens.output", nil, nil, "other than the residual stream"),
        ] as [(String, String?, Bool?, String)])
    func refusedHookPoints(hookIn: String, hookOut: String?, affine: Bool?, expected: String) throws {
        let dir = try F.copy()
        try F.editConfig(dir) { config in
            config["hf_hook_point_in"] = hookIn
            config["hf_hook_point_out"] = hookOut ?? hookIn
            config["affine_connection"] = affine ?? false
        }
        let text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains(expected), "\(text)")
        #expect(text.contains(hookIn) && text.contains("config.json"), "\(text)")
        #expect(text.contains("model.layers.<L>.output"), "says what is supported: \(text)")
        // An explicit layer does not make another site acceptable.
        let forced = F.message { _ = try JumpReLUSAE(path: dir, site: ActivationSite(layer: 4)) }
        #expect(forced == text)
    }

    @Test("an affine_skip_connection tensor is refused even when config.json does not say so")
    func affineTensor() throws {
        let dir = try F.copy()
        try F.editParams(dir) {
            $0.append((name: "affine_skip_connection", values: [Float](repeating: 0, count: 64 * 64), shape: [64, 64]))
        }
        let text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("affine_skip_connection") && text.contains("params.safetensors"), "\(text)")
    }

    @Test("config.json problems: missing, not JSON, unknown or missing architecture, missing hook point, width")
    func badConfig() throws {
        let dir = try F.copy()
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        var text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("config.json is not") && text.contains(dir), "\(text)")

        try Data("{\"architecture\": ".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains(dir + "/config.json") && text.contains("JSON"), "\(text)")

        try FileManager.default.removeItem(atPath: dir + "/config.json")
        try FileManager.default.copyItem(atPath: F.path("f32") + "/config.json", toPath: dir + "/config.json")
        try F.editConfig(dir) { $0["architecture"] = "topk" }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("architecture 'topk'") && text.contains("jump_relu"), "\(text)")

        try F.editConfig(dir) { $0.removeValue(forKey: "architecture") }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'architecture' is missing"), "\(text)")

        try F.editConfig(dir) {
            $0["architecture"] = "jump_relu"
            $0.removeValue(forKey: "hf_hook_point_in")
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'hf_hook_point_in' is missing"), "\(text)")

        try F.editConfig(dir) {
            $0["hf_hook_point_in"] = 12
            $0.removeValue(forKey: "hf_hook_point_out")
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'hf_hook_point_in' is 12, expected a string"), "\(text)")

        try F.editConfig(dir) {
            $0["hf_hook_point_in"] = "model.layers.1.output"
            $0["width"] = 16384
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'width' is 16384") && text.contains("256 features"), "\(text)")
    }

    @Test("params.safetensors problems: missing key, wrong shape, NaN threshold, truncated file")
    func badParams() throws {
        let dir = try F.copy()
        try F.editParams(dir) { $0.removeAll { $0.name == "threshold" } }
        var text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("missing parameter 'threshold'") && text.contains("w_enc"), "\(text)")

        try F.editParams(dir) { $0.removeAll { $0.name == "w_dec" } }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("missing parameter 'w_dec'"), "\(text)")

        try F.editParams(dir) { tensors in
            let i = tensors.firstIndex { $0.name == "b_dec" }!
            tensors[i] = (name: "b_dec", values: [1, 2, 3], shape: [3])
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'b_dec' has shape [3], expected [64]"), "\(text)")

        try F.editParams(dir) { tensors in
            let i = tensors.firstIndex { $0.name == "w_dec" }!
            tensors[i].shape = [64, 256]
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'W_dec' has shape [64, 256], expected [256, 64]"), "\(text)")

        try F.editParams(dir) { tensors in
            let i = tensors.firstIndex { $0.name == "threshold" }!
            tensors[i].values[17] = .nan
        }
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains("'threshold' contains NaN or infinity at flat index 17"), "\(text)")

        let data = try Data(contentsOf: URL(fileURLWithPath: F.path("f32") + "/params.safetensors"))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: dir + "/params.safetensors"))
        text = F.message { _ = try JumpReLUSAE(path: dir) }
        #expect(text.contains(dir + "/params.safetensors"), "\(text)")
    }

    @Test("a Gemma Scope 2 folder of the npz fixture's values has the npz fixture's fingerprint")
    func fingerprintAcrossLayouts() throws {
        let npz = try JumpReLUSAE(path: SAEFixtures.gemmaScope)
        let dir = try F.copy()
        let p = npz.parameters
        var writer = SafetensorsWriter()
        try writer.add("w_enc", floats: p.encoder.values, shape: p.encoder.shape, as: .f32)
        try writer.add("w_dec", floats: p.decoder.values, shape: p.decoder.shape, as: .f32)
        try writer.add("b_enc", floats: p.encoderBias, shape: [p.encoderBias.count])
        try writer.add("b_dec", floats: p.decoderBias, shape: [p.decoderBias.count])
        try writer.add("threshold", floats: p.threshold, shape: [p.threshold.count])
        try writer.write(to: dir + "/params.safetensors")
        let converted = try JumpReLUSAE(path: dir)
        #expect(converted.descriptor.fingerprint == npz.descriptor.fingerprint)
        #expect(converted.descriptor.site == npz.descriptor.site)
        // ...and it reproduces the npz fixture's sae-lens outputs.
        let reference = try SafetensorsFile(path: SAEFixtures.reference)
        let features = try converted.encode(try SAEFixtures.matrix(reference, "inputs"))
        #expect(maxAbsDifference(features.values, try reference.floats("features")) <= Tolerance.featureAbsolute)
    }

    @Test("steer sae info shows a Gemma Scope 2 folder's name, site, shapes and fingerprint")
    func saeInfo() throws {
        guard let result = try BuiltProduct.runSteer(["sae", "info", "--sae", F.path("bf16")]) else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let sae = try JumpReLUSAE(path: F.path("bf16"))
        for line in [
            "name:        resid_post/layer_1_width_256_l0_small", "site:        blocks.1.hook_resid_post",
            "d_model:     64", "d_sae:       256", "fingerprint: \(sae.descriptor.fingerprint.hex)",
        ] {
            #expect(result.stdout.contains(line), "\(line)\n\(result.stdout)")
        }
        let dir = try F.copy()
        try F.editConfig(dir) { $0["hf_hook_point_in"] = "model.layers.1.self_attn.o_proj.input" }
        guard let refused = try BuiltProduct.runSteer(["sae", "info", "--sae", dir]) else { return }
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("model.layers.1.self_attn.o_proj.input"), "\(refused.stderr)")
    }
}
