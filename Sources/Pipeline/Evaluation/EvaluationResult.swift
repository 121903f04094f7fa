import SteeringCore

/// The measured quality of one vector at one scale.
public struct EvaluationCell: Sendable, Hashable, Codable {
    public var task: String
    public var strategy: String
    public var scale: Float
    /// Mean normalised behaviour score, (s − 1)/9 averaged over the completions the judge scored.
    public var behaviour: Double
    /// Mean normalised coherence score.
    public var coherence: Double
    /// behaviour × coherence (a product of means, as the method reports).
    public var product: Double
    /// Judge calls that failed and were dropped from the means.
    public var behaviourFailures: Int
    public var coherenceFailures: Int
    /// Completions generated.
    public var samples: Int
    /// A few completions, for the report.
    public var examples: [String]
    /// Every completion's normalised behaviour and coherence score (`nil` where the judge failed).
    public var behaviourScores: [Double?]
    public var coherenceScores: [Double?]
    /// 95 % bootstrap intervals (over completions) of behaviour, coherence and their product.
    public var behaviourInterval: Interval
    public var coherenceInterval: Interval
    public var productInterval: Interval
    /// Artifact keys of the generations and the two score sets.
    public var generationsKey: ContentDigest
    public var behaviourScoresKey: ContentDigest
    public var coherenceScoresKey: ContentDigest
}

/// The best scale of one task and strategy: max over scales of behaviour × coherence.
public struct EvaluationSummary: Sendable, Hashable, Codable {
    public var task: String
    public var strategy: String
    public var bestProduct: Double
    public var bestScale: Float
    public var behaviourAtBest: Double
    public var coherenceAtBest: Double
    /// 95 % bootstrap interval of the metric (max over scales of mean behaviour × mean coherence),
    /// every resample redrawing the completions of every scale.
    public var bestProductInterval: Interval
}

/// Every cell of a sweep and its summary.
public struct EvaluationResult: Sendable, Codable {
    public var settings: EvaluationSettings
    public var cells: [EvaluationCell]
    /// How many cells were computed now (the rest came from the store).
    public var computedCells: Int

    /// Tasks in first-seen order.
    public var tasks: [String] { cells.map(\.task).uniqued() }
    /// Strategies in first-seen order.
    public var strategies: [String] { cells.map(\.strategy).uniqued() }

    /// The cells of one task and strategy, by ascending scale.
    public func curve(task: String, strategy: String) -> [EvaluationCell] {
        cells.filter { $0.task == task && $0.strategy == strategy }.sorted { $0.scale < $1.scale }
    }

    /// Max over scales of behaviour × coherence, per task and strategy.
    public var summaries: [EvaluationSummary] {
        tasks.flatMap { task in
            strategies.compactMap { strategy in
                guard let best = curve(task: task, strategy: strategy).max(by: { $0.product < $1.product }) else {
                    return nil
                }
                return EvaluationSummary(
                    task: task, strategy: strategy, bestProduct: best.product, bestScale: best.scale,
                    behaviourAtBest: best.behaviour, coherenceAtBest: best.coherence,
                    bestProductInterval: EvaluationIntervals.percentiles(metricDraws(task: task, strategy: strategy)))
            }
        }
    }

    /// Bootstrap draws of the metric of one task and strategy (see ``EvaluationIntervals``).
    public func metricDraws(task: String, strategy: String) -> [Double] {
        EvaluationIntervals.metricDraws(
            curve(task: task, strategy: strategy).map { ($0.behaviourScores, $0.coherenceScores) },
            seed: EvaluationIntervals.seed([task, strategy], base: settings.seed))
    }

    /// Per task, `comparison.candidate` against each baseline from bootstrap intervals of the difference
    /// of their metrics; `nil` when a strategy of the comparison was not evaluated.
    public func verdicts(_ comparison: StrategyComparison) -> [ComparisonVerdict]? {
        let needed = [comparison.candidate] + comparison.baselines
        guard needed.allSatisfy(strategies.contains) else { return nil }
        return tasks.compactMap { task in
            var draws = [String: [Double]]()
            for strategy in needed { draws[strategy] = metricDraws(task: task, strategy: strategy) }
            return EvaluationIntervals.verdict(
                task: task, candidate: comparison.candidate, draws: draws, baselines: comparison.baselines)
        }
    }

    /// The strategy with the highest best product for `task` (ties: first in order).
    public func winner(task: String) -> String? {
        summaries.filter { $0.task == task }.max { $0.bestProduct < $1.bestProduct }?.strategy
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
