import Foundation
import SteeringCore

/// Converts the task folders of the SAE-TS authors' repository (github.com/slavachalnev/SAE-TS,
/// `steer_cfgs/<model>/<task>/`) into ``SteeringTask``s, so the paper's exact prompt sets, criteria and
/// feature ids can be evaluated here (Docs/Tasks.md, "Importing the authors' tasks").
///
/// A task folder holds:
/// - `criteria.json`: a list of `{"name", "score", "coherence"}`; like the authors' analysis, the first
///   entry is used (`score` → `behaviour_criterion`, `coherence` → `coherence_criterion`);
/// - `feature_steer.json`: `{"sae_load_method", "repo_id", "filename", "hp", "layer", "features": [[id, w], …]}`,
///   the SAE-direct baseline → `sae_direct_features`;
/// - `optimised_steer.json`: the same layout, what SAE-TS and pinv target → `targets`;
/// - `act_steer.json`: `{"pos": […], "neg": […], "layer", "hp"?, "validation"?}`, the CAA prompt sets.
///
/// Either of the two feature files may be absent (the other is used for both lists). `act_steer.json` is
/// absent from some folders (e.g. `london_65k`); pass another folder's file as `actSteer` then.
public enum SAETSTaskImport {
    /// The files a task folder may hold.
    public static let fileNames = ["criteria.json", "feature_steer.json", "optimised_steer.json", "act_steer.json"]

