import Foundation
import SteeringCore

/// The files the embedded demo ships under `Demo/` (written by `Demo/recipe/`).
public struct DemoAssets: Sendable {
    public let directory: String
    public let model: String
    /// The measuring SAE (Gemma Scope layout) and the wider SAE whose decoder rows are the probes.
    public let sae: String
    public let probeSAE: String
    public let calibration: String
    public private(set) var taskFiles: [String]
    /// A shipped effect dataset, when the demo has one.
    public let effects: String?

    /// Finds the assets in `directory` (default: `Demo` in the current directory).
    public init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory + "/model/config.json", isDirectory: &isDirectory) else {
            throw PipelineError.invalidInput(
                what: "demo directory \(directory)",
                problem: "has no model/config.json; run `steer demo` from the repository root or pass --demo-directory")
        }
        self.directory = directory
        model = directory + "/model"
        // The narrowest SAE measures effects; the widest other one supplies probe directions (as the
        // method uses the 65k Gemma Scope SAE's decoder rows as probes for the 16k SAE).
        let folders = try Self.saeFolders(root: directory + "/sae")
        guard folders.count >= 2, let narrow = folders.first, let wide = folders.last else {
            throw PipelineError.invalidInput(
                what: "demo directory \(directory)",
                problem: "needs two SAEs of different widths under sae/layer_*/width_*/average_l0_*/params.npz")
        }
        sae = narrow.path
        probeSAE = wide.path
        guard
            let text = ["calibration.jsonl", "calibration.txt"].map({ directory + "/" + $0 })
                .first(where: { FileManager.default.fileExists(atPath: $0) })
        else {
            throw PipelineError.invalidInput(
                what: "demo directory \(directory)", problem: "has no calibration.jsonl or calibration.txt")
        }
        calibration = text
        let taskDir = directory + "/tasks"
        taskFiles = ((try? FileManager.default.contentsOfDirectory(atPath: taskDir)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted().map { "\(taskDir)/\($0)" }
        guard !taskFiles.isEmpty else {
            throw PipelineError.invalidInput(what: "demo directory \(directory)", problem: "has no tasks/*.json")
        }
        effects = nil
    }

    /// The Gemma-3 demo's assets in `directory` (`Demo/gemma3-270m`: one Gemma Scope 2 dictionary under
    /// `sae/resid_post/`, `tasks/*.json`, `effects/<dictionary>.safetensors`) for the model file `model`.
    public init(gemma3Directory directory: String, model: String) throws {
        func fail(_ problem: String) -> PipelineError {
            .invalidInput(what: "demo directory \(directory)", problem: problem)
        }
        guard FileManager.default.fileExists(atPath: model) else {
            throw PipelineError.invalidInput(
                what: "model \(model)",
                problem: "does not exist; fetch it with Scripts/fetch-gemma3-270m.sh (or pass --model)")
        }
        let saeRoot = directory + "/sae/resid_post"
        guard
            let name = ((try? FileManager.default.contentsOfDirectory(atPath: saeRoot)) ?? []).sorted().first(where: {
                FileManager.default.fileExists(atPath: "\(saeRoot)/\($0)/params.safetensors")
            })
        else { throw fail("has no sae/resid_post/*/params.safetensors; restore it with `git checkout`") }
        let effects = "\(directory)/effects/\(name).safetensors"
        guard FileManager.default.fileExists(atPath: effects) else {
            throw fail("has no effects/\(name).safetensors; restore it with `git checkout`")
        }
        let taskDir = directory + "/tasks"
        let tasks = ((try? FileManager.default.contentsOfDirectory(atPath: taskDir)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted().map { "\(taskDir)/\($0)" }
        guard !tasks.isEmpty else { throw fail("has no tasks/*.json") }
        self.directory = directory
        self.model = model
        sae = "\(saeRoot)/\(name)"
        probeSAE = sae
        calibration = ""
        taskFiles = tasks
        self.effects = effects
    }

    /// The task files' names (file names without `.json`), in ``taskFiles`` order.
    public var taskNames: [String] {
        taskFiles.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
    }

    /// The same assets with only the task files named `names` (file names without `.json`).
    public func restricted(toTasks names: [String]) -> DemoAssets {
        var copy = self
        copy.taskFiles = zip(taskFiles, taskNames).filter { names.contains($0.1) }.map(\.0)
        return copy
    }

    /// `sae/layer_*/width_*/average_l0_*` folders holding a params.npz, narrowest first.
    public static func saeFolders(root: String) throws -> [(width: Int, path: String)] {
        let fm = FileManager.default
        var out = [(width: Int, path: String)]()
        for layer in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).filter({ $0.hasPrefix("layer_") }) {
            for width in ((try? fm.contentsOfDirectory(atPath: "\(root)/\(layer)")) ?? []).filter({
                $0.hasPrefix("width_")
            }) {
                let label = width.dropFirst("width_".count).lowercased()
                let multiplier = label.hasSuffix("m") ? 1 << 20 : label.hasSuffix("k") ? 1024 : 1
                guard let count = Int(label.trimmingCharacters(in: CharacterSet(charactersIn: "km"))) else { continue }
                let folder = "\(root)/\(layer)/\(width)"
                for variant in ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).sorted()
                where fm.fileExists(atPath: "\(folder)/\(variant)/params.npz") {
                    out.append((count * multiplier, "\(folder)/\(variant)"))
                    break
                }
            }
        }
        return out.sorted { $0.width < $1.width }
    }

    /// Reads a demo task file: the recipe's camelCase layout with its feature evidence, mapped onto
    /// ``SteeringTask`` (the evidence is kept for the report, not used).
    public static func task(_ path: String) throws -> SteeringTask {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw PipelineError.invalidInput(what: "demo task \(path)", problem: "is not a JSON object")
        }
        return try task(recipeLayout: object, source: "demo task \(path)")
    }

    /// A task in the recipes' camelCase layout, already parsed; `source` names it in messages.
    static func task(recipeLayout object: [String: Any], source: String) throws(PipelineError) -> SteeringTask {
        func string(_ key: String) throws(PipelineError) -> String {
            guard let value = object[key] as? String else {
                throw .invalidInput(what: source, problem: "field '\(key)' is missing")
            }
            return value
        }
        func strings(_ key: String) throws(PipelineError) -> [String] {
            guard let value = object[key] as? [String], !value.isEmpty else {
                throw .invalidInput(what: source, problem: "field '\(key)' is missing or empty")
            }
            return value
        }
        func targets(_ key: String) throws(PipelineError) -> [FeatureTarget] {
            guard let items = object[key] as? [[String: Any]], !items.isEmpty else {
                throw .invalidInput(what: source, problem: "field '\(key)' is missing or empty")
            }
            var out: [FeatureTarget] = []
            for item in items {
                guard let feature = (item["feature"] as? NSNumber)?.intValue else {
                    throw .invalidInput(what: source, problem: "'\(key)' has an entry without a feature")
                }
                out.append(FeatureTarget(feature: feature, weight: (item["weight"] as? NSNumber)?.floatValue ?? 1))
            }
            return out
        }
        guard let layer = (object["layer"] as? NSNumber)?.intValue else {
            throw .invalidInput(what: source, problem: "field 'layer' is missing")
        }
        return SteeringTask(
            name: try string("name"), description: (object["description"] as? String) ?? "", layer: layer,
            dictionary: (object["dictionary"] as? String) ?? "", targets: try targets("targets"),
            saeDirectFeatures: try targets("saeDirectFeatures"), positivePrompts: try strings("positivePrompts"),
            negativePrompts: try strings("negativePrompts"), behaviourCriterion: try string("behaviourCriterion"),
            coherenceCriterion: try string("coherenceCriterion"), lexicon: object["lexicon"] as? [String])
    }
}
