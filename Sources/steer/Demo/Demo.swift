import ArgumentParser
import ArtifactStore
import Estimators
import Foundation
import Judges
import Pipeline
import SteeringCore
import SteeringPlugins

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole SAE-TS method on the embedded demo model and write an HTML report.",
        discussion: """
            Measures the effects of probe vectors (decoder rows of the wider demo SAE) with per-vector scale \
            calibration, fits the ridge and linear-adam estimators and compares them, builds CAA, SAE-direct and \
            SAE-TS vectors for the demo tasks, sweeps scales scored by the offline judges (task lexicon for \
            behaviour, the unsteered model's log-likelihood for coherence), and writes the report. Protocol sizes \
            are reduced to fit in minutes on two cores (the report states them); --full uses the method's sizes. \
            Everything is cached in the store, so a second run only reads.
            """)

    @Option(help: "The demo assets (model, SAEs, tasks, calibration text).")
    var demoDirectory = "Demo"

    @Option(help: "Artifact store of the demo.")
    var store = ".steer-demo/store"

    @Option(help: "Where the report is written.")
    var report = ".steer-demo/report"

    @Option(help: "Probe vectors (rows of the wider SAE) to measure.")
    var probes = 128

    @Option(help: "Completions per evaluation cell (default 32; 256 with --full).")
    var samples: Int?

    @Option(help: "Steered rollouts per prompt when measuring effects (default 8; 64 with --full).")
    var rollouts: Int?

    @Flag(
        help:
            "Use the method's own protocol sizes (14 prompts × 64 rollouts, baseline ×10, 2 × 64 calibration sequences, 256 samples per cell)."
    )
    var full = false

    func validate() throws {
        guard probes >= 16 else {
            throw ValidationError("--probes must be at least 16 (the estimators need training rows).")
        }
    }

    func run() async throws {
        let started = ProgressReporter.now()
        let assets = try DemoAssets(directory: demoDirectory)
        let registry = PluginRegistry.standard
        let model = try registry.backend("gemma2", PluginOptions(path: assets.model))
        let sae = try registry.dictionary("jumprelu", PluginOptions(path: assets.sae))
        let probeSAE = try registry.dictionary("jumprelu", PluginOptions(path: assets.probeSAE))
        guard let site = sae.descriptor.site else { throw ValidationError("The demo SAE's layer is unknown.") }
        try FileManager.default.createDirectory(
            atPath: (store as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let artifacts = try ArtifactStore(path: store)
        let tasks = try assets.taskFiles.map(DemoAssets.task)
        printError(
            "demo: model \(model.descriptor.name), SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site), \(tasks.count) tasks"
        )

        // Scales are set relative to the residual norm at the site, as the method's 0…200 grid is for
        // Gemma-2-2B's layer-12 norms.
        let calibrationSpec = CalibrationSetSpec(
            sequenceLength: 32, batchSize: full ? 64 : 16, batchCount: full ? 2 : 1, seed: 42)
        let calibration = try CalibrationSet(path: assets.calibration, model: model, spec: calibrationSpec)
        let norm = try residualNorm(model: model, site: site, sequences: calibration.batches[0])
        let unit = Float((norm / 10).rounded(.up))
        let calibrationGrid = (0...10).map { Float($0) * 2 * unit }
        let sweep = (0...(full ? 15 : 7)).map { Float($0) * (full ? 2 : 4) * unit }
        let measurement = MeasurementProtocol(
            site: site, rolloutsPerPrompt: rollouts ?? (full ? 64 : 8), totalLength: 32,
            baselineMultiplier: full ? 10 : 4, seed: 0)

        // 1. Effects of probe vectors.
        let measurer = try EffectMeasurer(
            model: model, dictionary: sae, store: artifacts, measurement: measurement,
            scaling: .calibrated(calibration, CalibrationSettings(grid: calibrationGrid, target: .aboveBaseline(0.5))))
        let count = min(probes, probeSAE.descriptor.featureCount)
        let vectors = try ProbeVector.decoderRows(of: probeSAE, range: 0..<count)
        let effects = try EffectJob(measurer: measurer, vectors: vectors).run(
            progress: ProgressReporter(label: "effects", total: count, unit: "vectors"))
        printError(
            "effects: \(effects.measured) measured, \(effects.skipped) from the store, \(effects.failures.count) without a loss crossing"
        )

        // 2. Estimators on the measured effects.
        let dataset = try assembleDataset(store: artifacts, measurer: measurer, vectors: vectors)
        let split = EffectDataSplit(validationSize: max(4, dataset.count / 8))
        let ridge = try registry.estimator("ridge")
        let adam = try registry.estimator("linear-adam")
        let comparison = try cachedComparison([ridge, adam], dataset: dataset, split: split, store: artifacts)
        print(comparison.table())
        let estimator = try EstimatorFitting.fit(ridge, on: dataset, split: split, store: artifacts)

        // 3. Vectors for every task and strategy, 4. the sweep and the report.
        let strategies = try ["caa", "sae-direct", "sae-ts"].map { try registry.strategy($0) }
        let subjects = try TaskVectors(
            store: artifacts, model: model, dictionary: sae, estimator: (estimator.key, estimator.model)
        ).subjects(tasks: tasks, strategies: strategies)
        let settings = EvaluationSettings(site: site, scales: sweep, samples: samples ?? (full ? 256 : 32), seed: 0)
        let judges = JudgeOptions.defaultsForDemo
        let runner = try EvaluationRunner(
            model: model, store: artifacts, settings: settings,
            behaviourJudges: try judges.behaviour(tasks: tasks, model: model, dictionary: sae),
            coherenceJudge: try judges.coherence(model: model, settings: settings))
        let result = try await runner.run(
            subjects,
            progress: ProgressReporter(label: "evaluation", total: subjects.count * sweep.count, unit: "cells"))
        print(EvaluationTable.text(result))
        printError("evaluation: \(result.cells.count) cells, \(result.computedCells) computed now")
        let notes = [
            "Model: the embedded demo Gemma-2 (\(model.descriptor.layerCount) layers, d_model \(model.descriptor.hiddenSize)), Demo/model; SAE \(sae.descriptor.name) (\(sae.descriptor.featureCount) features) at \(site).",
            "Effects: \(count) probe vectors = unit decoder rows 0..<\(count) of \(probeSAE.descriptor.name); \(measurement.prompts.count) prompts × \(measurement.rolloutsPerPrompt) rollouts of \(measurement.totalLength) tokens (baseline ×\(measurement.baselineMultiplier)); \(effects.failures.count) probes had no loss crossing and were left out.",
            "Calibration: \(calibrationSpec.batchCount) × \(calibrationSpec.batchSize) sequences of 32 tokens from \((assets.calibration as NSString).lastPathComponent); unsteered loss + 0.5 nats; grid \(calibrationGrid.map { String(format: "%g", $0) }.joined(separator: ", ")) (the residual norm at the site is \(String(format: "%.1f", norm))).",
            "Estimators (held-out \(split.validationSize) of \(dataset.count) effects): "
                + comparison.entries.map {
                    "\($0.estimator): R² \(String(format: "%.3f", $0.diagnostics.rSquared)), mean cosine \(String(format: "%.3f", $0.diagnostics.cosine.mean))"
                }.joined(separator: "; ")
                + ". SAE-TS uses ridge (chosen before any evaluation: closed form, λ by cross-validation).",
            "Judges: behaviour = the task lexicon (whole-word matches, saturating at 3), coherence = the unsteered model's mean log-likelihood, anchored on its own unsteered completions. No LLM judge is used; these judges were not tuned on these results.",
            full
                ? "Protocol: the method's full sizes (--full)."
                : "Protocol reduced to fit on two cores; `steer demo --full` runs the method's sizes.",
        ]
        let output = try EvaluationReport.write(
            result, to: report, title: "SAE-TS on the embedded demo model", notes: notes)
        printError(String(format: "demo finished in %.0f s; report: %@", ProgressReporter.now() - started, output.html))
        print(output.html)
    }

    /// Mean ‖residual‖ at `site` over non-BOS positions.
    private func residualNorm(model: any ModelBackend, site: ActivationSite, sequences: [[Int32]]) throws -> Double {
        var total = 0.0, count = 0
        for activations in try model.activations(at: site, sequences: sequences) {
            for r in 1..<activations.rows {
                total += Double(Vector.norm(activations.row(r)))
                count += 1
            }
        }
        return total / Double(max(count, 1))
    }

    /// The measured effects as a stored dataset (features = scale × unit vector, effects), in probe order.
    private func assembleDataset(store: ArtifactStore, measurer: EffectMeasurer, vectors: [ProbeVector]) throws
        -> any EffectDataSource
    {
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
            let (input, effect) = try catalog.row(entry)
            try writer.append(input: input, effect: effect)
        }
        let key = try writer.finish(recipe: recipe)
        return try StoredEffectDataset(store: store, key: key)
    }

    /// The estimator comparison, stored as an evaluation artifact so a rerun does not refit.
    private func cachedComparison(
        _ estimators: [any EffectEstimator], dataset: any EffectDataSource, split: EffectDataSplit, store: ArtifactStore
    ) throws -> EffectEstimatorComparison {
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

extension JudgeOptions {
    /// The offline judges the demo uses.
    static var defaultsForDemo: JudgeOptions {
        try! JudgeOptions.parse(["--behaviour-judge", "lexicon", "--coherence-judge", "coherence-loglik"])
    }
}
