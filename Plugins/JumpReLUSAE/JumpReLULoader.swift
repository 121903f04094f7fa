import Foundation
import SteeringCore
import TensorFormats

extension JumpReLUSAE {
    /// Loads a Gemma Scope `params.npz` (or the folder holding one), a Gemma Scope 2 folder
    /// (`params.safetensors` + `config.json`, or that `params.safetensors`; see ``GemmaScope2``) or a
    /// SAELens directory (`cfg.json` + `sae_weights.safetensors`, architecture `jumprelu`).
    ///
    /// The site comes from `site` when given, else from the Gemma Scope 2 `hf_hook_point_in`, else from the
    /// SAELens `hook_name`, else from a Gemma Scope path component `layer_<L>` (residual stream after
    /// block L).
    public convenience init(path: String, site: ActivationSite? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw JumpReLUError.notFound(path: path)
        }
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        if isDirectory.boolValue {
            if GemmaScope2.isLayout(standardized) {
                try self.init(gemmaScope2Directory: standardized, site: site)
            } else if FileManager.default.fileExists(atPath: standardized + "/cfg.json") {
                try self.init(saeLensDirectory: standardized, site: site)
            } else if FileManager.default.fileExists(atPath: standardized + "/params.npz") {
                try self.init(gemmaScopeFile: standardized + "/params.npz", site: site)
            } else {
                throw JumpReLUError.notFound(path: path)
            }
        } else if URL(fileURLWithPath: standardized).lastPathComponent == "params.safetensors" {
            let directory = URL(fileURLWithPath: standardized).deletingLastPathComponent().path
            try self.init(gemmaScope2Directory: directory, site: site)
        } else {
            try self.init(gemmaScopeFile: standardized, site: site)
        }
    }

    /// Loads a Gemma Scope `params.npz` (STORED or DEFLATE members; float32, or bfloat16 saved as 2-byte void).
    convenience init(gemmaScopeFile path: String, site: ActivationSite?) throws {
        let archive = try NPZ.read(path: path)
        // Some exports spell the matrices w_enc / w_dec; SAELens renames them the same way.
        var arrays = [String: NDArray]()
        for name in archive.names {
            let key = name.hasPrefix("w_") ? "W_" + name.dropFirst(2) : name
            arrays[key] = try archive.array(name)
        }
        func values(_ key: String) throws -> (values: [Float], shape: [Int]) {
            guard let array = arrays[key] else {
                throw JumpReLUError.missingKey(path: path, key: key, available: arrays.keys.sorted())
            }
            return (try array.floats(treatVoid2AsBFloat16: true), array.shape)
        }
        if let scaling = arrays["scaling_factor"],
            try scaling.floats(treatVoid2AsBFloat16: true).contains(where: { $0 != 1 })
        {
            throw JumpReLUError.unsupported(
                path: path, problem: "a 'scaling_factor' other than 1 is not supported; fold it into W_enc first")
        }
        let parameters = try Self.assemble(path: path, values)
        let name = Self.gemmaScopeName(path) ?? URL(fileURLWithPath: path).lastPathComponent
        try self.init(parameters: parameters, name: name, site: site ?? Self.gemmaScopeSite(path), path: path)
    }

    /// Loads a SAELens directory.
    convenience init(saeLensDirectory directory: String, site: ActivationSite?) throws {
        let cfgPath = directory + "/cfg.json"
        guard let data = FileManager.default.contents(atPath: cfgPath),
            let cfg = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw JumpReLUError.unsupported(path: cfgPath, problem: "cfg.json is missing or not a JSON object")
        }
        let architecture = (cfg["architecture"] as? String) ?? "standard"
        guard architecture == "jumprelu" else {
            throw JumpReLUError.unsupported(
                path: cfgPath,
                problem: "architecture '\(architecture)' is not a JumpReLU SAE; only 'jumprelu' is supported")
        }
        if let normalize = cfg["normalize_activations"] as? String, !["none", ""].contains(normalize) {
            throw JumpReLUError.unsupported(
                path: cfgPath, problem: "normalize_activations '\(normalize)' is not supported (Gemma Scope uses none)")
        }
        if (cfg["apply_b_dec_to_input"] as? Bool) == true {
            throw JumpReLUError.unsupported(
                path: cfgPath, problem: "apply_b_dec_to_input = true is not supported (Gemma Scope encodes raw x)")
        }
        let weightsPath = directory + "/sae_weights.safetensors"
        let file = try SafetensorsFile(path: weightsPath)
        func values(_ key: String) throws -> (values: [Float], shape: [Int]) {
            if key == "threshold", !file.contains("threshold"), file.contains("log_threshold") {
                let info = try file.info("log_threshold")
                return (try file.floats("log_threshold").map { Foundation.exp($0) }, info.shape)
            }
            guard file.contains(key) else {
                throw JumpReLUError.missingKey(path: weightsPath, key: key, available: file.tensorNames.sorted())
            }
            return (try file.floats(key), try file.info(key).shape)
        }
        let parameters = try Self.assemble(path: weightsPath, values)
        let metadata = cfg["metadata"] as? [String: Any]
        let hookName = (metadata?["hook_name"] as? String) ?? (cfg["hook_name"] as? String)
        let configuredSite = hookName.flatMap { ActivationSite(transformerLensName: $0) }
        let name =
            (cfg["sae_id"] as? String) ?? (metadata?["sae_id"] as? String)
            ?? URL(fileURLWithPath: directory).lastPathComponent
        try self.init(parameters: parameters, name: name, site: site ?? configuredSite, path: directory)
    }

    /// Reads the five parameters through `values`, checking shapes and finiteness.
    static func assemble(
        path: String, _ values: (String) throws -> (values: [Float], shape: [Int])
    ) throws -> JumpReLUParameters {
        let encoder = try values("W_enc")
        guard encoder.shape.count == 2 else {
            throw JumpReLUError.wrongShape(path: path, key: "W_enc", expected: [-1, -1], got: encoder.shape)
        }
        let d = encoder.shape[0], s = encoder.shape[1]
        let decoder = try values("W_dec"), encoderBias = try values("b_enc")
        let decoderBias = try values("b_dec"), threshold = try values("threshold")
        for (key, expected, got) in [
            ("W_dec", [s, d], decoder.shape), ("b_enc", [s], encoderBias.shape), ("b_dec", [d], decoderBias.shape),
            ("threshold", [s], threshold.shape),
        ] where expected != got {
            throw JumpReLUError.wrongShape(path: path, key: key, expected: expected, got: got)
        }
        for (key, array) in [
            ("W_enc", encoder.values), ("W_dec", decoder.values), ("b_enc", encoderBias.values),
            ("b_dec", decoderBias.values), ("threshold", threshold.values),
        ] {
            if let index = array.firstIndex(where: { !$0.isFinite }) {
                throw JumpReLUError.nonFinite(path: path, key: key, index: index)
            }
        }
        return JumpReLUParameters(
            encoder: Matrix(rows: d, columns: s, values: encoder.values),
            decoder: Matrix(rows: s, columns: d, values: decoder.values), encoderBias: encoderBias.values,
            decoderBias: decoderBias.values, threshold: threshold.values)
    }

    /// `layer_12/width_16k/average_l0_82` from a Gemma Scope path, when present.
    static func gemmaScopeName(_ path: String) -> String? {
        let parts = URL(fileURLWithPath: path).pathComponents
        guard let index = parts.lastIndex(where: { $0.hasPrefix("layer_") }), index + 2 < parts.count else {
            return nil
        }
        return parts[index...(index + 2)].joined(separator: "/")
    }

    /// The residual-stream site named by a `layer_<L>` path component.
    static func gemmaScopeSite(_ path: String) -> ActivationSite? {
        let parts = URL(fileURLWithPath: path).pathComponents
        guard let part = parts.last(where: { $0.hasPrefix("layer_") }), let layer = Int(part.dropFirst(6)) else {
            return nil
        }
        return ActivationSite(layer: layer)
    }
}
