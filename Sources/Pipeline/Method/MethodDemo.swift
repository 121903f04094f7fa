import ArtifactStore
import Foundation
import SteeringCore

/// The whole SAE-TS method as one call, for the CLI's `steer demo` and for any tool that depends on the
/// package: measure the effects of probe vectors (decoder rows of a probe dictionary, scale calibrated per
/// vector), fit and compare estimators, build every task's vector with every strategy, sweep scales scored
/// by judges, and write the report. Every expensive result is stored, so a second run only reads.
///
/// Everything plugin-specific arrives by name through ``Configuration`` and is created by `registry`.
public struct MethodDemo: Sendable {
    /// What to run: the plugins by name, the assets and the protocol sizes.
    public struct Configuration: Sendable {
        /// Model backend and dictionary plugin names (`gemma2`, `jumprelu`, …).
        public var backend: String
        public var dictionary: String
        /// The model, measuring dictionary, probe dictionary, calibration text and task files.
        public var assets: DemoAssets
        /// Probe vectors measured: rows `0..<probes` of the probe dictionary's decoder.
        public var probes: Int
        /// Effect protocol: rollouts per prompt, total length, baseline multiplier.
        public var rolloutsPerPrompt: Int
        public var baselineMultiplier: Int
        /// Calibration: sequences per batch and batches of 32 tokens.
        public var calibrationBatchSize: Int
        public var calibrationBatches: Int
        /// Scale-sweep points (`0, 1, …` × the sweep step) and completions per cell.
        public var sweepPoints: Int
        public var sweepStepUnits: Float
        public var samples: Int
        /// Estimators compared (registry names); the first is the one the strategies use.
        public var estimators: [String]
        /// Strategies built for every task (registry names) and the claim the report tests.
        public var strategies: [String]
        public var candidate: String
        public var baselines: [String]
        /// Judges (registry names).
        public var behaviourJudge: String
        public var coherenceJudge: String
        /// Report title and directory.
        public var title: String
        public var reportDirectory: String
        /// How the report's protocol section describes the model, the chosen estimator, the judges and the
        /// protocol sizes (the measured figures are added by the run).
        public var modelNote: String
        public var estimatorNote: String
        public var judgeNote: String
        public var protocolNote: String

        /// The embedded toy demo's sizes, reduced to fit in minutes on two cores (`full`: the method's).
        public static func embedded(assets: DemoAssets, reportDirectory: String, full: Bool) -> Configuration {
            Configuration(
                backend: "gemma2", dictionary: "jumprelu", assets: assets, probes: 128,
                rolloutsPerPrompt: full ? 64 : 8, baselineMultiplier: full ? 10 : 4,
                calibrationBatchSize: full ? 64 : 16, calibrationBatches: full ? 2 : 1, sweepPoints: full ? 16 : 8,
                sweepStepUnits: full ? 2 : 4, samples: full ? 256 : 32, estimators: ["ridge", "linear-adam"],
                strategies: ["caa", "sae-direct", "sae-ts"], candidate: "sae-ts", baselines: ["sae-direct", "caa"],
                behaviourJudge: "lexicon", coherenceJudge: "coherence-loglik",
                title: "SAE-TS on the embedded demo model", reportDirectory: reportDirectory,
                modelNote: "the embedded demo Gemma-2",
                estimatorNote: "SAE-TS uses ridge (chosen before any evaluation: closed form, λ by cross-validation)",
                judgeNote:
                    "Judges: behaviour = the task lexicon (whole-word matches, saturating at 3), coherence = the unsteered model's mean log-likelihood, anchored on its own unsteered completions. No LLM judge is used; these judges were not tuned on these results.",
                protocolNote: full
                    ? "Protocol: the method's full sizes (--full)."
                    : "Protocol reduced to fit on two cores; `steer demo --full` runs the method's sizes.")
        }
    }

    /// What a run produced.
    public struct Output: Sendable {
        public var report: EvaluationReport.Output
        public var estimatorTable: String
        public var evaluationTable: String
        /// Effects measured now (the rest came from the store) and evaluation cells computed now.
        public var measuredEffects: Int
        public var computedCells: Int
    }

    public let registry: PluginRegistry
    public let store: ArtifactStore
    /// Receives one line per step (what was loaded, measured and written); the CLI prints it on stderr.
    public let log: @Sendable (String) -> Void
    /// Progress of the long steps; `nil` for none.
    public let progress: (@Sendable (_ label: String, _ total: Int, _ unit: String) -> ProgressReporter)?

