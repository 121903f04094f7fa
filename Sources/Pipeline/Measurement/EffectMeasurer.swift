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

/// How an effect's passes are run. Both compute the method's quantities; they differ in float
/// rounding only, so their artifacts carry different algorithm versions and never mix.
public enum MeasurementExecution: String, Sendable, Hashable, CaseIterable {
    /// The residual at the site is read while the rollouts are generated (blocks `0…L` are the same
    /// steered or not, as steering is added after block L), and calibration runs blocks `0…L` once per
    /// calibration batch for the whole job, each scale only the blocks above. Needs a
    /// ``SiteReadoutBackend``.
    case capture
    /// The method's two passes as written: generate, then re-encode every rollout up to the site;
    /// every calibration scale runs the whole model.
    case reencode
}

/// Where one job's measurement time went (seconds, summed over calls), for `steer bench --probe`.
public struct MeasurementTimings: Sendable, Equatable {
    /// Sampling rollouts (with capture execution, including reading the site residual).
    public var generation = 0.0
    /// The unsteered re-encode pass to the site (re-encode execution only).
    public var reencode = 0.0
    /// Encoding site rows through the dictionary and accumulating the mean.
    public var encoding = 0.0
    /// Calibration losses (with capture execution, the blocks above the site).
    public var calibration = 0.0
    /// Running blocks `0…L` on the calibration batches (once per job, capture execution only).
    public var calibrationSite = 0.0
    /// Tokens generated (prompt tokens included) and rows encoded.
    public var generatedTokens = 0
    public var encodedRows = 0
    /// Calibration tokens evaluated (sequence tokens × scales).
    public var calibrationTokens = 0

    public init() {}
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
    /// How the passes run (``MeasurementExecution``).
    public let execution: MeasurementExecution
    /// With capture execution, probes measured together by ``measure(batch:)`` share one generation
    /// until their rows reach this many.
    public let batchRows: Int
    private let state = MeasurerState()

    /// The scale rule.
    public enum Scaling: Sendable {
        case calibrated(CalibrationSet, CalibrationSettings)
        case fixed(Float)
    }

    public init(
        model: any ModelBackend, dictionary: any FeatureDictionary, store: ArtifactStore,
        measurement: MeasurementProtocol, scaling: Scaling, encodeBatchSize: Int = 64,
        execution: MeasurementExecution? = nil, batchRows: Int = 1024
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
        let resolved = execution ?? (model is any SiteReadoutBackend ? .capture : .reencode)
        if resolved == .capture, !(model is any SiteReadoutBackend) {
            throw PipelineError.invalidInput(
                what: "--execution capture",
                problem: "backend \(model.descriptor.backend) cannot read the site while generating; use reencode")
        }
        self.execution = resolved
        self.batchRows = max(1, batchRows)
    }

    /// Time spent so far, by part.
    public var timings: MeasurementTimings { state.withLock { $0.timings } }

    /// Clears ``timings``.
    public func resetTimings() { state.withLock { $0.timings = MeasurementTimings() } }

    /// How many probes ``EffectJob`` hands to ``measure(batch:)`` at once: enough that their rollouts
    /// fill ``batchRows`` (1 with re-encode execution).
    public var probesPerBatch: Int {
        guard execution == .capture else { return 1 }
        let rows = measurement.prompts.count * measurement.rolloutsPerPrompt
        return max(1, batchRows / max(rows, 1))
    }

    /// Algorithm version of every recipe: values computed by capture and by re-encode differ in
    /// rounding, so they must not share keys.
    var version: Int { execution == .capture ? 2 : 1 }

    // MARK: Recipes

    var commonInputs: [String: ContentDigest] {
        ["model": model.descriptor.fingerprint, "dictionary": dictionary.descriptor.fingerprint]
    }

    /// Recipe of the baseline (unsteered mean features).
    public var baselineRecipe: Recipe {
        Recipe(
            kind: .baseline, algorithm: "baseline-features", version: version,
            parameters: ["protocol": measurement.recipeValue], inputs: commonInputs)
    }

    /// Recipe of a vector's calibrated scale (`nil` with a fixed scale).
    public func calibrationRecipe(for vector: ProbeVector) -> Recipe? {
        guard case .calibrated(let set, let settings) = scaling else { return nil }
        return Recipe(
            kind: .calibration, algorithm: "loss-calibration", version: version,
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
            kind: .effect, algorithm: "effect-measurement", version: version, parameters: parameters,
            inputs: inputs)
    }

    // MARK: Measuring

