import ArgumentParser
import Foundation
import SteeringCore
import SteeringPlugins

/// `--model PATH`: a Hugging Face checkpoint directory or a GGUF file.
struct ModelOptions: ParsableArguments {
    @Option(
        help: """
            A Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer) or a .gguf model file.
            """)
    var model: String

    @Option(
        help: """
            Model backend registered in the plugin registry (default: the one for the checkpoint's model_type or \
            GGUF general.architecture).
            """)
    var backend: String?

    @Option(
        help: ArgumentHelp(
            "Resident weights: f32, f16 or bf16, copied once into huge-page memory (default: in place from the file).",
            discussion: """
                In place starts fastest; a copy loads in seconds but decodes about 1.5× faster. Another precision \
                than the file's rounds the weights, and artifacts made with it get other keys.
                """))
    var weights: String?

    func load() throws -> any ModelBackend {
        try Self.load(model, backend: backend, weights: weights)
    }

    /// The model at `path`, loaded by `backend` (default: the registry's backend for its architecture).
    static func load(_ path: String, backend: String? = nil, weights: String? = nil) throws -> any ModelBackend {
        try Steer.registry.backend(
            forModelAt: PluginOptions(path: path, values: weights.map { ["weights": $0] } ?? [:]), name: backend)
    }
}

/// `--sae PATH [--sae-layer L] [--dictionary NAME]`: a feature dictionary, loaded by the registry.
struct SAEOptions: ParsableArguments {
    @Option(
        help:
            "Gemma Scope params.npz (or its folder), a Gemma Scope 2 folder (params.safetensors + config.json) or a SAELens directory."
    )
    var sae: String

    @Option(help: "Layer whose residual stream the SAE reads, when the files do not say.")
    var saeLayer: Int?

    @Option(help: "Dictionary plugin that loads --sae (`steer plugins --kind dictionary`).")
    var dictionary = "jumprelu"

    func load() throws -> any FeatureDictionary {
        try Self.load(sae, layer: saeLayer, plugin: dictionary)
    }

    /// The layer `dictionary` reads, or an error asking for `--sae-layer` when its files do not say.
    static func site(of dictionary: any FeatureDictionary) throws -> ActivationSite {
        guard let site = dictionary.descriptor.site else {
            throw ValidationError("The SAE's layer is unknown; pass --sae-layer.")
        }
        return site
    }

    /// The dictionary at `path`, loaded by the plugin `plugin`.
    static func load(_ path: String, layer: Int? = nil, plugin: String = "jumprelu") throws -> any FeatureDictionary {
        try Steer.registry.dictionary(
            plugin, PluginOptions(path: path, values: layer.map { ["layer": String($0)] } ?? [:]))
    }
}

/// Tokens from `--text` (encoded with BOS unless `--no-bos`) or from `--tokens 2,651,...`.
struct InputTextOptions: ParsableArguments {
    @Option(help: "Text to encode.")
    var text: String?

    @Option(help: "Comma-separated token ids, used instead of --text.")
    var tokens: String?

    @Flag(help: "Do not prepend the BOS token to --text.")
    var noBos = false

    func validate() throws {
        guard (text == nil) != (tokens == nil) else { throw ValidationError("Give exactly one of --text or --tokens.") }
    }

    func resolve(with model: any ModelBackend) throws -> [Int32] {
        if let text { return model.encode(text, addBOS: !noBos) }
        var ids = [Int32]()
        for part in (tokens ?? "").split(separator: ",") {
            guard let id = Int32(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--tokens: '\(part)' is not an integer token id.")
            }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw ValidationError("--tokens: no token ids given.") }
        return ids
    }
}

/// Parses `0,12,25` into layer numbers.
func parseLayerList(_ text: String?) throws -> [Int] {
    guard let text, !text.isEmpty else { return [] }
    return try text.split(separator: ",").map { part in
        guard let layer = Int(part.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("'\(part)' is not a layer number.")
        }
        return layer
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Parses `NAME.KEY=VALUE` settings of plugins of one kind (`--estimator-option linear-adam.epochs=30`)
/// into values per plugin name, checking each name and key against what the plugin declared (`steer
/// plugins` lists them). `flag` names the option in messages.
func pluginOptionValues(_ assignments: [String], kind: PluginKind, flag: String) throws -> [String: [String: String]] {
    var values = [String: [String: String]]()
    for assignment in assignments {
        guard let equals = assignment.firstIndex(of: "="), let dot = assignment[..<equals].firstIndex(of: "."),
            dot > assignment.startIndex, assignment.index(after: dot) < equals
        else {
            throw ValidationError("\(flag) '\(assignment)': expected NAME.KEY=VALUE, e.g. \(flag) sae-ts.lambda=0.5.")
        }
        let name = String(assignment[..<dot]), key = String(assignment[assignment.index(after: dot)..<equals])
        try Steer.registry.checkOptionKeys([key], of: kind, named: name)
        let value = String(assignment[assignment.index(after: equals)...])
        if let earlier = values[name]?[key], earlier != value {
            throw ValidationError("\(flag) sets \(name).\(key) twice ('\(earlier)' and '\(value)').")
        }
        values[name, default: [:]][key] = value
    }
    return values
}

/// Refuses settings for plugins that are not being used: they would be silently ignored.
func checkPluginOptionsApply(_ values: [String: [String: String]], to used: [String], flag: String) throws {
    for name in values.keys.sorted() where !used.contains(name) {
        throw ValidationError(
            "\(flag) \(name).…: \(name) is not being used here (\(used.joined(separator: ", "))).")
    }
}
