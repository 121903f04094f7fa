/// A file in one of the tensor formats could not be read or written. The message names the file,
/// the tensor or member when there is one, and what is wrong.
public struct TensorFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file involved.
    public var path: String
    /// The tensor, member or array involved, if any.
    public var tensor: String?
    /// What is wrong and, where possible, what to do.
    public var problem: String

    public init(path: String, tensor: String? = nil, _ problem: String) {
        self.path = path
        self.tensor = tensor
        self.problem = problem
    }

    public var description: String {
        if let tensor { return "\(path): tensor '\(tensor)': \(problem)" }
        return "\(path): \(problem)"
    }
}
