import Foundation
import Pipeline
import SteeringCore

/// The files the embedded demo ships under `Demo/` (written by `Demo/recipe/`).
struct DemoAssets {
    let directory: String
    let model: String
    /// The measuring SAE (Gemma Scope layout) and the wider SAE whose decoder rows are the probes.
    let sae: String
    let probeSAE: String
    let calibration: String
    let taskFiles: [String]

    /// Finds the assets in `directory` (default: `Demo` in the current directory).
    init(directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory + "/model/config.json", isDirectory: &isDirectory) else {
            throw PipelineError.invalidInput(
                what: "demo directory \(directory)",
                problem: "has no model/config.json; run `steer demo` from the repository root or pass --demo-directory")
        }
        self.directory = directory
        model = directory + "/model"
        func saeFolder(width: String) throws -> String {
            let root = directory + "/sae"
            let layers =
                (try? FileManager.default.contentsOfDirectory(atPath: root))?.filter { $0.hasPrefix("layer_") } ?? []
            for layer in layers.sorted() {
                let widthDir = "\(root)/\(layer)/\(width)"
                if let variants = try? FileManager.default.contentsOfDirectory(atPath: widthDir),
                    let first = variants.filter({ $0.hasPrefix("average_l0_") }).sorted().first
                {
                    return "\(widthDir)/\(first)"
                }
            }
            throw PipelineError.invalidInput(
                what: "demo directory \(directory)", problem: "has no sae/layer_*/\(width)/average_l0_*/params.npz")
        }
        sae = try saeFolder(width: "width_2k")
        probeSAE = try saeFolder(width: "width_8k")
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
    }

    /// Reads a demo task file: the recipe's camelCase layout with its feature evidence, mapped onto
    /// ``SteeringTask`` (the evidence is kept for the report, not used).
    static func task(_ path: String) throws -> SteeringTask {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw PipelineError.invalidInput(what: "demo task \(path)", problem: "is not a JSON object")
        }
        func string(_ key: String) throws -> String {
            guard let value = object[key] as? String else {
                throw PipelineError.invalidInput(what: "demo task \(path)", problem: "field '\(key)' is missing")
            }
            return value
        }
        func strings(_ key: String) throws -> [String] {
            guard let value = object[key] as? [String], !value.isEmpty else {
                throw PipelineError.invalidInput(
                    what: "demo task \(path)", problem: "field '\(key)' is missing or empty")
            }
            return value
        }
        func targets(_ key: String) throws -> [FeatureTarget] {
            guard let items = object[key] as? [[String: Any]], !items.isEmpty else {
                throw PipelineError.invalidInput(
                    what: "demo task \(path)", problem: "field '\(key)' is missing or empty")
            }
            return try items.map { item in
                guard let feature = (item["feature"] as? NSNumber)?.intValue else {
                    throw PipelineError.invalidInput(
                        what: "demo task \(path)", problem: "'\(key)' has an entry without a feature")
                }
                return FeatureTarget(feature: feature, weight: (item["weight"] as? NSNumber)?.floatValue ?? 1)
            }
        }
        guard let layer = (object["layer"] as? NSNumber)?.intValue else {
            throw PipelineError.invalidInput(what: "demo task \(path)", problem: "field 'layer' is missing")
        }
        return SteeringTask(
            name: try string("name"), description: (object["description"] as? String) ?? "", layer: layer,
            dictionary: (object["dictionary"] as? String) ?? "", targets: try targets("targets"),
            saeDirectFeatures: try targets("saeDirectFeatures"), positivePrompts: try strings("positivePrompts"),
            negativePrompts: try strings("negativePrompts"), behaviourCriterion: try string("behaviourCriterion"),
            coherenceCriterion: try string("coherenceCriterion"), lexicon: object["lexicon"] as? [String])
    }
}
