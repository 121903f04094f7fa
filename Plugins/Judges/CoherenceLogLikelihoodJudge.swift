import Foundation
import SteeringCore

/// The two log-likelihood levels (nats per token) that the `coherence-loglik` judge maps to 1 and 10.
public struct LogLikelihoodAnchors: Sendable, Hashable, Codable {
    /// Mean log-likelihood scored 1 (and anything below it).
    public var low: Double
    /// Mean log-likelihood scored 10 (and anything above it).
    public var high: Double

    /// Anchors; `low < high`, both finite (checked by ``validate()``).
    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    /// The uncalibrated default for a vocabulary of `vocabularySize` tokens: `low = −ln V` (a model
    /// that guesses uniformly), `high = −3` nats per token (roughly unsteered Gemma-2-2B samples at
    /// T = 1, whose loss is ≈ 3.5 nats), or `−ln V / 2` when that is higher (vocabularies under 404
    /// tokens). For real use, calibrate with
    /// ``CoherenceLogLikelihoodJudge/calibrateAnchors(model:references:highPercentile:low:)``.
    public static func uncalibrated(vocabularySize: Int) -> LogLikelihoodAnchors {
        let low = -log(Double(max(2, vocabularySize)))
        return LogLikelihoodAnchors(low: low, high: max(-3, low / 2))
    }

    /// Checks that both anchors are finite and `low < high`.
    public func validate() throws(SteeringError) {
        guard low.isFinite, high.isFinite, low < high else {
            throw .invalidArgument(
                what: "coherence-loglik anchors",
                problem: "need finite low < high (nats per token), got \(low), \(high)")
        }
    }

    /// The 1–10 score of a mean log-likelihood: `1 + 9·clamp((ll − low)/(high − low), 0, 1)`.
    public func score(meanLogLikelihood ll: Double) -> Double { scaleScore((ll - low) / (high - low)) }
}

/// Scores coherence offline: how likely the unsteered model finds the completion.
///
/// For each request the judge computes the mean per-token log-likelihood of the completion tokens
/// given everything before them, `ℓ = (1/|C|)·Σ_{t∈C} log p(x_t | x_<t)`, under the unsteered model
/// (see ``CompletionSpan`` for which tokens are the completion), and maps it through
/// ``LogLikelihoodAnchors/score(meanLogLikelihood:)``. The criterion text is not read. Deterministic.
/// The requests of one call are scored together by ``ModelBackend/tokenLogLikelihoods(sequences:positions:)``
/// (version 2; version 1 ran one all-position forward pass per text, 2–3× slower on Gemma 3's
/// 262k vocabulary and different in the seventh digit, so the two never share stored scores).
public final class CoherenceLogLikelihoodJudge: Judge {
    /// `coherence-loglik`.
    public let name = "coherence-loglik"
    /// The unsteered model that reads the text.
    public let model: any ModelBackend
    /// The levels mapped to 1 and 10.
    public let anchors: LogLikelihoodAnchors
    /// Kind, version, model fingerprint and anchors.
    public let identity: [String: RecipeValue]

    /// Version of the scoring rule, part of the identity.
    public static let version = 2

    /// Makes a judge reading `model`; `anchors` default to ``LogLikelihoodAnchors/uncalibrated(vocabularySize:)``.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for invalid anchors.
    public init(model: any ModelBackend, anchors: LogLikelihoodAnchors? = nil) throws(SteeringError) {
        let anchors = anchors ?? .uncalibrated(vocabularySize: model.descriptor.vocabularySize)
        try anchors.validate()
        self.model = model
        self.anchors = anchors
        self.identity = [
            "kind": "coherence-loglik",
            "version": .int(Self.version),
            "model": .string(model.descriptor.fingerprint.hex),
            "low": .double(anchors.low),
            "high": .double(anchors.high),
            "positions": "completion-through-first-eos",
        ]
    }

    /// Scores every request; failures name the reason (no completion tokens, sequence too long, ...).
    public func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        meanLogLikelihoods(requests).map { result in
            result.map { anchors.score(meanLogLikelihood: $0) }.mapError { $0 as any Error }
        }
    }

    /// The mean per-token log-likelihood (nats, ≤ 0) of each request's completion.
    public func meanLogLikelihoods(_ requests: [JudgeRequest]) -> [Result<Double, JudgeError>] {
        Self.meanLogLikelihoods(model: model, requests: requests)
    }

    /// Anchors calibrated on the model's own unsteered completions: `high` is the `highPercentile`-th
    /// percentile of their mean log-likelihoods (so a typical unsteered text scores near 10), and
    /// `low` is the given value or, by default, `−ln V` (the level of uniform guessing).
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` when no reference can be scored or
    ///   the resulting anchors are not ordered.
    public static func calibrateAnchors(
        model: any ModelBackend, references: [JudgeRequest], highPercentile: Double = 50, low: Double? = nil
    ) throws(SteeringError) -> LogLikelihoodAnchors {
        let values = meanLogLikelihoods(model: model, requests: references).compactMap { try? $0.get() }
        guard let high = percentile(values, highPercentile) else {
            throw .invalidArgument(
                what: "coherence-loglik calibration",
                problem: "none of the \(references.count) reference texts could be scored")
        }
        let anchors = LogLikelihoodAnchors(
            low: low ?? -log(Double(max(2, model.descriptor.vocabularySize))), high: high)
        try anchors.validate()
        return anchors
    }

    static func meanLogLikelihoods(model: any ModelBackend, requests: [JudgeRequest]) -> [Result<Double, JudgeError>] {
        let located = requests.map { CompletionSpan.locate($0, model: model) }
        var results = located.map { $0.map { _ in 0.0 } }
        let spans = located.indices.compactMap { i in (try? located[i].get()).map { (request: i, span: $0) } }
        /// Mean of each span's completion log-likelihoods, in one batched call.
        func score(_ spans: [(request: Int, span: CompletionSpan)]) throws {
            let values = try model.tokenLogLikelihoods(
                sequences: spans.map { $0.span.tokens }, positions: spans.map { $0.span.completion })
            for (k, entry) in spans.enumerated() {
                results[entry.request] = .success(values[k].reduce(0, +) / Double(values[k].count))
            }
        }
        do {
            try score(spans)
        } catch {
            // Something in the batch failed: score each text alone, so only the failing ones fail.
            for entry in spans {
                do { try score([entry]) } catch {
                    results[entry.request] = .failure(.unscorable(reason: "the forward pass failed: \(error)"))
                }
            }
        }
        return results
    }
}
