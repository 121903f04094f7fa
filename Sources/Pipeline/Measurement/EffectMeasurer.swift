import ArtifactStore
import Foundation
import SteeringCore

/// One measured effect, as stored.
public struct MeasuredEffect: Sendable {
    /// Key of the `effect` artifact.
    public var effectKey: ContentDigest
    /// Key of the probe's `vector` artifact.
    public var vectorKey: ContentDigest
    /// The scale the vector was applied at.
    public var scale: Float
    /// Mean feature activation of the steered rollouts minus the baseline's (`d_sae` values).
    public var effect: [Float]
    /// Whether the artifact was already in the store (nothing was computed).
    public var cached: Bool
}

/// Measures what a steering vector does to the features of a dictionary (method.md §2): steer the
/// model at the site, sample rollouts, re-encode them *unsteered* up to the site, average the
/// feature activations over every position, and subtract the unsteered baseline.
///
/// Every result — baseline, calibrated scale, effect — is a content-addressed artifact, so an
/// interrupted job resumes where it stopped and a repeated one computes nothing.
public final class EffectMeasurer: Sendable {
    public let model: any ModelBackend
    public let dictionary: any FeatureDictionary
    public let store: ArtifactStore
    public let measurement: MeasurementProtocol
    /// How scales are chosen: calibrated per vector, or one fixed scale for every vector.
    public let scaling: Scaling
    /// Sequences per forward pass when re-encoding.
    public let encodeBatchSize: Int

    /// The scale rule.
    public enum Scaling: Sendable {
        case calibrated(CalibrationSet, CalibrationSettings)
        case fixed(Float)
    }

    public init(
        model: any ModelBackend, dictionary: any FeatureDictionary, store: ArtifactStore,
        measurement: MeasurementProtocol, scaling: Scaling, encodeBatchSize: Int = 64
    ) throws {
        try measurement.validate()
        try dictionary.checkCompatible(with: model.descriptor)
        if let site = dictionary.descriptor.site, site != measurement.site {
            throw PipelineError.invalidInput(
                what: "dictionary \(dictionary.descriptor.name)",
                problem: "reads \(site) but the measurement steers and reads \(measurement.site); "
                    + "use an SAE trained at the measured site (or pass the matching --layer)")
        }
        guard (0..<model.descriptor.layerCount).contains(measurement.site.layer) else {
            throw SteeringError.indexOutOfRange(
                what: "measurement layer", index: measurement.site.layer, validRange: 0..<model.descriptor.layerCount)
        }
        for prompt in measurement.prompts {
            let length = model.encode(prompt, addBOS: true).count
            guard length <= measurement.totalLength else {
                throw PipelineError.invalidInput(
                    what: "prompt \(prompt.debugDescription)",
                    problem: "is \(length) tokens with BOS, longer than the total length \(measurement.totalLength)")
            }
        }
        if case .fixed(let scale) = scaling, !scale.isFinite {
            throw PipelineError.invalidInput(what: "--scale", problem: "must be finite")
        }
        self.model = model
        self.dictionary = dictionary
        self.store = store
        self.measurement = measurement
        self.scaling = scaling
        self.encodeBatchSize = encodeBatchSize
    }

    // MARK: Recipes

    var commonInputs: [String: ContentDigest] {
        ["model": model.descriptor.fingerprint, "dictionary": dictionary.descriptor.fingerprint]
    }

    /// Recipe of the baseline (unsteered mean features).
    public var baselineRecipe: Recipe {
        Recipe(
            kind: .baseline, algorithm: "baseline-features", version: 1,
            parameters: ["protocol": measurement.recipeValue], inputs: commonInputs)
    }

    /// Recipe of a vector's calibrated scale (`nil` with a fixed scale).
    public func calibrationRecipe(for vector: ProbeVector) -> Recipe? {
        guard case .calibrated(let set, let settings) = scaling else { return nil }
        return Recipe(
            kind: .calibration, algorithm: "loss-calibration", version: 1,
            parameters: [
                "calibrationSet": set.recipeValue, "settings": settings.recipeValue,
                "layer": .int(measurement.site.layer),
            ],
            inputs: ["model": model.descriptor.fingerprint, "vector": vector.key])
    }

    /// Recipe of a vector's effect.
    public func effectRecipe(for vector: ProbeVector) -> Recipe {
        var inputs = commonInputs
        inputs["vector"] = vector.key
        inputs["baseline"] = baselineRecipe.key
        var parameters: [String: RecipeValue] = ["protocol": measurement.recipeValue]
        switch scaling {
        case .fixed(let scale): parameters["scale"] = .double(Double(scale))
        case .calibrated: inputs["calibration"] = calibrationRecipe(for: vector)!.key
        }
        return Recipe(
            kind: .effect, algorithm: "effect-measurement", version: 1, parameters: parameters, inputs: inputs)
    }

    // MARK: Measuring

