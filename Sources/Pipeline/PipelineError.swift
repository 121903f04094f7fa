import SteeringCore

/// Errors from the measurement, fitting and evaluation pipeline; each says what to do.
public enum PipelineError: Error, Sendable, Equatable {
    /// An input is unusable (`what` names it).
    case invalidInput(what: String, problem: String)
}

extension PipelineError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidInput(let what, let problem): return "\(what): \(problem)"
        }
    }
}
