/// A tokenizer file could not be loaded; the message names the file and what is wrong.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file involved.
    public var path: String
    /// What is wrong and what to do.
    public var problem: String

    /// An error about the file at `path`; `problem` says what is wrong.
    public init(path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    /// "path: problem".
    public var description: String { "\(path): \(problem)" }
}
