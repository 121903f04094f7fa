/// Errors raised by the framework core and by callers that validate user input against core types.
///
/// Every message says what was wrong, with the offending value, and what to do about it.
public enum SteeringError: Error, Sendable, Equatable {
    /// A user-supplied value is not acceptable (`what` names the flag, key or field).
    case invalidArgument(what: String, problem: String)
    /// A shape did not match what an operation needs.
    case shapeMismatch(what: String, expected: String, got: String)
    /// A layer or feature index is outside the valid range.
    case indexOutOfRange(what: String, index: Int, validRange: Range<Int>)
    /// No plugin of this kind is registered under `name`.
    case unknownPlugin(kind: String, name: String, available: [String])
    /// A file could not be read or written.
    case io(path: String, problem: String)
    /// Data contained NaN or infinity where finite numbers are required.
    case nonFinite(what: String, index: Int)
}

extension SteeringError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidArgument(let what, let problem):
            return "Invalid \(what): \(problem)"
        case .shapeMismatch(let what, let expected, let got):
            return "Shape mismatch for \(what): expected \(expected), got \(got)."
        case .indexOutOfRange(let what, let index, let range):
            return "\(what) \(index) is out of range; valid values are \(range.lowerBound)..<\(range.upperBound)."
        case .unknownPlugin(let kind, let name, let available):
            let list = available.isEmpty ? "none are registered" : "available: \(available.joined(separator: ", "))"
            return "Unknown \(kind) '\(name)'; \(list)."
        case .io(let path, let problem):
            return "\(path): \(problem)"
        case .nonFinite(let what, let index):
            return "\(what) contains a non-finite value (NaN or infinity) at flat index \(index); fix or regenerate it."
        }
    }
}

extension SteeringError: LocalizedErrorLike {}

/// Errors whose `description` is already a complete user-facing sentence.
public protocol LocalizedErrorLike: CustomStringConvertible {}
