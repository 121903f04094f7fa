import ArgumentParser
import ArtifactStore
import Foundation
import SteeringCore
import TensorFormats

/// The file formats `steer vector export` writes.
enum VectorExportFormat: String, CaseIterable, ExpressibleByArgument {
    case npy, safetensors, gguf, json

    /// The format an output path's extension names, or nil.
    init?(path: String) {
        let lower = path.lowercased()
        guard let format = Self.allCases.first(where: { lower.hasSuffix(".\($0.rawValue)") }) else { return nil }
        self = format
    }
}

/// `steer vector export`: write one steering vector for another tool.
struct VectorExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a steering vector as .npy, .safetensors, a llama.cpp control-vector GGUF or JSON.",
        discussion: """
            npy: [d_model] float32. safetensors: tensor "vector" [d_model] F32 with the provenance as metadata. \
            gguf: a llama.cpp control vector, tensor direction.<L> for the residual after block L (0-based; \
            the same number our recipes use; L >= 1). json: {"vector", "layer", "norm", "provenance": {"key", \
            "kind", "algorithm", "version", "parameters", "inputs"}}. --layer defaults to the vector recipe's \
            "layer" parameter; GGUF needs one. Files are written atomically.
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(
        help: ArgumentHelp("A vector artifact (alias, key or unique key prefix) or a .npy file.", valueName: "vector"))
    var reference: String

    @Option(help: "Output format: npy, safetensors, gguf or json (default: from the --out extension).")
    var format: VectorExportFormat?

    @Option(help: ArgumentHelp("Output file.", valueName: "file"))
    var out: String

    @Option(help: "Block (0-based) whose output the vector steers; overrides the recipe's \"layer\".")
    var layer: Int?

    @Option(help: "controlvector.model_hint for GGUF: the model's llama.cpp architecture.")
    var modelHint = "gemma2"

    func validate() throws {
        guard format != nil || VectorExportFormat(path: out) != nil else {
            throw ValidationError("Give --format npy|safetensors|gguf|json, or an --out ending in one of those.")
        }
        if let layer, layer < 0 { throw ValidationError("--layer must be a block index >= 0, got \(layer).") }
    }

    func run() async throws {
        let vector = try ExportedVector.load(reference, store: storeOptions)
        let recipeLayer = vector.recipe?.parameters["layer"].flatMap { value -> Int? in
            if case .int(let number) = value { return number }
            return nil
        }
        if let layer, let recipeLayer, layer != recipeLayer {
            printError("note: --layer \(layer) overrides the recipe's layer \(recipeLayer)")
        }
        let chosenLayer = layer ?? recipeLayer
        let format = self.format ?? VectorExportFormat(path: out) ?? .npy
        let values = vector.values
        if format == .gguf || format == .json, let index = values.firstIndex(where: { !$0.isFinite }) {
            throw VectorExportFailure(
                "element \(index) of the vector is \(values[index]); \(format) needs finite values.")
        }
        switch format {
        case .npy:
            try NPY.write(NDArray(floats: values, shape: [values.count]), to: out)
        case .safetensors:
            var writer = SafetensorsWriter(metadata: vector.metadata(layer: chosenLayer))
            try writer.add("vector", floats: values, shape: [values.count])
            try writer.write(to: out)
        case .gguf:
            guard let chosenLayer else {
                throw VectorExportFailure(
                    "GGUF needs the layer: give --layer L (the block, 0-based, whose output the vector steers); "
                        + "the vector's recipe has no \"layer\" parameter.")
            }
            try LlamaControlVector(vector: values, afterBlock: chosenLayer, modelHint: modelHint).write(to: out)
        case .json:
            try AtomicFile.write(Array(vector.json(layer: chosenLayer).utf8), to: out)
        }
        let layerText = chosenLayer.map { ", layer \($0)" } ?? ""
        print("Exported \(vector.label) [\(values.count)]\(layerText) to \(out) (\(format.rawValue)).")
    }
}

/// A problem with the vector or the request, reported as `Error: <description>` without a usage line.
private struct VectorExportFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A steering vector and where it came from.
private struct ExportedVector {
    var values: [Float]
    /// The artifact key, for a vector from the store.
    var key: ContentDigest?
    /// The artifact's recipe, for a vector from the store.
    var recipe: Recipe?
    /// The .npy path and its content digest, for a vector from a file.
    var file: (path: String, digest: ContentDigest)?

    var label: String { key.map { "vector \($0.short)" } ?? "vector from \(file?.path ?? "?")" }

    /// Reads `reference`: a `.npy` file when it ends in `.npy`, else a vector artifact in the store.
    static func load(_ reference: String, store options: StoreOptions) throws -> ExportedVector {
        if reference.lowercased().hasSuffix(".npy") {
            let bytes = try MappedFile(path: reference)
            let array = try NPY.decode(bytes.bytes, source: reference)
            let values = try checkedShape(array.shape, of: "'\(reference)'") { try array.floats() }
            return ExportedVector(values: values, file: (reference, ContentDigest(of: bytes.bytes)))
        }
        let store = try options.open(readOnly: true)
        let key = try store.resolve(reference)
        guard let artifact = try store.get(key) else {
            throw ArtifactStoreError.unknownKey(key: key.hex, path: store.path)
        }
        guard artifact.header.kind == .vector else {
            throw VectorExportFailure(
                "artifact \(key.short) has kind '\(artifact.header.kind.rawValue)', not 'vector'; "
                    + "use `steer store export` for other artifacts.")
        }
        let values = try checkedShape(artifact.header.shape, of: "vector \(key.short)") { try artifact.floats() }
        return ExportedVector(values: values, key: key, recipe: artifact.recipe)
    }

    /// The values of a [d] or [1, d] array with d > 0.
    private static func checkedShape(_ shape: [Int], of what: String, _ read: () throws -> [Float]) throws -> [Float] {
        let isVector = (shape.count == 1 && shape[0] > 0) || (shape.count == 2 && shape[0] == 1 && shape[1] > 0)
        guard isVector else {
            throw VectorExportFailure(
                "\(what) has shape \(shape); a steering vector is 1-D [d_model] (or [1, d_model]).")
        }
        return try read()
    }

    /// The Euclidean norm, accumulated in Double.
    var norm: Double { values.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }

    /// The provenance as a JSON-like value.
    var provenance: RecipeValue {
        var fields: [String: RecipeValue] = ["key": key.map { .string($0.hex) } ?? .null]
        if let recipe {
            fields["kind"] = .string(recipe.kind.rawValue)
            fields["algorithm"] = .string(recipe.algorithm)
            fields["version"] = .int(recipe.version)
            fields["parameters"] = .object(recipe.parameters)
            fields["inputs"] = .object(recipe.inputs.mapValues { .string($0.hex) })
        }
        if let file {
            fields["source"] = .string(file.path)
            fields["inputs"] = .object(["file": .string(file.digest.hex)])
        }
        return .object(fields)
    }

    /// safetensors `__metadata__`: strings only.
    func metadata(layer: Int?) -> [String: String] {
        var metadata = [
            "format": "steer-vector", "norm": "\(norm)", "provenance": provenance.canonicalJSON,
            "hook": "resid_post",
        ]
        if let key { metadata["key"] = key.hex }
        if let recipe { metadata["algorithm"] = recipe.algorithm }
        if let layer { metadata["layer"] = String(layer) }
        return metadata
    }

    /// The JSON document: keys sorted, floats in their shortest round-tripping form.
    func json(layer: Int?) -> String {
        let vector = values.map { "\($0)" }.joined(separator: ", ")
        return """
            {
              "layer": \(layer.map(String.init) ?? "null"),
              "norm": \(norm),
              "provenance": \(StoreOutput.prettyJSON(provenance, indent: "  ")),
              "vector": [\(vector)]
            }

            """
    }
}
