/// Errors from loading a JumpReLU sparse autoencoder. Each message names the file and key.
public enum JumpReLUError: Error, Sendable, Equatable {
    /// The path holds no Gemma Scope `params.npz`, Gemma Scope 2 folder or SAELens directory.
    case notFound(path: String)
    /// A required parameter is absent.
    case missingKey(path: String, key: String, available: [String])
    /// A parameter has the wrong shape.
    case wrongShape(path: String, key: String, expected: [Int], got: [Int])
    /// A parameter contains NaN or infinity.
    case nonFinite(path: String, key: String, index: Int)
    /// The config names an architecture other than JumpReLU, a site or option that is not supported, or is
    /// unreadable.
    case unsupported(path: String, problem: String)
}

extension JumpReLUError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no SAE here. Pass a Gemma Scope params.npz (or its folder, e.g. "
                + "layer_12/width_16k/average_l0_82), a Gemma Scope 2 folder with params.safetensors and config.json "
                + "(e.g. resid_post/layer_12_width_16k_l0_medium) or a SAELens directory with cfg.json and "
                + "sae_weights.safetensors."
        case .missingKey(let path, let key, let available):
            return "\(path): missing parameter '\(key)'; the file has: \(available.joined(separator: ", "))."
        case .wrongShape(let path, let key, let expected, let got):
            return "\(path): parameter '\(key)' has shape \(got), expected \(expected)."
        case .nonFinite(let path, let key, let index):
            return "\(path): parameter '\(key)' contains NaN or infinity at flat index \(index); the file is corrupt."
        case .unsupported(let path, let problem):
            return "\(path): \(problem)"
        }
    }
}