    public init(
        registry: PluginRegistry, store: ArtifactStore, log: @escaping @Sendable (String) -> Void = { _ in },
        progress: (@Sendable (_ label: String, _ total: Int, _ unit: String) -> ProgressReporter)? = nil
    ) {
        self.registry = registry
        self.store = store
        self.log = log
        self.progress = progress
    }

    /// Runs the method as `configuration` says.
    /// - Throws: ``PipelineError`` for unusable assets, and whatever a plugin or the store throws.
    public func run(_ configuration: Configuration) async throws -> Output {
        let assets = configuration.assets
        let model = try registry.backend(configuration.backend, PluginOptions(path: assets.model))
        let sae = try registry.dictionary(configuration.dictionary, PluginOptions(path: assets.sae))
        let probeSAE = try registry.dictionary(configuration.dictionary, PluginOptions(path: assets.probeSAE))
        guard let site = sae.descriptor.site else {
            throw PipelineError.invalidInput(what: "dictionary \(assets.sae)", problem: "its layer is unknown")
        }
        let tasks = try assets.taskFiles.map(DemoAssets.task)
        log(
            "demo: model \(model.descriptor.name), SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site), \(tasks.count) tasks"
        )

        // Scales are set relative to the residual norm at the site, as the method's 0…200 grid is for
        // Gemma-2-2B's layer-12 norms.
        let calibrationSpec = CalibrationSetSpec(
            sequenceLength: 32, batchSize: configuration.calibrationBatchSize,
            batchCount: configuration.calibrationBatches, seed: 42)
        let calibration = try CalibrationSet(path: assets.calibration, model: model, spec: calibrationSpec)
        let norm = try Self.residualNorm(model: model, site: site, sequences: calibration.batches[0])
        let unit = Float((norm / 10).rounded(.up))
        let calibrationGrid = (0...10).map { Float($0) * 2 * unit }
        let sweep = (0..<configuration.sweepPoints).map { Float($0) * configuration.sweepStepUnits * unit }
        let measurement = MeasurementProtocol(
            site: site, rolloutsPerPrompt: configuration.rolloutsPerPrompt, totalLength: 32,
            baselineMultiplier: configuration.baselineMultiplier, seed: 0)

        // 1. Effects of probe vectors.
        let measurer = try EffectMeasurer(
            model: model, dictionary: sae, store: store, measurement: measurement,
            scaling: .calibrated(calibration, CalibrationSettings(grid: calibrationGrid, target: .aboveBaseline(0.5))))
        let count = min(configuration.probes, probeSAE.descriptor.featureCount)
        let vectors = try ProbeVector.decoderRows(of: probeSAE, range: 0..<count)
        let effects = try EffectJob(measurer: measurer, vectors: vectors).run(
            progress: progress?("effects", count, "vectors"))
        log(
            "effects: \(effects.measured) measured, \(effects.skipped) from the store, \(effects.failures.count) without a loss crossing"
        )

        // 2. Estimators on the measured effects.
        let dataset = try assembleDataset(measurer: measurer, vectors: vectors)
        let split = EffectDataSplit(validationSize: max(4, dataset.count / 8))
        let estimators = try configuration.estimators.map { try registry.estimator($0) }
        guard let chosen = estimators.first else {
            throw PipelineError.invalidInput(what: "demo configuration", problem: "names no estimator")
        }
        let comparison = try cachedComparison(estimators, dataset: dataset, split: split)
        let estimator = try EstimatorFitting.fit(chosen, on: dataset, split: split, store: store)

        // 3. Vectors for every task and strategy, 4. the sweep and the report.
        let strategies = try configuration.strategies.map { try registry.strategy($0) }
        let claim = StrategyComparison(
            candidate: try registry.strategy(configuration.candidate),
            baselines: try configuration.baselines.map { try registry.strategy($0) })
        let subjects = try TaskVectors(
            store: store, model: model, dictionary: sae, estimator: (estimator.key, estimator.model)
        ).subjects(tasks: tasks, strategies: strategies)
        let settings = EvaluationSettings(site: site, scales: sweep, samples: configuration.samples, seed: 0)
        let judges = EvaluationJudges(
            registry: registry, behaviourJudge: configuration.behaviourJudge,
            coherenceJudge: configuration.coherenceJudge)
        let runner = try EvaluationRunner(
            model: model, store: store, settings: settings,
            behaviourJudges: try judges.behaviour(tasks: tasks, model: model, dictionary: sae),
            coherenceJudge: try judges.coherence(model: model, settings: settings))
        let result = try await runner.run(
            subjects, progress: progress?("evaluation", subjects.count * sweep.count, "cells"))
        log("evaluation: \(result.cells.count) cells, \(result.computedCells) computed now")
        let notes = [
            "Model: \(configuration.modelNote) (\(model.descriptor.layerCount) layers, d_model \(model.descriptor.hiddenSize)), \(assets.model); SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site).",
            "Effects: \(count) probe vectors = unit decoder rows 0..<\(count) of \(probeSAE.descriptor.name); \(measurement.prompts.count) prompts × \(measurement.rolloutsPerPrompt) rollouts of \(measurement.totalLength) tokens (baseline ×\(measurement.baselineMultiplier)); \(effects.failures.count) probes had no loss crossing and were left out.",
            "Calibration: \(calibrationSpec.batchCount) × \(calibrationSpec.batchSize) sequences of 32 tokens from \((assets.calibration as NSString).lastPathComponent); unsteered loss + 0.5 nats; grid \(calibrationGrid.map { String(format: "%g", $0) }.joined(separator: ", ")) (the residual norm at the site is \(String(format: "%.1f", norm))).",
            "Estimators (held-out \(split.validationSize) of \(dataset.count) effects): "
                + comparison.entries.map {
                    "\($0.estimator): R² \(String(format: "%.3f", $0.diagnostics.rSquared)), mean cosine \(String(format: "%.3f", $0.diagnostics.cosine.mean))"
                }.joined(separator: "; ")
                + ". \(configuration.estimatorNote).",
            configuration.judgeNote, configuration.protocolNote,
        ]
        let report = try EvaluationReport.write(
            result, to: configuration.reportDirectory, title: configuration.title, notes: notes, comparison: claim)
        return Output(
            report: report, estimatorTable: comparison.table(), evaluationTable: EvaluationTable.text(result),
            measuredEffects: effects.measured, computedCells: result.computedCells)
    }