    /// The unsteered mean features, computed once per protocol and cached.
    public func baseline() throws -> [Float] {
        let recipe = baselineRecipe
        if let artifact = try store.get(recipe.key) { return try artifact.floats() }
        let mean = try meanFeatures(steering: nil, repetitions: 1...measurement.baselineMultiplier)
        try store.put(recipe: recipe, floats: mean, shape: [mean.count])
        return mean
    }

    /// The calibrated (or fixed) scale of `vector`, cached.
    public func scale(for vector: ProbeVector) throws -> Float {
        switch scaling {
        case .fixed(let scale): return scale
        case .calibrated(let set, let settings):
            let recipe = calibrationRecipe(for: vector)!
            if let artifact = try store.get(recipe.key) {
                return try artifact.decodeJSON(CalibrationResult.self).scale
            }
            try storeVector(vector)
            let result = try ScaleCalibration.calibrate(settings: settings) { scale in
                let interventions =
                    scale == 0
                    ? [] : [Intervention(site: measurement.site, vector: vector.values, scale: scale, positions: .all)]
                var total = 0.0
                for batch in set.batches {
                    let losses = try model.nextTokenLoss(sequences: batch, interventions: interventions)
                    total += losses.reduce(0, +) / Double(losses.count)
                }
                return total / Double(set.batches.count)
            }
            try store.put(recipe: recipe, json: result)
            return result.scale
        }
    }

    /// Measures (or loads) the effect of `vector`.
    public func measure(_ vector: ProbeVector) throws -> MeasuredEffect {
        guard vector.values.count == model.descriptor.hiddenSize else {
            throw SteeringError.shapeMismatch(
                what: "probe vector \(vector.label)", expected: "\(model.descriptor.hiddenSize) values (d_model)",
                got: "\(vector.values.count) values")
        }
        let recipe = effectRecipe(for: vector)
        let scale = try self.scale(for: vector)
        if let artifact = try store.get(recipe.key) {
            return MeasuredEffect(
                effectKey: recipe.key, vectorKey: vector.key, scale: scale, effect: try artifact.floats(), cached: true)
        }
        let base = try baseline()
        try storeVector(vector)
        let steering = Intervention(
            site: measurement.site, vector: vector.values, scale: scale, positions: measurement.positions)
        let steered = try meanFeatures(steering: steering, repetitions: 0...0)
        let effect = zip(steered, base).map { $0 - $1 }
        try store.put(recipe: recipe, floats: effect, shape: [effect.count])
        return MeasuredEffect(effectKey: recipe.key, vectorKey: vector.key, scale: scale, effect: effect, cached: false)
    }

    /// Whether `vector`'s effect is already stored.
    public func isMeasured(_ vector: ProbeVector) throws -> Bool { try store.has(effectRecipe(for: vector).key) }

    private func storeVector(_ vector: ProbeVector) throws {
        if try !store.has(vector.key) {
            try store.put(recipe: vector.recipe, floats: vector.values, shape: [vector.values.count])
        }
    }

    /// Mean features over every position of the rollouts of every prompt, for the given sampler
    /// repetitions, re-encoded without steering and stopping at the site.
    func meanFeatures(steering: Intervention?, repetitions: ClosedRange<Int>) throws -> [Float] {
        var mean = StreamingFeatureMean(featureCount: dictionary.descriptor.featureCount)
        // Every prompt's rollouts go into one batched generation per repetition; each row draws from
        // its own sampler stream (seed, row), and each prompt stops at the protocol's total length.
        var prompts = [[Int32]]()
        var newTokens = [Int]()
        for prompt in measurement.prompts {
            let tokens = model.encode(prompt, addBOS: true)
            for _ in 0..<measurement.rolloutsPerPrompt {
                prompts.append(tokens)
                newTokens.append(measurement.totalLength - tokens.count)
            }
        }
        for repetition in repetitions {
            let seed = measurement.streamSeed(repetition: repetition)
            // Prompts of equal length share one call, so every row generates exactly its own budget.
            for length in Set(newTokens).sorted() {
                let rows = newTokens.indices.filter { newTokens[$0] == length }
                let rollouts = try model.generate(
                    prompts: rows.map { prompts[$0] },
                    sampling: measurement.samplingConfig(maxNewTokens: length, seed: seed &+ UInt64(length)),
                    interventions: steering.map { [$0] } ?? [])
                var start = 0
                while start < rollouts.count {
                    let batch = Array(rollouts[start..<min(start + encodeBatchSize, rollouts.count)])
                    for activations in try model.activations(at: measurement.site, sequences: batch) {
                        try mean.add(activations, through: dictionary)
                    }
                    start += batch.count
                }
            }
        }
        return mean.mean
    }
}

extension EffectMeasurer {
    /// The steered (or unsteered) mean features of the protocol's first sampler repetition — the
    /// quantity an effect subtracts the baseline from. Exposed for tests and diagnostics.
    public func meanFeaturesForTesting(steering: Intervention?) throws -> [Float] {
        try meanFeatures(steering: steering, repetitions: 0...0)
    }
}
