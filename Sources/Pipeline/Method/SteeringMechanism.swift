import ArtifactStore
import Foundation
import SteeringCore

/// The paper's mechanism, measured rather than predicted: what a final steering vector does to the
/// task's target features against what it does to every other feature, with the effect protocol of the
/// probes (same prompts, rollouts and seeds) at the scale where the vector scored best.
public struct SteeringMechanism: Sendable, Codable, Equatable {
    public var task: String
    public var strategy: String
    /// The scale the effect was measured at (the vector's best in the sweep).
    public var scale: Float
    /// `Σᵢ wᵢ·effectᵢ` over the task's target features.
    public var targetEffect: Double
    /// `‖effect‖` over all other features.
    public var offTargetNorm: Double
    /// Key of the stored effect.
    public var effectKey: ContentDigest

    /// Target effect per unit of off-target norm (0 when the off-target norm is 0).
    public var ratio: Double { offTargetNorm > 0 ? targetEffect / offTargetNorm : 0 }

    /// Measures every subject's effect at its scale in `scales` (keyed `task/strategy`); subjects without
    /// a scale, or at scale 0, are skipped. Effects are stored, so a rerun only reads.
    /// - Throws: errors of the measurement and the store.
    public static func measure(
        _ subjects: [EvaluationSubject], tasks: [SteeringTask], scales: [String: Float], model: any ModelBackend,
        dictionary: any FeatureDictionary, store: ArtifactStore, measurement: MeasurementProtocol,
        progress: ProgressReporter? = nil
    ) throws -> [SteeringMechanism] {
        var out = [SteeringMechanism]()
        for subject in subjects {
            defer { progress?.advance() }
            guard let scale = scales["\(subject.task)/\(subject.strategy)"], scale != 0,
                let task = tasks.first(where: { $0.name == subject.task })
            else { continue }
            let measurer = try EffectMeasurer(
                model: model, dictionary: dictionary, store: store, measurement: measurement, scaling: .fixed(scale))
            let vector = try ProbeVector(
                values: subject.vector,
                recipe: Recipe(
                    kind: .vector, algorithm: "evaluated-vector", version: 1, inputs: ["vector": subject.vectorKey]),
                label: "\(subject.strategy) vector for \(subject.task)")
            let measured = try measurer.measure(vector)
            let targets = Set(task.targets.map(\.feature))
            let target = task.targets.reduce(0.0) { $0 + Double($1.weight) * Double(measured.effect[$1.feature]) }
            var squares = 0.0
            for (j, value) in measured.effect.enumerated() where !targets.contains(j) {
                squares += Double(value * value)
            }
            out.append(
                SteeringMechanism(
                    task: subject.task, strategy: subject.strategy, scale: scale, targetEffect: target,
                    offTargetNorm: squares.squareRoot(), effectKey: measured.effectKey))
        }
        progress?.finish()
        return out
    }
}