    /// Mean ‖residual‖ at `site` over non-BOS positions.
    static func residualNorm(model: any ModelBackend, site: ActivationSite, sequences: [[Int32]]) throws -> Double {
        var total = 0.0
        var count = 0
        for activations in try model.activations(at: site, sequences: sequences) {
            for r in 1..<activations.rows {
                total += Double(Vector.norm(activations.row(r)))
                count += 1
            }
        }
        return total / Double(max(count, 1))
    }

    /// The measured effects as a stored dataset (features = scale × unit vector, effects), in probe order.
    func assembleDataset(measurer: EffectMeasurer, vectors: [ProbeVector]) throws -> any EffectDataSource {
        let measured = try vectors.filter { try measurer.isMeasured($0) }
        let recipe = Recipe(
            kind: .dataset, algorithm: "measured-effects", version: 1,
            parameters: ["effects": .array(measured.map { .string(measurer.effectRecipe(for: $0).key.hex) })])
        if let key = try StoredEffectDataset.find(recipe: recipe, in: store) {
            return try StoredEffectDataset(store: store, key: key)
        }
        let catalog = EffectCatalog(store: store)
        let writer = try EffectDatasetWriter(
            store: store, inputWidth: measurer.model.descriptor.hiddenSize,
            outputWidth: measurer.dictionary.descriptor.featureCount)
        for vector in measured {
            let recipe = measurer.effectRecipe(for: vector)
            let entry = EffectCatalog.Entry(
                effectKey: recipe.key, vectorKey: vector.key, baselineKey: measurer.baselineRecipe.key, recipe: recipe,
                order: "")
            let (input, effect, _) = try catalog.row(entry)
            try writer.append(input: input, effect: effect)
        }
        let key = try writer.finish(recipe: recipe)
        return try StoredEffectDataset(store: store, key: key)
    }

    /// The estimator comparison, stored as an evaluation artifact so a rerun does not refit.
    func cachedComparison(_ estimators: [any EffectEstimator], dataset: any EffectDataSource, split: EffectDataSplit)
        throws -> EffectEstimatorComparison
    {
        let recipe = Recipe(
            kind: .evaluation, algorithm: "estimator-comparison", version: 1,
            parameters: [
                "estimators": .array(
                    estimators.map { .object(["name": .string($0.name), "parameters": .object($0.parameters)]) }),
                "validationSize": .int(split.validationSize),
            ],
            inputs: ["dataset": dataset.digest])
        if let stored = try store.get(recipe.key) { return try stored.decodeJSON(EffectEstimatorComparison.self) }
        let comparison = try EffectEstimatorComparison.run(estimators, on: dataset, split: split, store: store)
        try store.put(recipe: recipe, json: comparison)
        return comparison
    }
}
