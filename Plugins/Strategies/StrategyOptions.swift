import Foundation
import SteeringCore

/// Reads a strategy's options from ``StrategyInputs/options``, applying defaults and recording the value
/// used for every option that changes the output, so the caller can put them in the vector's recipe.
///
/// Values may be typed (`.bool`, `.int`, `.double`) or strings, as a command line passes them
/// (`"true"`, `"0.5"`). Unknown keys are rejected with the list of accepted ones.
struct StrategyOptionReader {
    let strategy: String
    private let given: [String: RecipeValue]
    /// Every output-affecting option with the value actually used (defaults included).
    private(set) var resolved: [String: RecipeValue] = [:]

    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for a key not in `accepted`.
    init(strategy: String, options: [String: RecipeValue], accepted: [String]) throws(SteeringError) {
        self.strategy = strategy
        self.given = options
        for key in options.keys.sorted() where !accepted.contains(key) {
            let list =
                accepted.isEmpty ? "it takes no options" : "accepted: \(accepted.sorted().joined(separator: ", "))"
            throw .invalidArgument(
                what: "option '\(key)' for strategy '\(strategy)'", problem: "unknown option; \(list)")
        }
    }

    /// A boolean option (`true`/`false`, also given as the strings `"true"`, `"false"`, `"1"`, `"0"`).
    mutating func bool(_ key: String, default value: Bool, record: Bool = true) throws(SteeringError) -> Bool {
        var result = value
        if let raw = given[key] {
            switch raw {
            case .bool(let b): result = b
            case .int(let i) where i == 0 || i == 1: result = i == 1
            case .string(let s) where ["true", "1", "yes"].contains(s.lowercased()): result = true
            case .string(let s) where ["false", "0", "no"].contains(s.lowercased()): result = false
            default: throw invalid(key, raw, "expected true or false")
            }
        }
        if record { resolved[key] = .bool(result) }
        return result
    }

    /// A finite number, optionally restricted to `range`.
    mutating func double(
        _ key: String, default value: Double, in range: ClosedRange<Double>? = nil, record: Bool = true
    ) throws(SteeringError) -> Double {
        var result = value
        if let raw = given[key] {
            switch raw {
            case .double(let d): result = d
            case .int(let i): result = Double(i)
            case .string(let s):
                guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else {
                    throw invalid(key, raw, "expected a number")
                }
                result = d
            default: throw invalid(key, raw, "expected a number")
            }
        }
        guard result.isFinite else { throw invalid(key, .double(result), "must be a finite number") }
        if let range, !range.contains(result) {
            throw invalid(key, .double(result), "must lie in \(range.lowerBound)...\(range.upperBound)")
        }
        if record { resolved[key] = .double(result) }
        return result
    }

    /// Whether the caller set `key` at all.
    func isGiven(_ key: String) -> Bool { given[key] != nil }

    /// A positive integer.
    mutating func positiveInt(_ key: String, default value: Int, record: Bool = true) throws(SteeringError) -> Int {
        var result = value
        if let raw = given[key] {
            switch raw {
            case .int(let i): result = i
            case .double(let d) where d.rounded() == d && abs(d) < 1e9: result = Int(d)
            case .string(let s):
                guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw invalid(key, raw, "expected a positive integer")
                }
                result = i
            default: throw invalid(key, raw, "expected a positive integer")
            }
        }
        guard result > 0 else { throw invalid(key, .int(result), "must be a positive integer") }
        if record { resolved[key] = .int(result) }
        return result
    }

    /// One of `choices`.
    mutating func choice(_ key: String, default value: String, choices: [String], record: Bool = true)
        throws(SteeringError) -> String
    {
        var result = value
        if let raw = given[key] {
            guard case .string(let s) = raw, choices.contains(s) else {
                throw invalid(key, raw, "expected one of \(choices.joined(separator: ", "))")
            }
            result = s
        }
        if record { resolved[key] = .string(result) }
        return result
    }

    /// Records a derived value that changes the output but was not given directly.
    mutating func record(_ key: String, _ value: RecipeValue) { resolved[key] = value }

    private func invalid(_ key: String, _ raw: RecipeValue, _ problem: String) -> SteeringError {
        .invalidArgument(what: "option \(key)=\(raw.canonicalJSON) for strategy '\(strategy)'", problem: problem)
    }
}
