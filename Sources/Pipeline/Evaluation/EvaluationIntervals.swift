import SteeringCore

/// A two-sided 95 % interval.
public struct Interval: Sendable, Hashable, Codable {
    public var lower: Double
    public var upper: Double

    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// Whether `value` lies inside (bounds included).
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// Which strategy is tested against which: the method's claim is that `candidate` scores higher than
/// every baseline on max over scales of mean(behaviour) × mean(coherence).
public struct StrategyComparison: Sendable, Hashable, Codable {
    public var candidate: String
    public var baselines: [String]
    /// How the report names strategies (default: the registry name).
    public var labels: [String: String]

    public init(candidate: String, baselines: [String], labels: [String: String] = [:]) {
        self.candidate = candidate
        self.baselines = baselines
        self.labels = labels
    }

    /// A comparison whose labels are the strategies' own display names (``SteeringStrategy/displayName``).
    public init(candidate: any SteeringStrategy, baselines: [any SteeringStrategy]) {
        self.init(
            candidate: candidate.name, baselines: baselines.map(\.name),
            labels: Dictionary(([candidate] + baselines).map { ($0.name, $0.displayName) }) { first, _ in first })
    }

    /// The report's name for `strategy`.
    public func label(_ strategy: String) -> String { labels[strategy] ?? strategy }
}

/// A verdict of one task: the candidate against each baseline, from bootstrap intervals of the
/// difference of their metrics.
public struct ComparisonVerdict: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable {
        case better, worse
        case notDistinguishable = "not distinguishable"
    }

    public struct Against: Sendable, Hashable, Codable {
        public var baseline: String
        /// 95 % interval of candidate − baseline.
        public var difference: Interval
        public var outcome: Outcome
    }

    public var task: String
    public var candidate: String
    /// Better than every baseline, worse than every baseline, or neither.
    public var outcome: Outcome
    public var against: [Against]
}

/// Percentile-bootstrap intervals over the completions of each cell (method §6.4's metric is a max over
/// scales of a product of means, so its interval is bootstrapped as a whole: every resample redraws
/// the completions of every scale). Resampling is seeded by the task and strategy names and the
/// sweep's seed, so a report is reproducible.
public enum EvaluationIntervals {
    /// Bootstrap resamples per interval.
    public static let resamples = 2000

    /// The interval of a cell's mean behaviour, mean coherence and their product.
    static func cell(behaviour: [Double?], coherence: [Double?], seed: UInt64) -> (Interval, Interval, Interval) {
        var generator = SplitMix64(seed: seed)
        var b = [Double](), c = [Double](), p = [Double]()
        for _ in 0..<resamples {
            let draw = sample(count: behaviour.count, &generator)
            let mb = mean(behaviour, draw), mc = mean(coherence, draw)
            b.append(mb)
            c.append(mc)
            p.append(mb * mc)
        }
        return (percentiles(b), percentiles(c), percentiles(p))
    }

    /// `resamples` draws of max over the curve's scales of mean(behaviour) × mean(coherence).
    static func metricDraws(_ curve: [(behaviour: [Double?], coherence: [Double?])], seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<resamples).map { _ in
            curve.map { cell in
                let draw = sample(count: cell.behaviour.count, &generator)
                return mean(cell.behaviour, draw) * mean(cell.coherence, draw)
            }.max() ?? 0
        }
    }

    /// A seed from names and the sweep's seed (FNV-1a, stable across runs and machines).
    static func seed(_ parts: [String], base: UInt64) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ base
        for byte in parts.joined(separator: "\u{1F}").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func percentiles(_ values: [Double]) -> Interval {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return Interval(lower: 0, upper: 0) }
        func at(_ q: Double) -> Double {
            let position = q * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        return Interval(lower: at(0.025), upper: at(0.975))
    }

    /// The verdict from draws of the candidate's and the baselines' metrics.
    static func verdict(task: String, candidate: String, draws: [String: [Double]], baselines: [String])
        -> ComparisonVerdict?
    {
        guard let mine = draws[candidate] else { return nil }
        var against = [ComparisonVerdict.Against]()
        for baseline in baselines {
            guard let theirs = draws[baseline] else { return nil }
            let difference = percentiles(zip(mine, theirs).map { $0 - $1 })
            let outcome: ComparisonVerdict.Outcome =
                difference.lower > 0 ? .better : difference.upper < 0 ? .worse : .notDistinguishable
            against.append(.init(baseline: baseline, difference: difference, outcome: outcome))
        }
        let outcome: ComparisonVerdict.Outcome =
            against.allSatisfy { $0.outcome == .better }
            ? .better : against.allSatisfy { $0.outcome == .worse } ? .worse : .notDistinguishable
        return ComparisonVerdict(task: task, candidate: candidate, outcome: outcome, against: against)
    }

    private static func sample(count: Int, _ generator: inout SplitMix64) -> [Int] {
        (0..<count).map { _ in Int(generator.next() % UInt64(max(count, 1))) }
    }

    /// Mean of the scored values among `draw` (failed calls, `nil`, are left out as in the cell's mean).
    private static func mean(_ values: [Double?], _ draw: [Int]) -> Double {
        var total = 0.0, n = 0
        for i in draw { if let v = values[i] { total += v; n += 1 } }
        return n == 0 ? 0 : total / Double(n)
    }
}
