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
    /// Where the probe effects come from.
    public enum EffectSource: Sendable {
        /// Measure rows `0..<probes` of the probe dictionary now, each at its calibrated scale.
        case measured
        /// An exported dataset (``ShippedEffects``) measured with `measurement` at one fixed `scale`;
        /// `recheck` of its probes, drawn with seed 0, are measured again now and compared with it.
        case shipped(file: String, measurement: MeasurementProtocol, scale: Float, recheck: Int)
    }

    /// What to run: the plugins by name, the assets and the protocol sizes.
    public struct Configuration: Sendable {
        /// Model backend and dictionary plugin names (`gemma2`, `jumprelu`, …).
        public var backend: String
        public var dictionary: String
        /// The model, measuring dictionary, probe dictionary, calibration text and task files.
        public var assets: DemoAssets
        /// Where the probe effects come from (default: measured now).
        public var effects: EffectSource = .measured
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
        /// Options per estimator name (`linear-adam`: `patience=10`, say).
        public var estimatorOptions: [String: [String: String]] = [:]
        /// Held-out rows of the effect dataset (its last rows; default: an eighth, at least 4).
        public var validationSize: Int?
        /// Scales of the sweep; default `0, 1, …` × ``sweepStepUnits`` × a tenth of the residual norm.
        public var sweepScales: [Float]?
        /// Strategies built for every task (registry names) and the claim the report tests.
        public var strategies: [String]
        public var candidate: String
        public var baselines: [String]
        /// Judges (registry names).
        public var behaviourJudge: String
        public var coherenceJudge: String
        /// Behaviour judges that score the same completions again as second opinions: their own best
        /// scales, tables and verdicts in the report (the mechanism and side-by-side follow the main judge).
        public var secondBehaviourJudges: [String] = []
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
                sweepStepUnits: full ? 2 : 4, samples: full ? 256 : 32,
                estimators: ["ridge", "linear-adam", "mean-effect"],
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

        /// google/gemma-3-270m with the dictionary, tasks and effect dataset of `Demo/gemma3-270m/`
        /// (Docs/Gemma3Demo.md): the shipped effects (scale 140, 14 prompts × 4 rollouts × 32 tokens,
        /// baseline × 10) with 8 of them measured again; ridge, linear-adam run to convergence and the
        /// b-only floor on the last 128 rows held out; the sweep 0, 80, 160, 240 (up to 1.7 × the probe scale,
        /// which raises the loss by about 0.5 nats; four points to fit the time); behaviour judged by the target features on the re-encoded
        /// completions, coherence by the unsteered model's log-likelihood.
        public static func gemma3(
            assets: DemoAssets, effects: String, reportDirectory: String, samples: Int = 48, recheck: Int = 8
        ) -> Configuration {
            let measurement = MeasurementProtocol(
                site: ActivationSite(layer: 6), rolloutsPerPrompt: 4, totalLength: 32, baselineMultiplier: 10, seed: 0)
            var configuration = Configuration(
                backend: "gemma3", dictionary: "jumprelu", assets: assets, probes: 0, rolloutsPerPrompt: 4,
                baselineMultiplier: 10, calibrationBatchSize: 0, calibrationBatches: 0, sweepPoints: 4,
                sweepStepUnits: 80, samples: samples, estimators: ["ridge", "linear-adam", "mean-effect"],
                strategies: ["caa", "sae-direct", "sae-ts"], candidate: "sae-ts", baselines: ["sae-direct", "caa"],
                behaviourJudge: "feature-activation", coherenceJudge: "coherence-loglik",
                title: "SAE-TS on google/gemma-3-270m", reportDirectory: reportDirectory,
                modelNote: "google/gemma-3-270m (pretrained base, Q4_K_M GGUF)",
                estimatorNote:
                    "SAE-TS uses ridge (chosen before any evaluation: closed form, λ by 5-fold cross-validation); linear-adam runs Adam at learning rate 10⁻³, batch 64, cosine-annealed over a cap of 300 epochs, and stops once 10 epochs in a row have not lowered the epoch's mean training loss by 0.1 %",
                judgeNote:
                    "Judges: behaviour = the task's target features on the completion re-encoded (unsteered) by the SAE, 1 + 9·min(1, activation / the 90th percentile on the task's positive prompts); second opinion on behaviour = the task lexicon (whole-word matches, saturating at 3) on the same completions; coherence = the unsteered model's mean log-likelihood, anchored on its own unsteered completions. No LLM judge; no judge was tuned on these results.",
                protocolNote:
                    "Sizes chosen for time (the whole demo in about 15 minutes on two cores), not tuned on results: \(samples) completions per cell, four scales; the intervals say what these sizes can resolve."
            )
            configuration.effects = .shipped(file: effects, measurement: measurement, scale: 140, recheck: recheck)
            configuration.estimatorOptions = [
                "linear-adam": ["learning-rate": "1e-3", "epochs": "300", "patience": "10", "tolerance": "1e-3"]
            ]
            configuration.validationSize = 128
            configuration.sweepScales = [0, 80, 160, 240]
            configuration.secondBehaviourJudges = ["lexicon"]
            return configuration
        }
    }

    /// What a run produced.
    public struct Output: Sendable {
        public var report: EvaluationReport.Output
        public var estimatorTable: String
        public var evaluationTable: String
        /// The sweep re-scored by each second behaviour judge.
        public var secondOpinions: [EvaluationReport.SecondOpinion]
        /// Effects measured now (the rest came from the store) and evaluation cells computed now.
        public var measuredEffects: Int
        public var computedCells: Int
        /// Shipped probes measured again and compared (empty when effects were measured in the run).
        public var rechecks: [ShippedEffects.Recheck]
        /// Each evaluated vector's measured effect on its targets against the rest.
        public var mechanism: [SteeringMechanism]
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
        guard let site = sae.descriptor.site else {
            throw PipelineError.invalidInput(what: "dictionary \(assets.sae)", problem: "its layer is unknown")
        }
        let tasks = try assets.taskFiles.map(DemoAssets.task)
        log(
            "demo: model \(model.descriptor.name), SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site), \(tasks.count) tasks"
        )

        // 1. Effects of probe vectors: measured now, or shipped and spot-checked.
        let effects: ProbeEffects
        switch configuration.effects {
        case .measured:
            effects = try measureProbes(configuration, model: model, sae: sae, site: site)
        case .shipped(let file, let measurement, let scale, let recheck):
            effects = try shippedProbes(
                file: file, measurement: measurement, scale: scale, recheck: recheck, model: model, sae: sae)
        }
        // Estimators visit the rows many times (linear-adam: every epoch); a demo-sized dataset is read once.
        let dataset = try Self.inMemory(effects.dataset)
        let sweep =
            configuration.sweepScales
            ?? (0..<configuration.sweepPoints).map { Float($0) * configuration.sweepStepUnits * effects.scaleUnit }

        // 2. Estimators on the effects, next to the b-only floor.
        let split = EffectDataSplit(validationSize: configuration.validationSize ?? max(4, dataset.count / 8))
        let estimators = try configuration.estimators.map {
            try registry.estimator($0, PluginOptions(values: configuration.estimatorOptions[$0] ?? [:]))
        }
        guard let chosen = estimators.first else {
            throw PipelineError.invalidInput(what: "demo configuration", problem: "names no estimator")
        }
        let comparison = try cachedComparison(estimators, dataset: dataset, split: split)
        let estimator = try EstimatorFitting.fit(chosen, on: dataset, split: split, store: store)
        log(
            "estimators: \(comparison.entries.count) fitted on \(comparison.trainingRows) effects, \(split.validationSize) held out"
        )

        // 3. Vectors for every task and strategy, 4. the sweep, 5. the mechanism and the report.
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
        let coherenceJudge = try judges.coherence(model: model, settings: settings)
        let runner = try EvaluationRunner(
            model: model, store: store, settings: settings,
            behaviourJudges: try judges.behaviour(tasks: tasks, model: model, dictionary: sae),
            coherenceJudge: coherenceJudge)
        let result = try await runner.run(
            subjects, progress: progress?("evaluation", subjects.count * sweep.count, "cells"))
        log("evaluation: \(result.cells.count) cells, \(result.computedCells) computed now")
        // Second opinions read the stored generations and coherence scores; only behaviour is scored.
        var secondOpinions = [EvaluationReport.SecondOpinion]()
        for name in configuration.secondBehaviourJudges {
            let other = EvaluationJudges(
                registry: registry, behaviourJudge: name, coherenceJudge: configuration.coherenceJudge)
            let rescored = try await EvaluationRunner(
                model: model, store: store, settings: settings,
                behaviourJudges: try other.behaviour(tasks: tasks, model: model, dictionary: sae),
                coherenceJudge: coherenceJudge
            ).run(subjects)
            secondOpinions.append(EvaluationReport.SecondOpinion(judge: name, result: rescored))
            log("second opinion: behaviour by \(name) on the same \(rescored.cells.count) cells")
        }
        let bestScales = Dictionary(
            result.summaries.map { ("\($0.task)/\($0.strategy)", $0.bestScale) }, uniquingKeysWith: { a, _ in a })
        let mechanism = try SteeringMechanism.measure(
            subjects, tasks: tasks, scales: bestScales, model: model, dictionary: sae, store: store,
            measurement: effects.measurement, progress: progress?("mechanism", subjects.count, "vectors"))
        let notes =
            [
                "Model: \(configuration.modelNote) (\(model.descriptor.layerCount) layers, d_model \(model.descriptor.hiddenSize)), \(assets.model); SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site)."
            ] + effects.notes + [
                "Estimators (held-out \(split.validationSize) of \(dataset.count) effects, the last rows; mean-effect is the b-only predictor every map must beat): "
                    + comparison.entries.map { entry in
                        let stopped = entry.work.flatMap { $0.done < $0.total ? " (stopped after \($0.text))" : nil }
                        return
                            "\(entry.estimator): R² \(String(format: "%.3f", entry.diagnostics.rSquared)), mean cosine \(String(format: "%.3f", entry.diagnostics.cosine.mean))\(stopped ?? "")"
                    }.joined(separator: "; ")
                    + ". \(configuration.estimatorNote).",
                configuration.judgeNote, configuration.protocolNote,
            ]
        let report = try EvaluationReport.write(
            result, to: configuration.reportDirectory, title: configuration.title, notes: notes, comparison: claim,
            mechanism: mechanism, secondOpinions: secondOpinions)
        return Output(
            report: report, estimatorTable: comparison.table(), evaluationTable: EvaluationTable.text(result),
            secondOpinions: secondOpinions,
            measuredEffects: effects.measured, computedCells: result.computedCells, rechecks: effects.rechecks,
            mechanism: mechanism)
    }

    /// The probe effects a run works from, how they were measured and what the report says of them.
    struct ProbeEffects {
        var dataset: any EffectDataSource
        var measurement: MeasurementProtocol
        /// Effects measured in this run (the rest came from the store or the shipped file).
        var measured: Int
        /// A tenth of the residual norm at the site (the default sweep's unit; 1 when not computed).
        var scaleUnit: Float
        var rechecks: [ShippedEffects.Recheck]
        var notes: [String]
    }

    /// Measures rows `0..<probes` of the probe dictionary, each at its calibrated scale.
    func measureProbes(
        _ configuration: Configuration, model: any ModelBackend, sae: any FeatureDictionary, site: ActivationSite
    ) throws -> ProbeEffects {
        let assets = configuration.assets
        let probeSAE = try registry.dictionary(configuration.dictionary, PluginOptions(path: assets.probeSAE))
        // Scales are set relative to the residual norm at the site, as the method's 0…200 grid is for
        // Gemma-2-2B's layer-12 norms.
        let calibrationSpec = CalibrationSetSpec(
            sequenceLength: 32, batchSize: configuration.calibrationBatchSize,
            batchCount: configuration.calibrationBatches, seed: 42)
        let calibration = try CalibrationSet(path: assets.calibration, model: model, spec: calibrationSpec)
        let norm = try Self.residualNorm(model: model, site: site, sequences: calibration.batches[0])
        let unit = Float((norm / 10).rounded(.up))
        let calibrationGrid = (0...10).map { Float($0) * 2 * unit }
        let measurement = MeasurementProtocol(
            site: site, rolloutsPerPrompt: configuration.rolloutsPerPrompt, totalLength: 32,
            baselineMultiplier: configuration.baselineMultiplier, seed: 0)
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
        let notes = [
            "Effects: \(count) probe vectors = unit decoder rows 0..<\(count) of \(probeSAE.descriptor.name); \(measurement.prompts.count) prompts × \(measurement.rolloutsPerPrompt) rollouts of \(measurement.totalLength) tokens (baseline ×\(measurement.baselineMultiplier)); \(effects.failures.count) probes had no loss crossing and were left out.",
            "Calibration: \(calibrationSpec.batchCount) × \(calibrationSpec.batchSize) sequences of 32 tokens from \((assets.calibration as NSString).lastPathComponent); unsteered loss + 0.5 nats; grid \(calibrationGrid.map { String(format: "%g", $0) }.joined(separator: ", ")) (the residual norm at the site is \(String(format: "%.1f", norm))).",
        ]
        return ProbeEffects(
            dataset: try assembleDataset(measurer: measurer, vectors: vectors), measurement: measurement,
            measured: effects.measured, scaleUnit: unit, rechecks: [], notes: notes)
    }

    /// Imports a shipped dataset and measures `recheck` of its probes again, live.
    func shippedProbes(
        file: String, measurement: MeasurementProtocol, scale: Float, recheck: Int, model: any ModelBackend,
        sae: any FeatureDictionary
    ) throws -> ProbeEffects {
        let shipped = try ShippedEffects(path: file)
        let imported = try EffectDatasetImport.importSafetensors(file, into: store)
        let dataset = try StoredEffectDataset(store: store, key: imported.key)
        let measurer = try EffectMeasurer(
            model: model, dictionary: sae, store: store, measurement: measurement, scaling: .fixed(scale))
        let sample = shipped.sample(recheck, seed: 0)
        let fresh = try shipped.probes(sample, of: sae).filter { try !measurer.isMeasured($0) }.count
        log(
            "effects: \(shipped.count) shipped in \((file as NSString).lastPathComponent); measuring \(sample.count) of them again (\(fresh) not yet in the store)"
        )
        let rechecks = try shipped.recheck(measurer, rows: sample)
        let agreeing = rechecks.filter(\.agrees).count
        let exact = rechecks.filter { $0.agrees && $0.crossings == 0 }.count
        let crossed = rechecks.filter { $0.agrees && $0.crossings > 0 }
        let worst = rechecks.map(\.maxDifference).max() ?? 0
        log(
            String(
                format:
                    "recheck: %d of %d probes agree with the shipped effects (%d within rounding, %d up to a JumpReLU threshold crossing; largest |difference| %.2e)",
                agreeing, rechecks.count, exact, crossed.count, worst))
        let positions = measurement.averagedPositions
        let crossingText =
            crossed.isEmpty
            ? ""
            : " "
                + crossed.map {
                    "Decoder row \($0.probe) differs on feature\($0.crossingFeatures.count == 1 ? "" : "s") \($0.crossingFeatures.map(String.init).joined(separator: ", ")) by \($0.crossings == 1 ? "one threshold crossing" : "\($0.crossings) threshold crossings") (θ/\(positions) each: one position of \(positions) whose pre-activation sits at the JumpReLU threshold θ, flipped by rounding)."
                }.joined(separator: " ")
        let notes = [
            "Effects: \(shipped.count) shipped probe effects (\(file)): unit decoder rows of \(sae.descriptor.name) at scale \(String(format: "%g", scale)); \(measurement.prompts.count) prompts × \(measurement.rolloutsPerPrompt) rollouts of \(measurement.totalLength) tokens, top-k \(measurement.topK), seed \(measurement.seed) (baseline ×\(measurement.baselineMultiplier)); measured by `steer effects measure` and exported in f16.",
            "Live recheck: \(rechecks.count) shipped probes drawn with seed 0 (decoder rows \(rechecks.map { String($0.probe) }.joined(separator: ", "))) measured again with the same protocol and seeds, baseline included: \(agreeing) of \(rechecks.count) agree. The rule: every feature within |live − shipped| ≤ 2⁻¹⁰·|shipped| + 10⁻³ (f16 storage and float rounding), or within that of one or two JumpReLU threshold crossings (at most two per probe); \(exact) agree within rounding alone. Largest difference \(String(format: "%.2e", worst)) (largest shipped |effect| \(String(format: "%.2f", rechecks.map(\.maxEffect).max() ?? 0))).\(crossingText)",
        ]
        return ProbeEffects(
            dataset: dataset, measurement: measurement, measured: fresh, scaleUnit: 1, rechecks: rechecks, notes: notes)
    }

    /// `data` read into memory under its own digest when it takes at most `limit` bytes (else `data`).
    static func inMemory(_ data: any EffectDataSource, limit: Int = 1 << 28) throws -> any EffectDataSource {
        guard data.count * (data.inputWidth + data.outputWidth) * 4 <= limit, data.count > 0 else { return data }
        let (inputs, effects) = try data.read(rows: Array(0..<data.count))
        return try InMemoryEffectDataset(inputs: inputs, effects: effects, digest: data.digest)
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
