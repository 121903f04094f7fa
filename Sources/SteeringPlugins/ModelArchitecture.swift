import Foundation
public import SteeringCore
import TensorFormats

/// Which architecture a checkpoint holds: `model_type` of a Hugging Face directory's config.json, or
/// `general.architecture` of a GGUF file.
public enum ModelArchitecture {
    /// The architecture name of the checkpoint at `path`.
    /// - Throws: ``SteeringError`` naming the file and what is missing.
    public static func detect(path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SteeringError.io(
                path: path, problem: "not found; pass a Hugging Face checkpoint directory or a .gguf file")
        }
        if isDirectory.boolValue {
            let config = path + "/config.json"
            guard let data = FileManager.default.contents(atPath: config) else {
                throw SteeringError.io(
                    path: config, problem: "missing: a checkpoint directory needs config.json (or pass a .gguf file)")
            }
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let type = json["model_type"] as? String
            else {
                throw SteeringError.io(
                    path: config, problem: "has no string 'model_type'; cannot tell the architecture")
            }
            return type
        }
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw SteeringError.io(
                path: path, problem: "is neither a checkpoint directory nor a readable GGUF file (\(error))")
        }
        guard case .string(let architecture)? = file.value("general.architecture") else {
            throw SteeringError.io(path: path, problem: "GGUF metadata has no string 'general.architecture'")
        }
        return architecture
    }
}

extension PluginRegistry {
    /// The backend for the checkpoint at `options.path`: `name` when given, otherwise the one
    /// registered for the checkpoint's architecture.
    public func backend(forModelAt options: PluginOptions, name: String?) throws -> any ModelBackend {
        if let name { return try backend(name, options) }
        let path = try options.requirePath(for: "model")
        return try backend(try backendName(forArchitecture: try ModelArchitecture.detect(path: path)), options)
    }
}
