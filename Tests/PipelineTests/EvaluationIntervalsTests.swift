import Foundation
import Pipeline
import SteeringCore
import Testing

@testable import Pipeline

@Suite("Bootstrap intervals and verdicts")
struct EvaluationIntervalsTests {
    @Test("percentiles interpolate like numpy's default (linear) at 2.5 % and 97.5 %")
    func percentiles() {
        let interval = EvaluationIntervals.percentiles((0...100).map(Double.init))
        #expect(interval == Interval(lower: 2.5, upper: 97.5))
        #expect(EvaluationIntervals.percentiles([4]) == Interval(lower: 4, upper: 4))
    }

    @Test("a cell's intervals contain its means, are reproducible, and have the binomial width")
    func cellIntervals() {
        var generator = SplitMix64(seed: 3)
        let behaviour: [Double?] = (0..<256).map { _ in generator.nextUnit() < 0.5 ? 1 : 0 }
        let coherence: [Double?] = (0..<256).map { i in i % 17 == 0 ? nil : 0.8 }
        let (b, c, p) = EvaluationIntervals.cell(behaviour: behaviour, coherence: coherence, seed: 9)
        let meanB = behaviour.compactMap { $0 }.reduce(0, +) / 256
        #expect(b.contains(meanB) && p.contains(meanB * 0.8))
        #expect(abs(c.lower - 0.8) < 1e-12 && abs(c.upper - 0.8) < 1e-12, "every coherence score is 0.8: \(c)")
        // ±1.96·√(p(1−p)/n) ≈ ±0.061 for p = 0.5, n = 256.
        #expect(abs((b.upper - b.lower) / 2 - 0.061) < 0.01, "\(b)")
        #expect(EvaluationIntervals.cell(behaviour: behaviour, coherence: coherence, seed: 9).0 == b)
    }

    @Test("verdicts: better and worse only when the interval of the difference excludes zero")
    func verdicts() throws {
        let high = (0..<100).map { 0.5 + Double($0) / 1000 }, low = high.map { $0 - 0.3 }
        let overlapping = high.map { $0 - 0.05 }
        let better = try #require(
            EvaluationIntervals.verdict(
                task: "t", candidate: "a", draws: ["a": high, "b": low, "c": low], baselines: ["b", "c"]))
        #expect(better.outcome == .better && better.against.allSatisfy { $0.outcome == .better })
        let mixed = try #require(
            EvaluationIntervals.verdict(
                task: "t", candidate: "a", draws: ["a": high, "b": low, "c": overlapping.reversed()],
                baselines: ["b", "c"]))
        #expect(mixed.outcome == .notDistinguishable)
        #expect(mixed.against.map(\.outcome) == [.better, .notDistinguishable])
        let worse = try #require(
            EvaluationIntervals.verdict(task: "t", candidate: "b", draws: ["a": high, "b": low], baselines: ["a"]))
        #expect(worse.outcome == .worse)
        #expect(EvaluationIntervals.verdict(task: "t", candidate: "a", draws: ["a": high], baselines: ["x"]) == nil)
    }

    @Test("the metric's draws redraw every scale: its interval is not narrower than the best cell's")
    func metricDraws() {
        var generator = SplitMix64(seed: 5)
        let curve: [(behaviour: [Double?], coherence: [Double?])] = (0..<4).map { k in
            (
                (0..<64).map { _ in generator.nextUnit() < 0.2 + 0.1 * Double(k) ? 1.0 : 0.0 },
                (0..<64).map { _ in 1.0 - 0.1 * Double(k) }
            )
        }
        let draws = EvaluationIntervals.metricDraws(curve, seed: 1)
        #expect(draws.count == EvaluationIntervals.resamples)
        let cells = curve.map { cell in
            let b = cell.behaviour.compactMap { $0 }.reduce(0, +) / 64
            return b * cell.coherence[0]!
        }
        let interval = EvaluationIntervals.percentiles(draws)
        #expect(interval.contains(cells.max()!), "\(interval) vs \(cells)")
        #expect(interval.upper - interval.lower > 0.05)
    }
}
