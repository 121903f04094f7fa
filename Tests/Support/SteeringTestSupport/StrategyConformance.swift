import Foundation
import SteeringCore
import Testing

/// Checks the ``SteeringStrategy`` contract every strategy plugin must satisfy, on `inputs` that are
/// valid for it:
///
/// - the vector has `d_model` values (the model's hidden size, else the estimator's input width, else
///   the dictionary's input width), is finite, and has unit norm when `normalized`;
/// - two calls give identical values (determinism) and the site is the one asked for;
/// - provenance names the strategy and version and carries the resolved `options`;
/// - with `scaleInvariant`, multiplying every target weight by a positive constant leaves the vector
///   unchanged (true of `sae-direct`, `sae-ts`, `pinv` in both modes and `rotation`, whose formulas
///   normalise `t` or the weighted sum; `caa` has no weights);
/// - for strategies that take targets, a feature at `d_sae` or at −1 throws
///   ``SteeringError/indexOutOfRange(what:index:validRange:)`` naming the feature;
/// - with both an estimator and a dictionary, an estimator one feature wider throws
///   ``SteeringError/shapeMismatch(what:expected:got:)``;
/// - leaving out any one of ``SteeringStrategy/requirements`` throws a ``SteeringError``.
public func checkSteeringStrategy(
    _ strategy: any SteeringStrategy, inputs: StrategyInputs, normalized: Bool = true, scaleInvariant: Bool,
    tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let vector = try strategy.makeVector(inputs)
    let width =
        inputs.model?.descriptor.hiddenSize ?? inputs.effectModel?.inputWidth
        ?? inputs.dictionary?.descriptor.inputWidth
    if let width {
        #expect(
            vector.values.count == width, "vector width \(vector.values.count) ≠ d_model \(width)",
            sourceLocation: sourceLocation)
    }
    #expect(vector.values.allSatisfy { $0.isFinite }, "vector must be finite", sourceLocation: sourceLocation)
    if normalized {
        #expect(abs(vector.norm - 1) <= tolerance, "norm \(vector.norm) is not 1", sourceLocation: sourceLocation)
    }
    #expect(
        try strategy.makeVector(inputs).values == vector.values, "must be deterministic", sourceLocation: sourceLocation
    )
    #expect(vector.site == inputs.site, "site \(vector.site) ≠ \(inputs.site)", sourceLocation: sourceLocation)
    #expect(vector.provenance["strategy"] == strategy.name, sourceLocation: sourceLocation)
    #expect(vector.provenance["version"] == String(strategy.version), sourceLocation: sourceLocation)
    #expect(
        vector.provenance["options"] != nil, "provenance must carry the options used", sourceLocation: sourceLocation)

    let takesTargets = strategy.requirements.contains(.targets)
    if scaleInvariant && takesTargets {
        for factor: Float in [0.25, 3] {
            var scaled = inputs
            scaled.targets = inputs.targets.map { FeatureTarget(feature: $0.feature, weight: $0.weight * factor) }
            let other = try strategy.makeVector(scaled)
            let tolerated = tolerance * max(1, vector.norm)
            #expect(
                maxAbsDifference(other.values, vector.values) <= tolerated,
                "scaling the weights by \(factor) changed the vector", sourceLocation: sourceLocation)
        }
    }
    if takesTargets, let featureCount = inputs.dictionary?.descriptor.featureCount ?? inputs.effectModel?.outputWidth {
        for feature in [featureCount, -1] {
            var bad = inputs
            bad.targets = [FeatureTarget(feature: feature)]
            do {
                _ = try strategy.makeVector(bad)
                Issue.record(
                    "target feature \(feature) of \(featureCount) did not throw", sourceLocation: sourceLocation)
            } catch let error as SteeringError {
                guard case .indexOutOfRange(_, let index, let range) = error else {
                    Issue.record(
                        "target \(feature): expected indexOutOfRange, got \(error)", sourceLocation: sourceLocation)
                    continue
                }
                #expect(index == feature && range == 0..<featureCount, sourceLocation: sourceLocation)
                #expect("\(error)".contains("\(feature)"), "\(error)", sourceLocation: sourceLocation)
            }
        }
    }
    if let effect = inputs.effectModel, inputs.dictionary != nil {
        var wider = inputs
        var weight = Matrix(rows: effect.inputWidth, columns: effect.outputWidth + 1)
        for r in 0..<effect.inputWidth {
            for c in 0..<effect.outputWidth { weight[r, c] = effect.weight[r, c] }
        }
        wider.effectModel = LinearEffectModel(weight: weight, bias: effect.bias + [0])
        #expect(sourceLocation: sourceLocation) {
            try strategy.makeVector(wider)
        } throws: { error in
            guard case .shapeMismatch = error as? SteeringError else { return false }
            return "\(error)".contains("\(effect.outputWidth + 1)") && "\(error)".contains("\(effect.outputWidth)")
        }
    }
    for requirement in strategy.requirements {
        var missing = inputs
        switch requirement {
        case .model: missing.model = nil
        case .dictionary: missing.dictionary = nil
        case .effectModel: missing.effectModel = nil
        case .targets: missing.targets = []
        case .contrastivePrompts: missing.negativePrompts = []
        default: missing.extras[requirement.inputName ?? ""] = nil  // an input core does not name
        }
        #expect(
            throws: SteeringError.self, "missing \(requirement.rawValue) must throw", sourceLocation: sourceLocation
        ) {
            try strategy.makeVector(missing)
        }
    }
}
