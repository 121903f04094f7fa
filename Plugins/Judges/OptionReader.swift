import Foundation
import SteeringCore

/// Typed access to `PluginOptions.values`, with errors that name the plugin and the option.
struct OptionReader {
    let options: PluginOptions
    let plugin: String

    /// Throws if a key outside `allowed` is present (catches typos such as `time-out`).
    func rejectUnknown(allowed: [String]) throws(SteeringError) {
        let unknown = options.values.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw .invalidArgument(
                what: "options for judge '\(plugin)'",
                problem: "unknown \(unknown.count == 1 ? "key" : "keys") \(unknown.joined(separator: ", ")); "
                    + "known keys: \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// The trimmed value of `key`, or `nil` when absent or empty.
    func string(_ key: String) -> String? {
        guard let raw = options.values[key] else { return nil }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// The value of `key` as a finite number.
    func double(_ key: String) throws(SteeringError) -> Double? {
        guard let text = string(key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw .invalidArgument(what: "\(plugin) option `\(key)`", problem: "'\(text)' is not a finite number")
        }
        return value
    }

    /// The value of `key` as an integer.
    func int(_ key: String) throws(SteeringError) -> Int? {
        guard let text = string(key) else { return nil }
        guard let value = Int(text) else {
            throw .invalidArgument(what: "\(plugin) option `\(key)`", problem: "'\(text)' is not an integer")
        }
        return value
    }

    /// The value of `key` as a boolean (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`).
    func bool(_ key: String) throws(SteeringError) -> Bool? {
        guard let text = string(key)?.lowercased() else { return nil }
        switch text {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default:
            throw .invalidArgument(
                what: "\(plugin) option `\(key)`", problem: "'\(text)' is not a boolean (use true or false)")
        }
    }

    /// The value of `key`, or an error saying it is required.
    func required(_ key: String, hint: String) throws(SteeringError) -> String {
        guard let value = string(key) else {
            throw .invalidArgument(what: "\(plugin) option `\(key)`", problem: "is required; \(hint)")
        }
        return value
    }
}
