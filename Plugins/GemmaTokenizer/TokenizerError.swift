/// A tokenizer file could not be loaded; the message names the file and what is wrong.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file involved.
    public var path: String
    /// What is wrong and what to do.
    public var problem: String

    public init(path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
