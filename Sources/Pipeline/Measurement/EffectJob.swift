import ArtifactStore
import Foundation
import SteeringCore

/// A batch of probe vectors to measure: each finished effect is committed at once, vectors already
/// measured are skipped (so a killed job resumes), and a ``Shard`` selects a deterministic part.
public struct EffectJob: Sendable {
    public let measurer: EffectMeasurer
    public let vectors: [ProbeVector]
    public let shard: Shard

    public init(measurer: EffectMeasurer, vectors: [ProbeVector], shard: Shard = .all) {
        self.measurer = measurer
        self.vectors = vectors
        self.shard = shard
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        /// Vectors in this shard.
        public var assigned: Int
        /// Effects computed now.
        public var measured: Int
        /// Effects found in the store.
        public var skipped: Int
        /// Vectors that could not be measured, with the reason (e.g. a calibration that found no crossing).
        public var failures: [Failure]
        /// Wall time in seconds.
        public var seconds: Double
    }

    /// A vector the job gave up on.
    public struct Failure: Sendable, Equatable {
        public var label: String
        public var reason: String
    }

    /// Measures every vector of this shard not yet in the store.
    public func run(progress: ProgressReporter? = nil, onEffect: (ProbeVector, MeasuredEffect) -> Void = { _, _ in })
        throws -> Report
    {
        let start = ProgressReporter.now()
        let mine = vectors.indices.filter { shard.contains($0) }.map { vectors[$0] }
        var report = Report(assigned: mine.count, measured: 0, skipped: 0, failures: [], seconds: 0)
        // Vectors not yet stored go to the measurer in groups whose rollouts share one generation.
        var queue = [ProbeVector]()
        func flush() throws {
            guard !queue.isEmpty else { return }
            for (vector, outcome) in zip(queue, try measurer.measure(batch: queue)) {
                switch outcome {
                case .success(let effect):
                    report.measured += 1
                    onEffect(vector, effect)
                case .failure(let error):
                    // A vector-specific problem (no loss crossing, say) must not stop the other vectors.
                    report.failures.append(Failure(label: vector.label, reason: error.description))
                }
                progress?.advance()
            }
            queue = []
        }
        let group = measurer.probesPerBatch
        for vector in mine {
            if try measurer.isMeasured(vector) {
                report.skipped += 1
                progress?.advance()
            } else {
                queue.append(vector)
                if queue.count >= group { try flush() }
            }
        }
        try flush()
        progress?.finish()
        report.seconds = ProgressReporter.now() - start
        return report
    }
}
