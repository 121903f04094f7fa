public import ArtifactStore
public import SteeringCore

/// Estimators in the artifact store: an artifact of kind `estimator` whose f32 payload is
/// `[d_model + 1, d_sae]` — rows `0..<d_model` are `M`, the last row is `b` (Docs/Estimators.md).
public enum EstimatorArtifact {
    /// The recipe of `estimator` fitted on `dataset` with `split`: kind `estimator`, algorithm = the
    /// estimator's name, its version, its parameters plus the split's, input `dataset`.
    public static func recipe(
        estimator: any EffectEstimator, dataset: ContentDigest, split: EffectDataSplit
    ) -> Recipe {
        Recipe(
            kind: .estimator, algorithm: estimator.name, version: estimator.version,
            parameters: estimator.parameters.merging(split.parameters) { estimatorValue, _ in estimatorValue },
            inputs: ["dataset": dataset])
    }

    /// The payload rows `[M; b]`.
    public static func payload(_ model: LinearEffectModel) -> [Float] {
        var values = model.weight.values
        values.append(contentsOf: model.bias)
        return values
    }

    /// Stores `model` under `recipe` (a no-op if the key exists) and returns the key.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` for a recipe of another kind; store errors.
    @discardableResult
    public static func put(_ model: LinearEffectModel, recipe: Recipe, in store: ArtifactStore) throws -> ContentDigest
    {
        guard recipe.kind == .estimator else {
            throw PipelineError.invalidInput(
                what: "estimator recipe", problem: "its kind is '\(recipe.kind.rawValue)', expected 'estimator'")
        }
        return try store.put(
            recipe: recipe, floats: payload(model), shape: [model.inputWidth + 1, model.outputWidth])
    }

    /// Decodes a stored estimator.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` unless it is an f32 `estimator` artifact of
    ///   shape `[d_model + 1, d_sae]` with `d_model ≥ 1`; ``SteeringError/nonFinite(what:index:)``.
    public static func model(from artifact: Artifact) throws -> LinearEffectModel {
        let header = artifact.header
        guard header.kind == .estimator, header.dtype == .f32, header.shape.count == 2, header.shape[0] >= 2,
            header.shape[1] >= 1
        else {
            throw PipelineError.invalidInput(
                what: "artifact \(artifact.key.short)",
                problem: "it is a \(header.kind.rawValue) artifact (\(header.dtype.rawValue), shape \(header.shape)); "
                    + "an estimator is an f32 'estimator' artifact of shape [d_model + 1, d_sae]")
        }
        let values = try artifact.floats()
        try Vector.checkFinite(values, "estimator \(artifact.key.short)")
        let d = header.shape[0] - 1, s = header.shape[1]
        return LinearEffectModel(
            weight: Matrix(rows: d, columns: s, values: Array(values[0..<(d * s)])), bias: Array(values[(d * s)...]))
    }

    /// The estimator named by an alias, key or key prefix.
    /// - Throws: ``ArtifactStoreError`` for an unknown reference; as ``model(from:)``.
    public static func load(_ reference: String, from store: ArtifactStore) throws -> (
        key: ContentDigest, model: LinearEffectModel
    ) {
        let key = try store.resolve(reference)
        guard let artifact = try store.get(key) else {
            throw ArtifactStoreError.unknownKey(key: key.hex, path: store.path)
        }
        return (key, try model(from: artifact))
    }
}
