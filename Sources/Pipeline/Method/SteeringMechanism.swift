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
    /// a scale, or at scale 0, are skipped. Vectors that share a scale share one generation (as probes do).
    /// Effects are stored, so a rerun only reads.
    /// - Throws: errors of the measurement and the store.
    public static func measure(
        _ subjects: [EvaluationSubject], tasks: [SteeringTask], scales: [String: Float], model: any ModelBackend,
        dictionary: any FeatureDictionary, store: ArtifactStore, measurement: MeasurementProtocol,
        progress: ProgressReporter? = nil
    ) throws -> [SteeringMechanism] {
        var groups = [Float: [(subject: EvaluationSubject, task: SteeringTask)]]()
        for subject in subjects {
            guard let scale = scales["\(subject.task)/\(subject.strategy)"], scale != 0,
                let task = tasks.first(where: { $0.name == subject.task })
            else {
                progress?.advance()  // nothing to measure: counted as done
                continue
            }
            groups[scale, default: []].append((subject, task))
        }
        var found = [String: SteeringMechanism]()
        for scale in groups.keys.sorted() {
            let members = groups[scale]!
            let measurer = try EffectMeasurer(
                model: model, dictionary: dictionary, store: store, measurement: measurement, scaling: .fixed(scale))
            let vectors = try members.map { member in
                try ProbeVector(
                    values: member.subject.vector,
                    recipe: Recipe(
                        kind: .vector, algorithm: "evaluated-vector", version: 1,
                        inputs: ["vector": member.subject.vectorKey]),
                    label: "\(member.subject.strategy) vector for \(member.subject.task)")
            }
            for (member, outcome) in zip(members, try measurer.measure(batch: vectors)) {
                let measured = try outcome.get()
                let targets = Set(member.task.targets.map(\.feature))
                let target = member.task.targets.reduce(0.0) {
                    $0 + Double($1.weight) * Double(measured.effect[$1.feature])
                }
                var squares = 0.0
                for (j, value) in measured.effect.enumerated() where !targets.contains(j) {
                    squares += Double(value * value)
                }
                found["\(member.subject.task)/\(member.subject.strategy)"] = SteeringMechanism(
                    task: member.subject.task, strategy: member.subject.strategy, scale: scale, targetEffect: target,
                    offTargetNorm: squares.squareRoot(), effectKey: measured.effectKey)
                progress?.advance()
            }
        }
        progress?.finish()
        // In the subjects' order.
        return subjects.compactMap { found["\($0.task)/\($0.strategy)"] }
    }
}
