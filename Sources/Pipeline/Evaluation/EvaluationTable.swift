import Foundation

/// The results as a plain-text table (tasks × strategies, best product and its scale).
public enum EvaluationTable {
    public static func text(_ result: EvaluationResult) -> String {
        let strategies = result.strategies
        let width = max(12, (result.tasks.map(\.count).max() ?? 0) + 2)
        var lines = [
            "task".padding(toLength: width, withPad: " ", startingAt: 0)
                + strategies.map { $0.padding(toLength: 22, withPad: " ", startingAt: 0) }.joined()
        ]
        for task in result.tasks {
            var line = task.padding(toLength: width, withPad: " ", startingAt: 0)
            for strategy in strategies {
                let s = result.summaries.first { $0.task == task && $0.strategy == strategy }
                let cell = s.map { String(format: "%.4f (α=%g)", $0.bestProduct, $0.bestScale) } ?? "—"
                line += cell.padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
