import Foundation
import SteeringCore

/// Finds tasks: built-in ones by name, others from JSON files.
public enum TaskCatalog {
    /// Names of the built-in tasks, in the paper's order.
    public static var builtinNames: [String] { BuiltinTasks.all.map(\.name) }

    /// The built-in task file `name`, verbatim, or `nil` if there is none.
    public static func builtinJSON(_ name: String) -> String? {
        BuiltinTasks.all.first { $0.name == name }?.json
    }

    /// The built-in task `name`, decoded and validated.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` listing the built-in names.
    public static func builtin(_ name: String) throws(PipelineError) -> SteeringTask {
        guard let json = builtinJSON(name) else {
            throw .invalidInput(
                what: "task '\(name)'",
                problem: "no built-in task has this name; built-in tasks: \(builtinNames.joined(separator: ", ")); "
                    + "or give the path of a task JSON file")
        }
        return try decode(Data(json.utf8), source: "built-in task '\(name)'")
    }

    /// Every built-in task, decoded and validated.
    public static func builtins() throws(PipelineError) -> [SteeringTask] {
        var out = [SteeringTask]()
        for name in builtinNames { out.append(try builtin(name)) }
        return out
    }

    /// The user's task catalog: `$STEER_TASKS_DIR`, else `~/.config/steer/tasks`. `steer tasks import`
    /// writes there by default, and ``load(_:)`` finds `NAME.json` there by name.
    public static var userDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["STEER_TASKS_DIR"], !dir.isEmpty { return dir }
        return NSHomeDirectory() + "/.config/steer/tasks"
    }

    /// Names of the tasks in ``userDirectory`` (its `NAME.json` files), sorted; empty when it does not exist.
    public static var userNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: userDirectory)) ?? []
        return files.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A built-in task by name, a task of the user catalog by name, or a task file by path.
    ///
    /// A value containing `/` or ending in `.json` is a path; otherwise a built-in name is tried first, then
    /// `NAME.json` in ``userDirectory``, then a file of that name.
    public static func load(_ nameOrPath: String) throws(PipelineError) -> SteeringTask {
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".json")
        if !looksLikePath, builtinJSON(nameOrPath) != nil { return try builtin(nameOrPath) }
        let catalogPath = userDirectory + "/" + nameOrPath + ".json"
        if !looksLikePath, FileManager.default.fileExists(atPath: catalogPath) {
            return try load(contentsOf: catalogPath)
        }
        if looksLikePath || FileManager.default.fileExists(atPath: nameOrPath) {
            return try load(contentsOf: nameOrPath)
        }
        return try builtin(nameOrPath)
    }

    /// The task file at `path`, decoded and validated.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming the file and, where it applies,
    ///   the field.
    public static func load(contentsOf path: String) throws(PipelineError) -> SteeringTask {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .invalidInput(what: "task file \(path)", problem: "cannot be read (\(error.localizedDescription))")
        }
        return try decode(data, source: "task file \(path)")
    }

    /// Decodes and validates a task from JSON.
    /// - Parameter source: Names the task in messages (`task file PATH`, `built-in task 'NAME'`).
    public static func decode(_ data: Data, source: String) throws(PipelineError) -> SteeringTask {
        let task: SteeringTask
        // The demo recipes write their tasks in camelCase with their feature evidence (Demo/*/tasks); those read
        // as the demo reads them, so `--task Demo/gemma3-270m/tasks/love.json` works like any task file.
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            object["positivePrompts"] != nil, object["positive_prompts"] == nil
        {
            task = try DemoAssets.task(recipeLayout: object, source: source)
            try task.validate(source: source)
            return task
        }
        do {
            task = try JSONDecoder().decode(SteeringTask.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, source: source, data: data)
        } catch {
            throw .invalidInput(what: source, problem: "cannot be decoded (\(error))")
        }
        try task.validate(source: source)
        return task
    }

    /// JSON text for `task`: the verbatim file for an unchanged built-in task, otherwise a pretty-printed
    /// encoding with sorted keys.
    public static func json(for task: SteeringTask) throws -> String {
        if let builtin = builtinJSON(task.name), (try? self.builtin(task.name)) == task { return builtin }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(task), as: UTF8.self) + "\n"
    }

    /// Writes the built-in task `name` to `directory/name.json` (creating the directory), refusing to
    /// replace an existing file unless `overwrite`. Returns the path written.
    @discardableResult
    public static func export(_ name: String, to directory: String, overwrite: Bool = false) throws -> String {
        _ = try builtin(name)
        let json = builtinJSON(name)!
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(name).json").path
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw PipelineError.invalidInput(
                what: "export of task '\(name)'", problem: "\(path) already exists; pass --force to replace it")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(json.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PipelineError.invalidInput(
                what: "export of task '\(name)'", problem: "cannot write \(path) (\(error))")
        }
        return path
    }

    /// Writes `task` as `directory/NAME.json` (creating the directory; the JSON of ``json(for:)``), refusing
    /// to replace an existing file unless `overwrite`. Returns the path written.
    @discardableResult
    public static func write(_ task: SteeringTask, to directory: String, overwrite: Bool = false) throws -> String {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(task.name).json").path
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw PipelineError.invalidInput(
                what: "task '\(task.name)'", problem: "\(path) already exists; pass --force to replace it")
        }
        let json = try self.json(for: task)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(json.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PipelineError.invalidInput(what: "task '\(task.name)'", problem: "cannot write \(path) (\(error))")
        }
        return path
    }

    /// Turns a decoding error into a message naming the source and the field path (`targets[1].weight`).
    static func describe(_ error: DecodingError, source: String, data: Data) -> PipelineError {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out
        }
        func at(_ keys: [any CodingKey]) -> String { keys.isEmpty ? source : "\(source), field '\(path(keys))'" }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidInput(
                what: at(context.codingPath + [key]), problem: "is missing; see Docs/Tasks.md for the format")
        case .typeMismatch(let type, let context):
            return .invalidInput(
                what: at(context.codingPath), problem: "has the wrong type; expected \(typeName(type))")
        case .valueNotFound(let type, let context):
            return .invalidInput(what: at(context.codingPath), problem: "is null; expected \(typeName(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .invalidInput(what: source, problem: "is not valid JSON (\(syntaxProblem(in: data)))")
            }
            return .invalidInput(what: at(context.codingPath), problem: context.debugDescription)
        @unknown default:
            return .invalidInput(what: source, problem: "cannot be decoded (\(error))")
        }
    }

    /// Foundation's description of a JSON syntax error, with its character offset as a line and column.
    private static func syntaxProblem(in data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return "the top level must be an object"
        } catch {
            let detail = ((error as NSError).userInfo["NSDebugDescription"] as? String) ?? "\(error)"
            guard let range = detail.range(of: #"character (\d+)"#, options: .regularExpression),
                let offset = Int(detail[range].dropFirst("character ".count))
            else { return detail }
            let prefix = data.prefix(offset)
            let line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return "\(detail) (line \(line), column \(column))"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        let names: [(Any.Type, String)] = [
            (String.self, "a string"), (Int.self, "an integer"), (Float.self, "a number"), (Double.self, "a number"),
            ([Any].self, "a list"), ([String: Any].self, "an object"),
        ]
        return names.first { ObjectIdentifier($0.0) == ObjectIdentifier(type) }?.1 ?? "\(type)"
    }
}