    /// The task folders `path` names: a task folder, one of its JSON files, or a folder of task folders
    /// (e.g. `steer_cfgs/gemma2`), sorted by name.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` when there is no task folder there.
    public static func taskFolders(at path: String) throws(PipelineError) -> [String] {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .invalidInput(what: "SAE-TS task path \(path)", problem: "does not exist")
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if !isDirectory.boolValue {
            guard fileNames.contains(url.lastPathComponent) else {
                throw .invalidInput(
                    what: "SAE-TS task path \(path)",
                    problem: "is not one of \(fileNames.joined(separator: ", ")); give a task folder such as "
                        + "SAE-TS/steer_cfgs/gemma2/anger, one of its files, or steer_cfgs/gemma2 for all of them")
            }
            return [url.deletingLastPathComponent().path]
        }
        if isTaskFolder(url.path) { return [url.path] }
        let children = ((try? manager.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
        let folders = children.map { url.appendingPathComponent($0).path }.filter(isTaskFolder)
        guard !folders.isEmpty else {
            throw .invalidInput(
                what: "SAE-TS task path \(path)",
                problem: "holds no task folder (a folder with criteria.json, feature_steer.json or "
                    + "optimised_steer.json); give e.g. SAE-TS/steer_cfgs/gemma2 or SAE-TS/steer_cfgs/gemma2/anger")
        }
        return folders
    }

    /// Whether `path` is a folder holding `criteria.json` or a feature file.
    static func isTaskFolder(_ path: String) -> Bool {
        ["criteria.json", "feature_steer.json", "optimised_steer.json"].contains {
            FileManager.default.fileExists(atPath: path + "/" + $0)
        }
    }

    /// `prefix` + the folder name, lowercased, with every character a task name cannot hold replaced by `_`.
    public static func taskName(forFolder folder: String, prefix: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")
        let base = URL(fileURLWithPath: folder).lastPathComponent.lowercased()
        return prefix + String(base.map { allowed.contains($0) ? $0 : "_" })
    }

    /// Reads the task folder `folder` and returns the validated task.
    /// - Parameters:
    ///   - name: The task's name; by default ``taskName(forFolder:prefix:)``.
    ///   - prefix: Put before the folder name when `name` is nil (`saets-` keeps imports apart from the
    ///     built-in tasks of the same names).
    ///   - actSteer: An `act_steer.json` to use instead of the folder's own (required when it has none).
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming the file and the field.
    public static func importTask(
        folder: String, name: String? = nil, prefix: String = "saets-", actSteer: String? = nil
    ) throws(PipelineError) -> SteeringTask {
        let folderURL = URL(fileURLWithPath: folder).standardizedFileURL
        func file(_ fileName: String) -> String { folderURL.appendingPathComponent(fileName).path }
        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

        let criteriaPath = file("criteria.json")
        guard exists(criteriaPath) else {
            throw .invalidInput(
                what: "SAE-TS task folder \(folderURL.path)", problem: "has no criteria.json; every task folder has one"
            )
        }
        let criteria = try JSONFile(path: criteriaPath)
        let criteriaList = try criteria.list(criteria.root, "")
        guard let firstCriterion = criteriaList.first else {
            throw criteria.fail("", "is an empty list; give one {\"name\", \"score\", \"coherence\"} object")
        }
        let criterion = try criteria.object(firstCriterion, "[0]")
        let paperName = try criteria.string(criterion, "[0]", "name")
        let behaviour = try criteria.string(criterion, "[0]", "score")
        let coherence = try criteria.string(criterion, "[0]", "coherence")

        let featurePath = file("feature_steer.json"), optimisedPath = file("optimised_steer.json")
        let direct = exists(featurePath) ? try FeatureFile(path: featurePath) : nil
        let optimised = exists(optimisedPath) ? try FeatureFile(path: optimisedPath) : nil
        guard let primary = optimised ?? direct else {
            throw .invalidInput(
                what: "SAE-TS task folder \(folderURL.path)",
                problem: "has neither feature_steer.json nor optimised_steer.json; one of them gives the features")
        }
        if let direct, let optimised {
            guard direct.layer == optimised.layer else {
                throw .invalidInput(
                    what: "SAE-TS task folder \(folderURL.path)",
                    problem: "feature_steer.json says layer \(direct.layer) but optimised_steer.json says layer "
                        + "\(optimised.layer); a task here has one layer")
            }
            guard direct.dictionary == optimised.dictionary else {
                throw .invalidInput(
                    what: "SAE-TS task folder \(folderURL.path)",
                    problem: "feature_steer.json uses SAE '\(direct.dictionary)' but optimised_steer.json uses "
                        + "'\(optimised.dictionary)'; a task here indexes one dictionary")
            }
        }

        let actPath = actSteer ?? file("act_steer.json")
        guard exists(actPath) else {
            if actSteer != nil { throw .invalidInput(what: "act_steer file \(actPath)", problem: "does not exist") }
            throw .invalidInput(
                what: "SAE-TS task folder \(folderURL.path)",
                problem: "has no act_steer.json, so CAA has no prompt sets; pass --act-steer with another "
                    + "task's act_steer.json (e.g. ../london/act_steer.json for london_65k)")
        }
        let act = try JSONFile(path: actPath)
        let actRoot = try act.object(act.root, "")
        let positive = try act.prompts(actRoot, "pos")
        let negative = try act.prompts(actRoot, "neg")
        let actLayer = try act.int(actRoot, "", "layer")
        guard actLayer == primary.layer else {
            throw act.fail(
                "layer",
                "is \(actLayer) but \(URL(fileURLWithPath: primary.path).lastPathComponent) says layer "
                    + "\(primary.layer); CAA must read the layer that is steered")
        }
        try act.checkHookPoint(actRoot, layer: actLayer)

        let model = folderURL.deletingLastPathComponent().lastPathComponent
        let task = SteeringTask(
            name: name ?? taskName(forFolder: folderURL.path, prefix: prefix),
            description: "\(paperName) (SAE-TS task \(model)/\(folderURL.lastPathComponent), imported from the "
                + "authors' steer_cfgs)",
            layer: primary.layer, dictionary: primary.dictionary, targets: primary.features,
            saeDirectFeatures: (direct ?? primary).features, positivePrompts: positive, negativePrompts: negative,
            behaviourCriterion: behaviour, coherenceCriterion: coherence)
        try task.validate(source: "task imported from SAE-TS folder \(folderURL.path)")
        return task
    }

    /// One of the authors' feature files (`feature_steer.json`, `optimised_steer.json`).
    struct FeatureFile {
        let path: String
        let layer: Int
        let dictionary: String
        let features: [FeatureTarget]

        init(path: String) throws(PipelineError) {
            let file = try JSONFile(path: path)
            let root = try file.object(file.root, "")
            self.path = path
            layer = try file.int(root, "", "layer")
            try file.checkHookPoint(root, layer: layer)
            let method = try file.optionalString(root, "sae_load_method") ?? "saelens"
            switch method {
            case "gemmascope":
                // google/gemma-scope-2b-pt-res + layer_12/width_16k/average_l0_82/params.npz
                //   → gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82
                var repo = try file.string(root, "", "repo_id")
                if repo.hasPrefix("google/") { repo.removeFirst("google/".count) }
                var filename = try file.string(root, "", "filename")
                if filename.hasSuffix("/params.npz") { filename.removeLast("/params.npz".count) }
                dictionary = repo + "/" + filename
            case "saelens":
                dictionary = try file.string(root, "", "sae")
            default:
                throw file.fail(
                    "sae_load_method",
                    "is '\(method)'; the authors' files use 'gemmascope' (repo_id + filename) "
                        + "or 'saelens' (sae)")
            }
            var features = [FeatureTarget]()
            for (index, entry) in try file.list(root["features"], "features").enumerated() {
                let field = "features[\(index)]"
                guard case .list(let pair) = entry, pair.count == 2 else {
                    throw file.fail(field, "is \(entry.shown); expected [feature id, weight], e.g. [4111, 1]")
                }
                guard case .integer(let id) = pair[0] else {
                    throw file.fail(field + "[0]", "is \(pair[0].shown); expected an integer feature id")
                }
                let weight: Double
                switch pair[1] {
                case .integer(let value): weight = Double(value)
                case .number(let value): weight = value
                default: throw file.fail(field + "[1]", "is \(pair[1].shown); expected a number (the weight)")
                }
                features.append(FeatureTarget(feature: id, weight: Float(weight)))
            }
            guard !features.isEmpty else { throw file.fail("features", "is empty; give at least one [id, weight]") }
            self.features = features
        }
    }

    /// A JSON value that keeps booleans, integers and other numbers apart.
    indirect enum Node: Decodable {
        case bool(Bool), integer(Int), number(Double), string(String), list([Node]), object([String: Node]), null

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let value = try? c.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? c.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? c.decode(Double.self) {
                self = .number(value)
            } else if let value = try? c.decode(String.self) {
                self = .string(value)
            } else if let value = try? c.decode([Node].self) {
                self = .list(value)
            } else {
                self = .object(try c.decode([String: Node].self))
            }
        }

        /// A short rendering for messages.
        var shown: String {
            switch self {
            case .bool(let value): return "\(value)"
            case .integer(let value): return "\(value)"
            case .number(let value): return "\(value)"
            case .string(let value): return "\"\(value)\""
            case .list: return "a list"
            case .object: return "an object"
            case .null: return "null"
            }
        }
    }

    /// A parsed JSON file and typed accessors whose errors name the file and the field.
    struct JSONFile {
        let path: String
        let root: Node

        init(path: String) throws(PipelineError) {
            self.path = path
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .invalidInput(
                    what: "SAE-TS file \(path)", problem: "cannot be read (\(error.localizedDescription))")
            }
            do {
                root = try JSONDecoder().decode(Node.self, from: data)
            } catch {
                var detail = "\(error)"
                if case DecodingError.dataCorrupted(let context) = error {
                    detail =
                        (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
                        ?? context.debugDescription
                }
                throw .invalidInput(what: "SAE-TS file \(path)", problem: "is not valid JSON (\(detail))")
            }
        }

        func fail(_ field: String, _ problem: String) -> PipelineError {
            .invalidInput(
                what: field.isEmpty ? "SAE-TS file \(path)" : "SAE-TS file \(path), field '\(field)'", problem: problem)
        }

        static func join(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : parent + "." + key }

        func object(_ value: Node, _ field: String) throws(PipelineError) -> [String: Node] {
            guard case .object(let object) = value else { throw fail(field, "is \(value.shown); expected an object") }
            return object
        }

        func list(_ value: Node?, _ field: String) throws(PipelineError) -> [Node] {
            guard let value else { throw fail(field, "is missing; expected a list") }
            guard case .list(let list) = value else { throw fail(field, "is \(value.shown); expected a list") }
            return list
        }

        func string(_ object: [String: Node], _ parent: String, _ key: String) throws(PipelineError) -> String {
            guard let value = object[key] else { throw fail(Self.join(parent, key), "is missing") }
            guard case .string(let text) = value else {
                throw fail(Self.join(parent, key), "is \(value.shown); expected a string")
            }
            return text
        }

        func optionalString(_ object: [String: Node], _ key: String) throws(PipelineError) -> String? {
            guard let value = object[key] else { return nil }
            if case .null = value { return nil }
            guard case .string(let text) = value else { throw fail(key, "is \(value.shown); expected a string") }
            return text
        }

        func int(_ object: [String: Node], _ parent: String, _ key: String) throws(PipelineError) -> Int {
            guard let value = object[key] else { throw fail(Self.join(parent, key), "is missing") }
            guard case .integer(let number) = value else {
                throw fail(Self.join(parent, key), "is \(value.shown); expected an integer")
            }
            return number
        }

        /// `hp`, when present, must be the residual stream after block `layer`.
        func checkHookPoint(_ object: [String: Node], layer: Int) throws(PipelineError) {
            guard let hp = try optionalString(object, "hp") else { return }
            guard hp == "blocks.\(layer).hook_resid_post" else {
                throw fail(
                    "hp",
                    "is '\(hp)'; only blocks.\(layer).hook_resid_post (the residual stream after block "
                        + "'layer' = \(layer)) can be steered here")
            }
        }

        /// A CAA prompt set: a list of plain strings.
        func prompts(_ object: [String: Node], _ key: String) throws(PipelineError) -> [String] {
            guard let value = object[key] else { throw fail(key, "is missing; expected a list of statements") }
            var out = [String]()
            for (index, entry) in try list(value, key).enumerated() {
                switch entry {
                case .string(let text): out.append(text)
                case .list, .object:
                    throw fail(
                        "\(key)[\(index)]",
                        "is a chat-format example; only plain statements are supported "
                            + "(CAA here averages plain prompts)")
                default: throw fail("\(key)[\(index)]", "is \(entry.shown); expected a string")
                }
            }
            return out
        }
    }
}
