/// Errors from loading a Gemma-3 checkpoint (Hugging Face directory or GGUF file). Each message names
/// the file, key or tensor involved and what to do.
public enum Gemma3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The checkpoint or one of its files is missing or unreadable.
    case missingFile(path: String, hint: String)
    /// `config.json` or the GGUF metadata is invalid or lacks a required key.
    case invalidConfig(path: String, problem: String)
    /// The architecture is not one this backend implements.
    case unsupportedModelType(path: String, found: String, supported: [String])
    /// Tensors missing, unexpected or mis-shaped, all listed at once.
    case weightProblems(path: String, problems: [String])

    public var description: String {
        switch self {
        case .missingFile(let path, let hint):
            return "\(path): not found. \(hint)"
        case .invalidConfig(let path, let problem):
            return "\(path): \(problem)"
        case .unsupportedModelType(let path, let found, let supported):
            return "\(path): '\(found)' is not a model the gemma3 backend runs; it runs: "
                + "\(supported.joined(separator: ", ")). Pick another backend with --backend."
        case .weightProblems(let path, let problems):
            let shown = problems.prefix(40).map { "  - \($0)" }.joined(separator: "\n")
            let more = problems.count > 40 ? "\n  … and \(problems.count - 40) more" : ""
            return "\(path): the weights do not match the configuration (\(problems.count) problems):\n"
                + shown + more
                + "\nCheck that the configuration belongs to these weights and that the file is complete."
        }
    }
}