    /// The unsteered mean features, computed once per protocol and cached.
    public func baseline() throws -> [Float] {
        let recipe = baselineRecipe
        if let artifact = try store.get(recipe.key) { return try artifact.floats() }
        let mean =
            execution == .capture
            ? try capturedMeans(steerings: [nil], repetitions: 1...measurement.baselineMultiplier)[0]
            : try meanFeatures(steering: nil, repetitions: 1...measurement.baselineMultiplier)
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
            let start = ProgressReporter.now()
            let cached = execution == .capture ? try siteCalibration(set) : nil
            var tokens = 0
            defer {
                let seconds = ProgressReporter.now() - start
                state.withLock {
                    $0.timings.calibration += seconds
                    $0.timings.calibrationTokens += tokens
                }
            }
            let result = try ScaleCalibration.calibrate(settings: settings) { scale in
                if scale == 0, let cached { return cached.unsteeredLoss }
                let interventions =
                    scale == 0
                    ? [] : [Intervention(site: measurement.site, vector: vector.values, scale: scale, positions: .all)]
                var total = 0.0
                for (b, batch) in set.batches.enumerated() {
                    let losses =
                        try cached.map {
                            try $0.backend.nextTokenLoss(from: $0.residuals[b], interventions: interventions)
                        }
                        ?? model.nextTokenLoss(sequences: batch, interventions: interventions)
                    total += losses.reduce(0, +) / Double(losses.count)
                    tokens += batch.reduce(0) { $0 + $1.count }
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
        let steered =
            execution == .capture
            ? try capturedMeans(steerings: [steering], repetitions: 0...0)[0]
            : try meanFeatures(steering: steering, repetitions: 0...0)
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
                let t0 = ProgressReporter.now()
                let rollouts = try model.generate(
                    prompts: rows.map { prompts[$0] },
                    sampling: measurement.samplingConfig(maxNewTokens: length, seed: seed &+ UInt64(length)),
                    interventions: steering.map { [$0] } ?? [])
                let t1 = ProgressReporter.now()
                var reencode = 0.0, encoding = 0.0, encoded = 0
                var start = 0
                while start < rollouts.count {
                    let batch = Array(rollouts[start..<min(start + encodeBatchSize, rollouts.count)])
                    let r0 = ProgressReporter.now()
                    let site = try model.activations(at: measurement.site, sequences: batch)
                    let r1 = ProgressReporter.now()
                    for activations in site {
                        try mean.add(activations, through: dictionary)
                        encoded += activations.rows
                    }
                    reencode += r1 - r0
                    encoding += ProgressReporter.now() - r1
                    start += batch.count
                }
                let generated = rollouts.reduce(0) { $0 + $1.count }
                state.withLock {
                    $0.timings.generation += t1 - t0
                    $0.timings.reencode += reencode
                    $0.timings.encoding += encoding
                    $0.timings.generatedTokens += generated
                    $0.timings.encodedRows += encoded
                }
            }
        }
        return mean.mean
    }

