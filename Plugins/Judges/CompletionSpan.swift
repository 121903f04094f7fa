import SteeringCore

/// The token sequence of a judged text and the positions that belong to the completion.
///
/// The sequence is `request.tokens` when given (the whole generated row, BOS and prompt included),
/// otherwise the encoding of `prompt + completion` with BOS (or, when that encoding does not start
/// with the prompt's own tokens, the two encoded separately and joined). The prompt part is the
/// first `encode(prompt, addBOS: true).count` tokens. The completion runs from there up to and
/// including its first end-of-sequence token, so EOS padding after a finished row is never scored.
struct CompletionSpan: Sendable {
    /// The whole sequence.
    var tokens: [Int32]
    /// Completion positions in `tokens`; never empty and never position 0.
    var completion: Range<Int>

    /// Locates the completion of `request` for `model`, or explains why there is nothing to score.
    static func locate(_ request: JudgeRequest, model: any ModelBackend) -> Result<CompletionSpan, JudgeError> {
        let descriptor = model.descriptor
        let promptTokens = model.encode(request.prompt, addBOS: true)
        var tokens = request.tokens
        if tokens.isEmpty {
            let joined = model.encode(request.prompt + request.completion, addBOS: true)
            tokens =
                joined.starts(with: promptTokens)
                ? joined : promptTokens + model.encode(request.completion, addBOS: false)
        }
        let start = max(1, promptTokens.count)
        guard tokens.count > start else {
            return .failure(
                .unscorable(
                    reason: "the sequence has \(tokens.count) tokens and the prompt takes \(start), "
                        + "so there are no completion tokens"))
        }
        guard tokens.count <= descriptor.maxPositions else {
            return .failure(
                .unscorable(
                    reason: "the sequence has \(tokens.count) tokens; \(descriptor.name) accepts at most "
                        + "\(descriptor.maxPositions)"))
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= descriptor.vocabularySize }) {
            return .failure(
                .unscorable(reason: "token id \(bad) is outside the vocabulary 0..<\(descriptor.vocabularySize)"))
        }
        var end = tokens.count
        if let eos = tokens[start...].firstIndex(of: descriptor.eosToken) { end = eos + 1 }
        return .success(CompletionSpan(tokens: tokens, completion: start..<end))
    }

    /// Locates each request's completion and scores it with `measure`, which receives the span and the
    /// sequence cut after the last completion token. Requests run one per forward pass: a batch's shape
    /// changes the float rounding of the matrix products, and a text's score must not depend on which
    /// other texts share its batch. A request whose span cannot be located or whose `measure` throws
    /// fails alone, with `failure` as the reason's prefix.
    static func scoreEach(
        _ requests: [JudgeRequest], model: any ModelBackend, failure: String,
        _ measure: (CompletionSpan, [Int32]) throws -> Double
    ) -> [Result<Double, JudgeError>] {
        requests.map { request in
            switch locate(request, model: model) {
            case .failure(let error): return .failure(error)
            case .success(let span):
                do {
                    return .success(try measure(span, Array(span.tokens[0..<span.completion.upperBound])))
                } catch {
                    return .failure(.unscorable(reason: "\(failure): \(error)"))
                }
            }
        }
    }
}

/// The `p`-th percentile (0...100) of `values` with linear interpolation between order statistics
/// (numpy's default); `nil` for an empty input.
func percentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let position = min(max(p, 0), 100) / 100 * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// `1 + 9·clamp(fraction, 0, 1)`: the 1–10 judge scale from a fraction of the way between two anchors.
func scaleScore(_ fraction: Double) -> Double {
    1 + 9 * min(1, max(0, fraction.isNaN ? 0 : fraction))
}
