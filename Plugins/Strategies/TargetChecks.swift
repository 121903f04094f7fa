import SteeringCore

/// Checks shared by the target-driven strategies (`sae-direct`, `sae-ts`, `pinv`, `rotation`).
enum TargetChecks {
    /// Checks that `targets` are usable against a space of `featureCount` features:
    /// every id in `0..<featureCount`, every weight finite, no id listed twice, and at least one
    /// non-zero weight.
    /// - Parameter space: Names where `featureCount` comes from, for the error message.
    static func check(_ targets: [FeatureTarget], featureCount: Int, space: String, strategy: String)
        throws(SteeringError)
    {
        var seen = Set<Int>()
        for target in targets {
            guard (0..<featureCount).contains(target.feature) else {
                throw .indexOutOfRange(
                    what: "Strategy '\(strategy)': target feature of the \(space)",
                    index: target.feature, validRange: 0..<featureCount)
            }
            guard target.weight.isFinite else {
                throw .invalidArgument(
                    what: "weight of target feature \(target.feature) for strategy '\(strategy)'",
                    problem: "must be finite, got \(target.weight)")
            }
            guard seen.insert(target.feature).inserted else {
                throw .invalidArgument(
                    what: "targets for strategy '\(strategy)'",
                    problem: "feature \(target.feature) is listed twice; give it once with the combined weight")
            }
        }
        guard targets.contains(where: { $0.weight != 0 }) else {
            throw .invalidArgument(
                what: "targets for strategy '\(strategy)'",
                problem: "every weight is zero (\(targets.map(\.description).joined(separator: ","))); "
                    + "give at least one non-zero weight")
        }
    }

    /// Checks that the estimator, the dictionary and the model (those present) agree on widths:
    /// estimator `[d_model, d_sae]`, dictionary `d_model → d_sae`, model hidden size `d_model`.
    static func checkWidths(_ inputs: StrategyInputs, strategy: String) throws(SteeringError) {
        let effect = inputs.effectModel
        let dictionary = inputs.dictionary?.descriptor
        if let effect, let dictionary {
            guard effect.outputWidth == dictionary.featureCount else {
                throw .shapeMismatch(
                    what: "estimator against dictionary \(dictionary.name) for strategy '\(strategy)'",
                    expected: "estimator output width d_sae = \(dictionary.featureCount) (the dictionary's features)",
                    got: "d_sae = \(effect.outputWidth); fit the estimator on effects measured with this dictionary")
            }
            guard effect.inputWidth == dictionary.inputWidth else {
                throw .shapeMismatch(
                    what: "estimator against dictionary \(dictionary.name) for strategy '\(strategy)'",
                    expected: "estimator input width d_model = \(dictionary.inputWidth) (the dictionary's input width)",
                    got: "d_model = \(effect.inputWidth)")
            }
        }
        if let model = inputs.model?.descriptor {
            if let effect, effect.inputWidth != model.hiddenSize {
                throw .shapeMismatch(
                    what: "estimator against model \(model.name) for strategy '\(strategy)'",
                    expected: "estimator input width d_model = \(model.hiddenSize) (the model's hidden size)",
                    got: "d_model = \(effect.inputWidth)")
            }
            if let dictionary, dictionary.inputWidth != model.hiddenSize {
                throw .shapeMismatch(
                    what: "dictionary \(dictionary.name) against model \(model.name) for strategy '\(strategy)'",
                    expected: "d_model = \(model.hiddenSize) (the model's hidden size)",
                    got: "d_model = \(dictionary.inputWidth) (the dictionary's input width)")
            }
        }
        if let site = dictionary?.site, site.layer != inputs.site.layer {
            throw .invalidArgument(
                what: "site \(inputs.site) for strategy '\(strategy)'",
                problem: "the dictionary \(dictionary?.name ?? "") reads \(site); build the vector for that layer "
                    + "or use a dictionary trained there")
        }
    }

    /// The canonical text of `targets`, e.g. `8392:0.5,15769:0.5`, for provenance.
    static func describe(_ targets: [FeatureTarget]) -> String {
        targets.map(\.description).joined(separator: ",")
    }
}

/// Provenance shared by every strategy's output.
enum Provenance {
    /// `strategy`, `version`, `site`, and `options` (the canonical JSON of every output-affecting option
    /// with the value used, defaults included), plus `extra`.
    static func make(
        strategy: any SteeringStrategy, site: ActivationSite, options: [String: RecipeValue],
        extra: [String: String] = [:]
    ) -> [String: String] {
        var out = extra
        out["strategy"] = strategy.name
        out["version"] = String(strategy.version)
        out["site"] = site.transformerLensName
        out["options"] = RecipeValue.object(options).canonicalJSON
        return out
    }
}