    /// ``meanFeatures(steering:repetitions:)`` with capture execution, for several steerings at once:
    /// every steering's rollouts of a repetition share one generation (each row keeps the sampler
    /// stream it has when measured alone), and the site rows read while generating go straight into
    /// that steering's mean.
    func capturedMeans(steerings: [Intervention?], repetitions: ClosedRange<Int>) throws -> [[Float]] {
        guard let backend = model as? any SiteReadoutBackend else {
            throw PipelineError.invalidInput(
                what: "capture execution", problem: "backend \(model.descriptor.backend) cannot read the site")
        }
        var means = steerings.map { _ in StreamingFeatureMean(featureCount: dictionary.descriptor.featureCount) }
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
            for length in Set(newTokens).sorted() {
                let rows = newTokens.indices.filter { newTokens[$0] == length }
                var batchPrompts = [[Int32]](), interventions = [[Intervention]](), streams = [Int](), groups = [Int]()
                for (k, steering) in steerings.enumerated() {
                    for (stream, row) in rows.enumerated() {
                        batchPrompts.append(prompts[row])
                        interventions.append(steering.map { [$0] } ?? [])
                        streams.append(stream)
                        groups.append(k)
                    }
                }
                var encoding = 0.0, encoded = 0
                // Rows arrive a step at a time (one per rollout); they are encoded in chunks of the
                // mean's size, so the dictionary's products stay large.
                let width = model.descriptor.hiddenSize
                var pending = [[Float]](repeating: [], count: steerings.count)
                func encode(_ group: Int) throws {
                    let e0 = ProgressReporter.now()
                    let rows = pending[group].count / width
                    try means[group].add(
                        Matrix(rows: rows, columns: width, values: pending[group]), through: dictionary)
                    pending[group].removeAll(keepingCapacity: true)
                    encoded += rows
                    encoding += ProgressReporter.now() - e0
                }
                let t0 = ProgressReporter.now()
                let rollouts = try backend.generate(
                    prompts: batchPrompts,
                    sampling: measurement.samplingConfig(maxNewTokens: length, seed: seed &+ UInt64(length)),
                    interventions: [], rowInterventions: interventions, streams: streams,
                    readingSite: measurement.site, groups: groups
                ) { group, rows in
                    pending[group] += rows.values
                    if pending[group].count >= means[group].chunkRows * width { try encode(group) }
                }
                for group in steerings.indices where !pending[group].isEmpty { try encode(group) }
                let total = ProgressReporter.now() - t0
                let generated = rollouts.reduce(0) { $0 + $1.count }
                state.withLock {
                    $0.timings.generation += total - encoding
                    $0.timings.encoding += encoding
                    $0.timings.generatedTokens += generated
                    $0.timings.encodedRows += encoded
                }
            }
        }
        return means.map(\.mean)
    }

    /// The calibration batches' residuals at the site and their unsteered loss, computed once per
    /// measurer and calibration set (capture execution).
    func siteCalibration(_ set: CalibrationSet) throws -> SiteCalibration {
        guard let backend = model as? any SiteReadoutBackend else {
            throw PipelineError.invalidInput(
                what: "capture execution", problem: "backend \(model.descriptor.backend) cannot read the site")
        }
        if let cached = state.withLock({ $0.calibration }) { return cached }
        let start = ProgressReporter.now()
        let residuals = try set.batches.map { try backend.siteResiduals(sequences: $0, site: measurement.site) }
        var total = 0.0
        for batch in residuals {
            let losses = try backend.nextTokenLoss(from: batch, interventions: [])
            total += losses.reduce(0, +) / Double(losses.count)
        }
        let cached = SiteCalibration(
            backend: backend, residuals: residuals, unsteeredLoss: total / Double(residuals.count))
        let seconds = ProgressReporter.now() - start
        state.withLock {
            $0.calibration = cached
            $0.timings.calibrationSite += seconds
        }
        return cached
    }

    /// Measures (or loads) several vectors' effects; with capture execution their rollouts share one
    /// generation. A vector-specific failure (no loss crossing, say) is returned in its slot and does
    /// not stop the others.
    public func measure(batch vectors: [ProbeVector]) throws -> [Result<MeasuredEffect, PipelineError>] {
        guard execution == .capture, vectors.count > 1 else {
            return try vectors.map { vector in
                do { return .success(try measure(vector)) } catch let error as PipelineError { return .failure(error) }
            }
        }
        var outcomes = [Result<MeasuredEffect, PipelineError>?](repeating: nil, count: vectors.count)
        var pending = [(index: Int, recipe: Recipe, scale: Float)]()
        for (i, vector) in vectors.enumerated() {
            guard vector.values.count == model.descriptor.hiddenSize else {
                throw SteeringError.shapeMismatch(
                    what: "probe vector \(vector.label)", expected: "\(model.descriptor.hiddenSize) values (d_model)",
                    got: "\(vector.values.count) values")
            }
            do {
                let recipe = effectRecipe(for: vector)
                let scale = try self.scale(for: vector)
                if let artifact = try store.get(recipe.key) {
                    outcomes[i] = .success(
                        MeasuredEffect(
                            effectKey: recipe.key, vectorKey: vector.key, scale: scale, effect: try artifact.floats(),
                            cached: true))
                } else {
                    pending.append((i, recipe, scale))
                }
            } catch let error as PipelineError {
                outcomes[i] = .failure(error)
            }
        }
        if !pending.isEmpty {
            let base = try baseline()
            let steerings: [Intervention?] = pending.map {
                Intervention(
                    site: measurement.site, vector: vectors[$0.index].values, scale: $0.scale,
                    positions: measurement.positions)
            }
            let means = try capturedMeans(steerings: steerings, repetitions: 0...0)
            for (k, item) in pending.enumerated() {
                let vector = vectors[item.index]
                try storeVector(vector)
                let effect = zip(means[k], base).map { $0 - $1 }
                try store.put(recipe: item.recipe, floats: effect, shape: [effect.count])
                outcomes[item.index] = .success(
                    MeasuredEffect(
                        effectKey: item.recipe.key, vectorKey: vector.key, scale: item.scale, effect: effect,
                        cached: false))
            }
        }
        return outcomes.map { $0! }
    }
}

/// The calibration set's residuals at the site, computed once per measurer.
struct SiteCalibration: @unchecked Sendable {
    let backend: any SiteReadoutBackend
    let residuals: [SiteResiduals]
    let unsteeredLoss: Double
}

/// A measurer's mutable state: the cached calibration residuals and the timings.
final class MeasurerState: @unchecked Sendable {
    struct Values {
        var calibration: SiteCalibration?
        var timings = MeasurementTimings()
    }
    private let lock = NSLock()
    private var values = Values()

    func withLock<R>(_ body: (inout Values) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&values)
    }
}

extension EffectMeasurer {
    /// The steered (or unsteered) mean features of the protocol's first sampler repetition — the
    /// quantity an effect subtracts the baseline from. Exposed for tests and diagnostics.
    public func meanFeaturesForTesting(steering: Intervention?) throws -> [Float] {
        execution == .capture
            ? try capturedMeans(steerings: [steering], repetitions: 0...0)[0]
            : try meanFeatures(steering: steering, repetitions: 0...0)
    }
}
