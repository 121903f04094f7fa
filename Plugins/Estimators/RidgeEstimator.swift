import SteeringCore
import SteeringNumerics

/// A fitted ridge model together with how its λ was chosen.
public struct RidgeFit: Sendable, Equatable {
    /// `M` and `b`.
    public var model: LinearEffectModel
    /// The cross-validation outcome.
    public var selection: RidgeSelection
}

/// Closed-form ridge regression of effects on unit-length inputs, with an unpenalised bias and λ chosen
/// by k-fold cross-validation.
///
/// Minimises `‖Y − X̂W − 1bᵀ‖² + λ‖W‖²` over `W` `[d_model, d_sae]` and `b`, i.e. `W = (Gc + λI)⁻¹·Bc`
/// with the centred `Gc = X̃ᵀX̃`, `Bc = X̃ᵀỸ`, and `b = μy − μx·W`.
///
/// One streaming pass reads the training rows in chunks of ``RidgeConfiguration/chunkRows`` and adds them
/// to the ``RidgeStatistics`` of their fold (folds are contiguous blocks of the rows, in the order given).
/// Cross-validation (``RidgeCrossValidation``) and the final fit on all training rows need nothing else.
/// Memory: each fold keeps `(d+1)² + (d+1)·s + s` Doubles — about 0.3 GB at `d = 2304`, `s = 16384`, so
/// 1.5 GB for 5 folds — plus one `(d+1) × s` Float buffer for the chunk products; the data themselves
/// are never held beyond one chunk. The final solve is a Double Cholesky factorisation of `Gc + λI`,
/// applied to 2048 right-hand sides at a time.
public struct RidgeEstimator: ConfiguredEstimator {
    /// The name this estimator is registered under.
    public static let registryName = "ridge"

    /// The hyper-parameters.
    public let configuration: RidgeConfiguration

    /// An estimator with `configuration`.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` when a hyper-parameter is out of range.
    public init(configuration: RidgeConfiguration = RidgeConfiguration()) throws(SteeringError) {
        try configuration.validate()
        self.configuration = configuration
    }

    /// Fits on `rows` of `data`. `progress` advances by the rows of each streamed chunk (`rows.count` in all).
    /// - Throws: ``SteeringError`` for too few rows (``RidgeConfiguration/minimumRows``), repeated or
    ///   out-of-range rows, inconsistent widths, non-finite values, an all-zero input, or a singular system.
    public func fit(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws
        -> LinearEffectModel
    {
        try fitWithSelection(data, rows: rows, progress: progress).model
    }

    /// Fits and reports the cross-validation outcome.
    public func fitWithSelection(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws
        -> RidgeFit
    {
        try fitWithSelection(data, rows: rows, path: nil, progress: progress)
    }

    /// As ``fitWithSelection(_:rows:progress:)``, forcing a cross-validation path (`nil`: by size).
    package func fitWithSelection(
        _ data: any EffectDataSource, rows: [Int], path: RidgeCrossValidation.Path?, progress: ProgressReporter?
    ) throws -> RidgeFit {
        let folds = try statistics(data, rows: rows, progress: progress)
        var total = folds[0]
        for fold in folds.dropFirst() { total.add(fold) }
        let lambdas = configuration.lambdas
        var selection = RidgeSelection(lambdas: lambdas, meanSquaredErrors: [], chosen: lambdas[0])
        if configuration.crossValidates {
            let chosenPath =
                path
                ?? .automatic(
                    inputWidth: data.inputWidth, outputWidth: data.outputWidth, folds: folds.count,
                    lambdas: lambdas.count)
            let errors = try RidgeCrossValidation.meanSquaredErrors(
                folds: folds, total: total, lambdas: lambdas, path: chosenPath)
            guard errors.contains(where: \.isFinite) else {
                throw SteeringError.invalidArgument(
                    what: "ridge λ grid \(lambdas)",
                    problem: "no candidate could be fitted on every fold (singular Gram matrix); add a positive λ")
            }
            selection.meanSquaredErrors = errors
            selection.chosen = RidgeCrossValidation.choose(lambdas: lambdas, errors: errors)
        }
        let model = try RidgeSolver.solve(RidgeSystem(total: total), lambda: selection.chosen)
        return RidgeFit(model: model, selection: selection)
    }

    /// The per-fold statistics of `rows` from one streaming pass (one entry without cross-validation).
    package func statistics(_ data: any EffectDataSource, rows: [Int], progress: ProgressReporter?) throws
        -> [RidgeStatistics]
    {
        try EstimatorInput.validate(rows: rows, of: data, estimator: name, minimum: configuration.minimumRows)
        let foldCount = configuration.crossValidates ? configuration.folds : 1
        var scratch = RidgeScratch()
        var folds: [RidgeStatistics] = []
        for fold in 0..<foldCount {
            var statistics = RidgeStatistics(inputWidth: data.inputWidth, outputWidth: data.outputWidth)
            let foldRows = Array(rows[Self.foldRange(fold, of: foldCount, count: rows.count)])
            var start = 0
            while start < foldRows.count {
                let end = min(foldRows.count, start + configuration.chunkRows)
                let chunk = Array(foldRows[start..<end])
                let (inputs, effects) = try EstimatorInput.readNormalized(data, rows: chunk)
                statistics.add(inputs: inputs, effects: effects, scratch: &scratch)
                progress?.advance(by: chunk.count)
                start = end
            }
            folds.append(statistics)
        }
        return folds
    }

    /// Positions of fold `fold` among `count` rows split into `folds` contiguous blocks.
    package static func foldRange(_ fold: Int, of folds: Int, count: Int) -> Range<Int> {
        (fold * count / folds)..<((fold + 1) * count / folds)
    }
}
