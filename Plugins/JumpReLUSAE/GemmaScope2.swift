import Foundation
import SteeringCore
import TensorFormats

/// The Gemma Scope 2 layout (JumpReLU dictionaries for Gemma 3): one folder per SAE, e.g.
/// `resid_post/layer_12_width_16k_l0_medium/`, holding `params.safetensors` (lowercase `w_enc [d, n]`,
/// `w_dec [n, d]`, `b_enc [n]`, `b_dec [d]`, `threshold [n]`; F32, BF16 or F16) and `config.json`
/// (`architecture` `jump_relu`, `hf_hook_point_in`, `hf_hook_point_out`, `width`, `l0`, and
/// `affine_connection` for transcoders).
///
/// Only SAEs on the residual stream after a block (`hf_hook_point_in` = `model.layers.<L>.output`, the
/// `resid_post` families) are loaded: that is the site this framework steers and reads. Attention-output
/// and MLP-output SAEs, transcoders (input and output hook points differ) and affine skip connections are
/// refused with a message naming the hook point.
enum GemmaScope2 {
    /// The folder names Gemma Scope 2 groups its dictionaries under; kept in the dictionary's name.
    static let families: Set<String> = [
        "resid_post", "resid_post_all", "attn_out", "attn_out_all", "mlp_out", "mlp_out_all", "transcoder",
        "transcoder_all", "clt",
    ]

    /// Whether `directory` holds a Gemma Scope 2 dictionary (`params.safetensors`).
    static func isLayout(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/params.safetensors")
    }

    /// `resid_post/layer_12_width_16k_l0_medium` for a folder inside a known family, else the folder name.
    static func name(of directory: String) -> String {
        let parts = URL(fileURLWithPath: directory).pathComponents
        guard let last = parts.last else { return directory }
        if parts.count >= 2, families.contains(parts[parts.count - 2]) { return parts[parts.count - 2] + "/" + last }
        return last
    }

    /// The residual-stream site `hookPoint` names (`model.layers.<L>.output`, optionally under
    /// `language_model.`), or `nil` for any other hook point.
    static func residualSite(_ hookPoint: String) -> ActivationSite? {
        var parts = hookPoint.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        while let first = parts.first, ["model", "language_model"].contains(first) { parts.removeFirst() }
        guard parts.count == 3, parts[0] == "layers", parts[2] == "output", let layer = Int(parts[1]), layer >= 0,
            parts[1].allSatisfy(\.isASCII)
        else { return nil }
        return ActivationSite(layer: layer)
    }

    /// What a hook point other than a block output reads, for messages.
    static func kind(of hookPoint: String) -> String {
        if hookPoint.hasSuffix("self_attn.o_proj.input") { return "the attention output (an attn_out SAE)" }
        if hookPoint.hasSuffix("post_feedforward_layernorm.output") { return "the MLP output (an mlp_out SAE)" }
        if hookPoint.hasSuffix("pre_feedforward_layernorm.output") { return "the MLP input (a transcoder)" }
        return "a site other than the residual stream after a block"
    }

    static let supported =
        "only residual-stream SAEs are supported: hf_hook_point_in = 'model.layers.<L>.output' "
        + "(Gemma Scope 2's resid_post folders), read and steered at blocks.<L>.hook_resid_post"
}

