public import ArtifactStore
import Foundation
public import SteeringCore

/// Several estimators fitted on the same training split of one dataset and evaluated on the same
/// held-out rows (``EstimatorDiagnostics``). Encodes as the JSON of an `evaluation` artifact.
public struct EffectEstimatorComparison: Sendable, Codable, Equatable {
    /// One estimator's row of the comparison.
    public struct Entry: Sendable, Codable, Equatable {
        /// Registry name.
        public var estimator: String
        /// The estimator's version.
        public var version: Int
        /// The estimator's hyper-parameters.
        public var parameters: [String: RecipeValue]
        /// The fitted estimator's artifact key.
        public var key: ContentDigest
        /// Wall-clock seconds of the fit.
        public var fitSeconds: Double
        /// Held-out quality.
        public var diagnostics: EstimatorDiagnostics
        /// How much of its declared work the fit did (`nil` in comparisons stored before it was recorded).
        public var work: FitWork?
    }

    /// The work a fit declares (``EffectEstimator/progressTotal(trainingRows:)``) and how much of it ran:
    /// less than `total` when it stopped early (linear-adam's convergence rule), so a reader can tell a
    /// converged fit from one that hit its cap.
    public struct FitWork: Sendable, Codable, Equatable {
        public var done: Int
        public var total: Int
        public var unit: String

        public init(done: Int, total: Int, unit: String) {
            self.done = done
            self.total = total
            self.unit = unit
        }

        /// `1240/6000 steps`.
        public var text: String { "\(done)/\(total) \(unit)" }
    }

    /// The dataset's key.
    public var dataset: ContentDigest
    /// The train/held-out split.
    public var split: EffectDataSplit
    /// Rows the estimators were fitted on.
    public var trainingRows: Int
    /// One entry per estimator, in the order given.
    public var entries: [Entry]

    /// Fits every estimator (always anew, so fit times are measured) on the training rows and evaluates
    /// it on the held-out rows. With a store, each fitted model is stored under its estimator recipe.
    ///
    /// - Parameter progress: Makes the reporter handed to each estimator's fit, given the estimator.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` for no estimators or no held-out rows; errors
    ///   of the fits and evaluations.
    public static func run(
        _ estimators: [any EffectEstimator], on data: any EffectDataSource, split: EffectDataSplit,
        store: ArtifactStore? = nil, topK: Int = 10,
        progress: (any EffectEstimator, _ trainingRows: Int) -> ProgressReporter? = { _, _ in nil }
    ) throws -> EffectEstimatorComparison {
        guard !estimators.isEmpty else {
            throw PipelineError.invalidInput(what: "estimator comparison", problem: "no estimators were given")
        }
        let (training, validation) = try split.partition(count: data.count)
        guard !validation.isEmpty else {
            throw PipelineError.invalidInput(
                what: "estimator comparison", problem: "the validation size is 0; hold out at least one row")
        }
        var entries: [Entry] = []
        for estimator in estimators {
            let (total, unit) = EstimatorFitting.progressTotal(for: estimator, trainingRows: training.count)
            // A silent reporter when none is given: it still counts the work done.
            let reporter =
                progress(estimator, training.count)
                ?? ProgressReporter(label: estimator.name, total: total, unit: unit, enabled: false)
            let fitted = try EstimatorFitting.fit(
                estimator, on: data, split: split, store: store, reuse: false, progress: reporter)
            let diagnostics = try EstimatorDiagnostics.evaluate(fitted.model, on: data, rows: validation, topK: topK)
            entries.append(
                Entry(
                    estimator: estimator.name, version: estimator.version, parameters: estimator.parameters,
                    key: fitted.key, fitSeconds: fitted.seconds, diagnostics: diagnostics,
                    work: FitWork(done: reporter.completed, total: total, unit: unit)))
        }
        return EffectEstimatorComparison(
            dataset: data.digest, split: split, trainingRows: training.count, entries: entries)
    }

    /// The `evaluation` artifact recipe: the compared estimators (name, version, parameters), the split,
    /// `top-k`, and the dataset as input. Fit times are outputs, not part of the key.
    public var recipe: Recipe {
        let described: [RecipeValue] = entries.map {
            .object(["name": .string($0.estimator), "version": .int($0.version), "parameters": .object($0.parameters)])
        }
        var parameters = split.parameters
        parameters["estimators"] = .array(described)
        parameters["top-k"] = .int(entries.first?.diagnostics.topK ?? 0)
        return Recipe(
            kind: .evaluation, algorithm: "estimator-comparison", version: 1, parameters: parameters,
            inputs: ["dataset": dataset])
    }

    /// A fixed-width text table: one row per estimator with held-out MSE, R², mean and median cosine,
    /// mean top-k overlap, fit time and the work the fit did.
    public func table() -> String {
        let k = entries.first?.diagnostics.topK ?? 0
        let header = ["estimator", "MSE", "R²", "cos mean", "cos median", "top-\(k) overlap", "fit time", "work done"]
        let rows = entries.map { entry -> [String] in
            let d = entry.diagnostics
            return [
                entry.estimator, String(format: "%.4e", d.meanSquaredError), String(format: "%.4f", d.rSquared),
                String(format: "%.4f", d.cosine.mean), String(format: "%.4f", d.cosine.median),
                String(format: "%.3f", d.topKOverlap.mean), String(format: "%.2f s", entry.fitSeconds),
                entry.work?.text ?? "—",
            ]
        }
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == 0
                    ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
