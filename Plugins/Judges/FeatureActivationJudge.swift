import SteeringCore

/// Scores behaviour offline from the target features' activation on the completion.
///
/// The unsteered model is run up to the dictionary's site, the residual activations at the
/// completion positions (see ``CompletionSpan``) are encoded by the dictionary, and the judge takes
/// `a = (1/|C|)·Σ_{t∈C} Σ_i w_i·f_i(x_t)` over the target features `i` with weights `w_i`. The score
/// is `1 + 9·clamp(a / reference, 0, 1)`: no activation scores 1, the reference level or more
/// scores 10. The criterion text is not read. Deterministic.
public final class FeatureActivationJudge: Judge {
    /// `feature-activation`.
    public let name = "feature-activation"
    /// The unsteered model.
    public let model: any ModelBackend
    /// The dictionary whose features are read.
    public let dictionary: any FeatureDictionary
    /// Target features and weights.
    public let targets: [FeatureTarget]
    /// Where activations are read (the dictionary's site unless given).
    public let site: ActivationSite
    /// Weighted activation that scores 10.
    public let reference: Double
    /// Kind, version, model and dictionary fingerprints, site, targets and reference.
    public let identity: [String: RecipeValue]

    /// Version of the scoring rule, part of the identity.
    public static let version = 1

    /// Makes a judge.
    /// - Parameters:
    ///   - site: Where to read activations; defaults to the dictionary's own site.
    ///   - reference: The weighted activation that scores 10; must be > 0. See
    ///     ``calibrateReference(model:dictionary:targets:site:texts:percentile:)``.
    /// - Throws: ``SteeringError`` when the dictionary does not fit the model, has no site and none is
    ///   given, a target feature is out of range, there are no targets, or `reference ≤ 0`.
    public init(
        model: any ModelBackend, dictionary: any FeatureDictionary, targets: [FeatureTarget], reference: Double,
        site: ActivationSite? = nil
    ) throws(SteeringError) {
        let site = try Self.validate(model: model, dictionary: dictionary, targets: targets, site: site)
        guard reference.isFinite, reference > 0 else {
            throw .invalidArgument(
                what: "feature-activation option `reference`", problem: "must be a finite number > 0, got \(reference)")
        }
        self.model = model
        self.dictionary = dictionary
        self.targets = targets
        self.site = site
        self.reference = reference
        self.identity = [
            "kind": "feature-activation",
            "version": .int(Self.version),
            "model": .string(model.descriptor.fingerprint.hex),
            "dictionary": .string(dictionary.descriptor.fingerprint.hex),
            "site": .string(site.transformerLensName),
            "targets": .array(targets.map { .array([.int($0.feature), .double(Double($0.weight))]) }),
            "reference": .double(reference),
            "positions": "completion-through-first-eos",
        ]
    }

    /// Scores every request; failures name the reason.
    public func score(_ requests: [JudgeRequest]) async -> [Result<Double, any Error>] {
        activations(requests).map { result in
            result.map { scaleScore($0 / reference) }.mapError { $0 as any Error }
        }
    }

    /// The mean weighted target activation `a` of each request's completion.
    public func activations(_ requests: [JudgeRequest]) -> [Result<Double, JudgeError>] {
        Self.activations(model: model, dictionary: dictionary, targets: targets, site: site, requests: requests)
    }

    /// A reference level from data: the `percentile`-th percentile of `a` over `texts` that show the
    /// behaviour (e.g. the task's positive contrastive statements as completions with an empty
    /// prompt, or steered completions a human accepted).
    /// - Throws: ``SteeringError`` for an invalid setup, when no text can be scored, or when the
    ///   percentile is not positive (the features never fire on these texts).
    public static func calibrateReference(
        model: any ModelBackend, dictionary: any FeatureDictionary, targets: [FeatureTarget],
        site: ActivationSite? = nil, texts: [JudgeRequest], percentile p: Double = 90
    ) throws(SteeringError) -> Double {
        let site = try validate(model: model, dictionary: dictionary, targets: targets, site: site)
        let values = activations(model: model, dictionary: dictionary, targets: targets, site: site, requests: texts)
            .compactMap { try? $0.get() }
        guard let level = percentile(values, p) else {
            throw .invalidArgument(
                what: "feature-activation calibration", problem: "none of the \(texts.count) texts could be scored")
        }
        guard level > 0, level.isFinite else {
            throw .invalidArgument(
                what: "feature-activation calibration",
                problem: "the \(p)th percentile of the target activation is \(level); choose texts the features fire on"
            )
        }
        return level
    }

    private static func validate(
        model: any ModelBackend, dictionary: any FeatureDictionary, targets: [FeatureTarget], site: ActivationSite?
    ) throws(SteeringError) -> ActivationSite {
        try dictionary.checkCompatible(with: model.descriptor)
        guard let site = site ?? dictionary.descriptor.site else {
            throw .invalidArgument(
                what: "feature-activation site",
                problem: "the dictionary \(dictionary.descriptor.name) does not record its layer; give `layer`")
        }
        guard (0..<model.descriptor.layerCount).contains(site.layer) else {
            throw .indexOutOfRange(
                what: "feature-activation layer", index: site.layer, validRange: 0..<model.descriptor.layerCount)
        }
        guard !targets.isEmpty else {
            throw .invalidArgument(what: "feature-activation targets", problem: "give at least one feature")
        }
        let count = dictionary.descriptor.featureCount
        for target in targets {
            guard (0..<count).contains(target.feature) else {
                throw .indexOutOfRange(what: "target feature", index: target.feature, validRange: 0..<count)
            }
            guard target.weight.isFinite else {
                throw .invalidArgument(what: "target \(target.feature)", problem: "weight must be finite")
            }
        }
        return site
    }

    private static func activations(
        model: any ModelBackend, dictionary: any FeatureDictionary, targets: [FeatureTarget], site: ActivationSite,
        requests: [JudgeRequest]
    ) -> [Result<Double, JudgeError>] {
        CompletionSpan.scoreEach(requests, model: model, failure: "reading the activations failed") { span, sequence in
            let residual = try model.activations(at: site, sequences: [sequence])[0]
            let features = try dictionary.encode(residual.rows(span.completion))
            var total = 0.0
            for row in 0..<features.rows {
                for target in targets { total += Double(target.weight) * Double(features[row, target.feature]) }
            }
            return total / Double(features.rows)
        }
    }
}
