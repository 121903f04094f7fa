import SteeringCore

/// Reads an estimator's hyper-parameters from the string options of ``PluginOptions`` (CLI flags,
/// config files), with errors that name the estimator, the key and the bad value.
struct EstimatorOptionReader {
    let estimator: String
    let values: [String: String]

    /// Fails on keys the estimator does not know, listing the ones it does.
    init(estimator: String, values: [String: String], known: [String]) throws(SteeringError) {
        self.estimator = estimator
        self.values = values
        for key in values.keys.sorted() where !known.contains(key) {
            throw .invalidArgument(
                what: "option '\(key)' for estimator '\(estimator)'",
                problem:
                    "unknown option; known options: \(known.isEmpty ? "none" : known.sorted().joined(separator: ", "))")
        }
    }

    /// A floating-point option, or `fallback` when absent.
    func double(_ key: String, _ fallback: Double) throws(SteeringError) -> Double {
        guard let text = values[key] else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw invalid(key, text, "expected a finite number")
        }
        return value
    }

    /// An integer option, or `fallback` when absent.
    func int(_ key: String, _ fallback: Int) throws(SteeringError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw invalid(key, text, "expected an integer")
        }
        return value
    }

    /// A comma-separated list of numbers, or `fallback` when absent.
    func doubles(_ key: String, _ fallback: [Double]) throws(SteeringError) -> [Double] {
        guard let text = values[key] else { return fallback }
        var out: [Double] = []
        for part in text.split(separator: ",") {
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw invalid(key, text, "'\(part)' is not a finite number; give a comma-separated list like 0.1,1,10")
            }
            out.append(value)
        }
        return out
    }

    private func invalid(_ key: String, _ text: String, _ problem: String) -> SteeringError {
        .invalidArgument(what: "option '\(key)' = '\(text)' for estimator '\(estimator)'", problem: problem)
    }
}
