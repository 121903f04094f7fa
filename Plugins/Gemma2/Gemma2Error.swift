import SteeringCore

/// Errors from loading or running a Gemma-2 checkpoint. Each message names the file, key or value
/// involved and what to do.
public enum Gemma2Error: Error, Sendable, Equatable {
    /// The checkpoint directory or one of its files is missing or unreadable.
    case missingFile(path: String, hint: String)
    /// `config.json` is not valid JSON or lacks a required key.
    case invalidConfig(path: String, problem: String)
    /// `model_type` is not one this backend implements.
    case unsupportedModelType(path: String, found: String, supported: [String])
    /// Tensors missing, unexpected or mis-shaped, all listed at once.
    case weightProblems(directory: String, problems: [String])
}

extension Gemma2Error: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "\(path): not found. \(hint)"
        case .invalidConfig(let path, let problem):
            return "\(path): \(problem)"
        case .unsupportedModelType(let path, let found, let supported):
            return "\(path): model_type '\(found)' is not supported by the gemma2 backend; "
                + "supported: \(supported.joined(separator: ", "))."
        case .weightProblems(let directory, let problems):
            let shown = problems.prefix(40).map { "  - \($0)" }.joined(separator: "\n")
            let more = problems.count > 40 ? "\n  … and \(problems.count - 40) more" : ""
            return "\(directory): the checkpoint does not match its config.json (\(problems.count) problems):\n"
                + shown + more + "\nCheck that config.json belongs to these weights and that every shard is complete."
        }
    }
}
