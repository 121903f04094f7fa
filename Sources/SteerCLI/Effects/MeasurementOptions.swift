import ArgumentParser
import Foundation
import Pipeline
import SteeringCore

/// The measurement protocol and scale rule as command-line options (defaults: the method's).
struct MeasurementOptions: ParsableArguments {
    @Option(
        help: "File of prompts, one per line (default: the method's 14 prompts; an empty line is the empty prompt).")
    var promptsFile: String?

    @Option(help: "Steered rollouts per prompt.")
    var rollouts = 64

    @Option(help: "Total tokens per rollout, BOS and prompt included.")
    var length = 32

    @Option(help: "Baseline rollouts per prompt = this × --rollouts.")
    var baselineMultiplier = 10

    @Option(help: "Sampler seed.")
    var seed: UInt64 = 0

    @Option(help: "Calibration text (plain text, documents separated by blank lines, or JSONL with a \"text\" field).")
    var calibration: String?

    @Option(help: "Use this scale for every vector instead of calibrating.")
    var scale: Float?

    @Option(
        help: "Calibrate to this absolute mean loss (the method's code used 4.0 for 2B) instead of baseline + delta.")
    var targetLoss: Double?

    @Option(help: "Calibrate to the unsteered loss plus this margin (the paper: 0.5).")
    var targetDelta = 0.5

    @Option(help: "Scale grid walked by the calibration, START:STEP:END (the method's 0:20:200).")
    var scaleGrid = "0:20:200"

    @Option(help: "Calibration batches.")
    var calibrationBatches = 2

    @Option(help: "Sequences per calibration batch.")
    var calibrationBatchSize = 64

    @Option(help: "Seed of the calibration shuffle.")
    var calibrationSeed: UInt64 = 42

    @Option(
        help: ArgumentHelp(
            "How the passes run: capture (read the site while generating; calibration from cached site residuals) or reencode (the method's separate re-encode pass and full calibration passes).",
            discussion:
                "Default: capture where the backend supports it. The two differ in float rounding only; their artifacts have different keys."
        ))
    var execution: String?

    @Option(
        help: ArgumentHelp(
            "With capture, probes share one generation until their rollouts reach this many rows.",
            discussion:
                "A killed job loses at most one such group of probes; the rows per probe are prompts × --rollouts."
        ))
    var batchRows = 1024

    /// The ``MeasurementExecution`` asked for (nil: the measurer's default).
    func measurementExecution() throws -> MeasurementExecution? {
        guard let execution else { return nil }
        guard let value = MeasurementExecution(rawValue: execution) else {
            throw ValidationError("--execution must be capture or reencode, got '\(execution)'.")
        }
        return value
    }

    func measurementProtocol(layer: Int) throws -> MeasurementProtocol {
        var prompts = MeasurementProtocol.methodPrompts
        if let promptsFile {
            guard let text = try? String(contentsOfFile: promptsFile, encoding: .utf8) else {
                throw ValidationError("--prompts-file \(promptsFile): cannot be read as UTF-8 text.")
            }
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            prompts = lines
        }
        return MeasurementProtocol(
            site: ActivationSite(layer: layer), prompts: prompts, rolloutsPerPrompt: rollouts, totalLength: length,
            baselineMultiplier: baselineMultiplier, seed: seed)
    }

    func scaling(model: any ModelBackend) throws -> EffectMeasurer.Scaling {
        if (calibration == nil) == (scale == nil) {
            throw ValidationError("Give exactly one of --calibration FILE (per-vector scale calibration) or --scale S.")
        }
        if let scale { return .fixed(scale) }
        let set = try CalibrationSet(
            path: calibration!, model: model,
            spec: CalibrationSetSpec(
                sequenceLength: 32, batchSize: calibrationBatchSize, batchCount: calibrationBatches,
                seed: calibrationSeed))
        guard batchRows >= 1 else { throw ValidationError("--batch-rows must be ≥ 1, got \(batchRows).") }
        let target: CalibrationTarget = targetLoss.map { .absolute($0) } ?? .aboveBaseline(targetDelta)
        let parts = scaleGrid.split(separator: ":").compactMap { Float($0) }
        guard parts.count == 3, parts[1] > 0, parts[2] > parts[0] else {
            throw ValidationError("--scale-grid must be START:STEP:END with STEP > 0 and END > START, e.g. 0:20:200.")
        }
        let grid = Array(stride(from: parts[0], through: parts[2] + parts[1] / 1000, by: parts[1]))
        return .calibrated(set, CalibrationSettings(grid: grid, target: target))
    }
}
