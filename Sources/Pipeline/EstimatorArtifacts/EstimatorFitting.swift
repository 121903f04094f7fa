public import ArtifactStore
public import SteeringCore

/// Fits an estimator on a dataset's training split, reusing a stored fit with the same recipe.
public enum EstimatorFitting {
    /// The outcome of ``fit(_:on:split:store:reuse:progress:)``.
    public struct Result: Sendable {
        /// The estimator artifact's recipe.
        public var recipe: Recipe
        /// Its key (stored when a store was given).
        public var key: ContentDigest
        /// `M` and `b`.
        public var model: LinearEffectModel
        /// True when the model came from the store instead of a new fit.
        public var reused: Bool
        /// Wall-clock seconds of the fit (0 when reused).
        public var seconds: Double
    }

    /// Fits `estimator` on the training rows of `data` under `split` (``EffectDataSplit``).
    ///
    /// - Parameters:
    ///   - store: Where the fit is looked up and stored (`nil`: neither).
    ///   - reuse: Return the stored model when the recipe's key is present (otherwise fit anyway; the
    ///     store keeps its first value).
    ///   - progress: Handed to the estimator (see ``progressTotal(for:trainingRows:)``).
    /// - Throws: Errors of the split, the estimator or the store.
    public static func fit(
        _ estimator: any EffectEstimator, on data: any EffectDataSource, split: EffectDataSplit,
        store: ArtifactStore?, reuse: Bool = true, progress: ProgressReporter? = nil
    ) throws -> Result {
        let recipe = EstimatorArtifact.recipe(estimator: estimator, dataset: data.digest, split: split)
        if reuse, let store, let artifact = try store.get(recipe.key) {
            let model = try EstimatorArtifact.model(from: artifact)
            guard model.inputWidth == data.inputWidth, model.outputWidth == data.outputWidth else {
                throw PipelineError.invalidInput(
                    what: "stored estimator \(recipe.key.short)",
                    problem: "its shape [\(model.inputWidth), \(model.outputWidth)] does not match the dataset "
                        + "[\(data.inputWidth), \(data.outputWidth)]; "
                        + "the store is inconsistent — run `steer store verify`")
            }
            return Result(recipe: recipe, key: recipe.key, model: model, reused: true, seconds: 0)
        }
        let (training, _) = try split.partition(count: data.count)
        let start = ProgressReporter.now()
        let model = try estimator.fit(data, rows: training, progress: progress)
        let seconds = ProgressReporter.now() - start
        progress?.finish()
        if let store { try EstimatorArtifact.put(model, recipe: recipe, in: store) }
        return Result(recipe: recipe, key: recipe.key, model: model, reused: false, seconds: seconds)
    }

    /// The total and unit of the progress `estimator` reports on `trainingRows` rows, as the estimator itself
    /// declares it (``EffectEstimator/progressTotal(trainingRows:)``): Pipeline reads no plugin's parameters.
    public static func progressTotal(for estimator: any EffectEstimator, trainingRows: Int) -> (
        total: Int, unit: String
    ) {
        estimator.progressTotal(trainingRows: trainingRows)
    }
}