extension JumpReLUSAE {
    /// Loads a Gemma Scope 2 folder (see ``GemmaScope2``). `site` replaces the layer that
    /// `hf_hook_point_in` names; the hook point must still be a residual-stream one.
    convenience init(gemmaScope2Directory directory: String, site: ActivationSite?) throws {
        let configPath = directory + "/config.json"
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw JumpReLUError.unsupported(
                path: directory,
                problem: "params.safetensors is here but config.json is not; a Gemma Scope 2 folder has both "
                    + "(download the folder's config.json too)")
        }
        let config: [String: Any]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: configPath))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw JumpReLUError.unsupported(path: configPath, problem: "is not a JSON object")
            }
            config = object
        } catch let error as JumpReLUError {
            throw error
        } catch {
            throw JumpReLUError.unsupported(
                path: configPath, problem: "cannot be read as JSON (\(error.localizedDescription))")
        }
        func string(_ key: String) throws -> String? {
            guard let value = config[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else {
                throw JumpReLUError.unsupported(path: configPath, problem: "'\(key)' is \(value), expected a string")
            }
            return text
        }
        guard let architecture = try string("architecture") else {
            throw JumpReLUError.unsupported(
                path: configPath, problem: "'architecture' is missing; Gemma Scope 2 SAEs say \"jump_relu\"")
        }
        guard architecture == "jump_relu" else {
            throw JumpReLUError.unsupported(
                path: configPath,
                problem: "architecture '\(architecture)' is not a JumpReLU SAE; only 'jump_relu' is supported")
        }
        guard let hookIn = try string("hf_hook_point_in") else {
            throw JumpReLUError.unsupported(
                path: configPath,
                problem: "'hf_hook_point_in' is missing, so the site is unknown; \(GemmaScope2.supported)")
        }
        if let hookOut = try string("hf_hook_point_out"), hookOut != hookIn {
            throw JumpReLUError.unsupported(
                path: configPath,
                problem: "this is a transcoder (hf_hook_point_in '\(hookIn)', hf_hook_point_out '\(hookOut)'): "
                    + "it does not reconstruct its input; \(GemmaScope2.supported)")
        }
        if let affine = config["affine_connection"], !(affine is NSNull) {
            guard let flag = affine as? Bool else {
                throw JumpReLUError.unsupported(
                    path: configPath, problem: "'affine_connection' is \(affine), expected true or false")
            }
            if flag {
                throw JumpReLUError.unsupported(
                    path: configPath,
                    problem: "affine_connection = true (a skip transcoder on '\(hookIn)') is not supported; "
                        + GemmaScope2.supported)
            }
        }
        guard let configuredSite = GemmaScope2.residualSite(hookIn) else {
            throw JumpReLUError.unsupported(
                path: configPath,
                problem: "hf_hook_point_in '\(hookIn)' reads \(GemmaScope2.kind(of: hookIn)); \(GemmaScope2.supported)")
        }

        let weightsPath = directory + "/params.safetensors"
        let file = try SafetensorsFile(path: weightsPath)
        if file.contains("affine_skip_connection") {
            throw JumpReLUError.unsupported(
                path: weightsPath,
                problem: "holds 'affine_skip_connection' (a skip transcoder), which is not supported; "
                    + GemmaScope2.supported)
        }
        func values(_ key: String) throws -> (values: [Float], shape: [Int]) {
            // Gemma Scope 2 spells the matrices w_enc / w_dec; accept W_enc / W_dec too.
            let stored = key.hasPrefix("W_") ? "w_" + key.dropFirst(2) : key
            for name in [stored, key] where file.contains(name) {
                return (try file.floats(name), try file.info(name).shape)
            }
            throw JumpReLUError.missingKey(path: weightsPath, key: stored, available: file.tensorNames.sorted())
        }
        let parameters = try Self.assemble(path: weightsPath, values)
        if let width = config["width"], !(width is NSNull) {
            guard let count = width as? Int else {
                throw JumpReLUError.unsupported(path: configPath, problem: "'width' is \(width), expected an integer")
            }
            guard count == parameters.featureCount else {
                throw JumpReLUError.unsupported(
                    path: configPath,
                    problem: "'width' is \(count) but params.safetensors holds \(parameters.featureCount) features "
                        + "(w_enc \(parameters.encoder.shape)); the folder mixes files of two SAEs")
            }
        }
        try self.init(
            parameters: parameters, name: GemmaScope2.name(of: directory), site: site ?? configuredSite,
            path: directory)
    }
}
