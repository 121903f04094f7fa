import Foundation
import SteeringCore

/// Writes an evaluation as a self-contained HTML page (inline SVG, no scripts), `results.csv` and
/// `results.json`. The page is well-formed XHTML so it can be checked with an XML parser.
public enum EvaluationReport {
    /// The same completions and coherence scores with behaviour scored by another judge: its own best
    /// scales, results table and verdicts, shown next to the main judge's.
    public struct SecondOpinion: Sendable {
        /// The behaviour judge's registry name.
        public var judge: String
        /// The sweep re-scored by that judge.
        public var result: EvaluationResult

        public init(judge: String, result: EvaluationResult) {
            self.judge = judge
            self.result = result
        }
    }

    /// Files written.
    public struct Output: Sendable {
        public var html: String
        public var csv: String
        public var json: String
    }

    /// Writes the report into `directory` (created if missing).
    /// - Parameter notes: extra lines for the "Protocol" section (model, dictionary, estimator, …).
    /// - Parameter comparison: the claim the report tests per task (the caller's configuration, e.g. the paper's
    ///   SAE-TS against SAE-direct and CAA).
    /// - Parameter mechanism: measured effects of the evaluated vectors on their target and other features.
    /// - Parameter secondOpinions: the sweep re-scored by other behaviour judges.
    public static func write(
        _ result: EvaluationResult, to directory: String, title: String, notes: [String] = [],
        comparison: StrategyComparison, mechanism: [SteeringMechanism] = [], secondOpinions: [SecondOpinion] = []
    ) throws -> Output {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let output = Output(
            html: directory + "/index.html", csv: directory + "/results.csv", json: directory + "/results.json")
        try AtomicFile.write(Array(csv(result).utf8), to: output.csv)
        try AtomicFile.write(
            Array(
                try json(result, comparison: comparison, mechanism: mechanism, secondOpinions: secondOpinions)),
            to: output.json)
        try AtomicFile.write(
            Array(
                html(
                    result, title: title, notes: notes, comparison: comparison, mechanism: mechanism,
                    secondOpinions: secondOpinions
                ).utf8),
            to: output.html)
        return output
    }

    /// One row per cell.
    public static func csv(_ result: EvaluationResult) -> String {
        var lines = [
            "task,strategy,scale,behaviour,coherence,product,behaviour_failures,coherence_failures,samples,"
                + "behaviour_low,behaviour_high,coherence_low,coherence_high,product_low,product_high"
        ]
        for c in result.cells {
            lines.append(
                [
                    csvField(c.task), csvField(c.strategy), "\(c.scale)", format(c.behaviour), format(c.coherence),
                    format(c.product), "\(c.behaviourFailures)", "\(c.coherenceFailures)", "\(c.samples)",
                    format(c.behaviourInterval.lower), format(c.behaviourInterval.upper),
                    format(c.coherenceInterval.lower), format(c.coherenceInterval.upper),
                    format(c.productInterval.lower), format(c.productInterval.upper),
                ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Cells, summaries, verdicts, measured mechanism, second opinions and settings as JSON.
    public static func json(
        _ result: EvaluationResult, comparison: StrategyComparison, mechanism: [SteeringMechanism] = [],
        secondOpinions: [SecondOpinion] = []
    ) throws -> Data {
        struct Opinion: Encodable {
            var judge: String
            var summaries: [EvaluationSummary]
            var verdicts: [ComparisonVerdict]?
        }
        struct Document: Encodable {
            var settings: EvaluationSettings
            var summaries: [EvaluationSummary]
            var comparison: StrategyComparison
            var verdicts: [ComparisonVerdict]?
            var mechanism: [SteeringMechanism]?
            var secondOpinions: [Opinion]?
            var cells: [EvaluationCell]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(
            Document(
                settings: result.settings, summaries: result.summaries, comparison: comparison,
                verdicts: result.verdicts(comparison), mechanism: mechanism.isEmpty ? nil : mechanism,
                secondOpinions: secondOpinions.isEmpty
                    ? nil
                    : secondOpinions.map {
                        Opinion(
                            judge: $0.judge, summaries: $0.result.summaries, verdicts: $0.result.verdicts(comparison))
                    },
                cells: result.cells))
    }

    // MARK: HTML

    static let palette = ["#1b6ca8", "#d1495b", "#2e8b57", "#edae49", "#66456b", "#00798c", "#8c564b"]

    static func html(
        _ result: EvaluationResult, title: String, notes: [String], comparison: StrategyComparison,
        mechanism: [SteeringMechanism] = [], secondOpinions: [SecondOpinion] = []
    ) -> String {
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<h2>Protocol</h2>\n<ul>\n"
        let s = result.settings
        let protocolLines =
            [
                "Prompt: \(s.prompt.debugDescription) (BOS prepended); \(s.samples) completions of \(s.maxNewTokens) new tokens per cell.",
                "Sampler: temperature \(s.temperature), top-k \(s.topK), top-p \(s.topP) (\(s.samplerMode.rawValue) semantics), seed \(s.seed), stop at EOS: \(s.stopAtEOS).",
                "Steering after block \(s.site.layer) at every position; scales \(s.scales.map { String(format: "%g", $0) }.joined(separator: ", ")).",
                "Score per cell: mean normalised behaviour × mean normalised coherence, (score − 1)/9; a strategy's score is the maximum over scales. Failed judge calls are dropped and counted.",
            ] + notes
        for line in protocolLines { body += "<li>\(escape(line))</li>\n" }
        body += "</ul>\n"
        body += verdictSection(result, comparison: comparison, heading: nil)
        body += table(result)
        for opinion in secondOpinions {
            body +=
                "<h2 id=\"opinion-\(escape(opinion.judge))\">Second opinion: behaviour by the \(escape(opinion.judge)) judge</h2>\n"
                + "<p>The same completions and coherence scores, behaviour scored by \(escape(opinion.judge)); "
                + "best scales are this judge's own.</p>\n"
            body += verdictSection(opinion.result, comparison: comparison, heading: opinion.judge)
            body += table(opinion.result, judge: opinion.judge)
        }
        body += mechanismTable(mechanism)
        for task in result.tasks {
            body += "<h2 id=\"task-\(escape(task))\">\(escape(task))</h2>\n"
            body += sideBySide(result, task: task)
            body += "<div class=\"plots\">\n"
            body += plot(result, task: task, title: "Behaviour", value: \.behaviour)
            body += plot(result, task: task, title: "Coherence", value: \.coherence)
            body += plot(result, task: task, title: "Behaviour × coherence", value: \.product)
            body += tradeOff(result, task: task)
            body += "</div>\n" + examples(result, task: task)
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8" />
            <title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            td.best { font-weight: bold; background: #eef6ee; }
            .plots { display: flex; flex-wrap: wrap; gap: 12px; }
            .examples td { text-align: left; font-size: 90%; }
            .side-by-side td, .side-by-side th { text-align: left; vertical-align: top; width: 25%; font-size: 90%; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    /// The claim's verdicts per task; `heading` names a second-opinion judge (a smaller heading).
    static func verdictSection(_ result: EvaluationResult, comparison: StrategyComparison, heading: String?) -> String {
        guard let verdicts = result.verdicts(comparison) else { return "" }
        var body = ""
        let candidate = comparison.label(comparison.candidate)
        let baselines = comparison.baselines.map(comparison.label)
        let better = verdicts.filter { $0.outcome == .better }.count
        let worse = verdicts.filter { $0.outcome == .worse }.count
        let question = "Does \(escape(candidate)) beat \(escape(baselines.joined(separator: " and ")))?"
        body += heading.map { "<h3>\(question) (behaviour by \(escape($0)))</h3>\n" } ?? "<h2>\(question)</h2>\n"
        body +=
            "<p>The claim — \(escape(candidate)) scores higher than every baseline on max over scales of "
            + "mean(behaviour) × mean(coherence) — is decided per task from 95 % bootstrap intervals of the "
            + "difference (\(EvaluationIntervals.resamples) resamples of the completions of every scale): "
            + "<strong>better on \(better)</strong>, worse on \(worse), not distinguishable on "
            + "\(verdicts.count - better - worse) of \(verdicts.count) tasks.</p>\n<ul>\n"
        for v in verdicts {
            let details = v.against.map {
                "vs \(comparison.label($0.baseline)): \($0.outcome.rawValue), difference "
                    + "[\(format($0.difference.lower)), \(format($0.difference.upper))]"
            }
            body +=
                "<li>\(escape(v.task)): <strong>\(escape(candidate)) \(v.outcome.rawValue)</strong> "
                + "(\(escape(details.joined(separator: "; "))))</li>\n"
        }
        body += "</ul>\n"
        return body
    }

    /// The results table in the shape of the method's Table 2: tasks × strategies, best product.
    /// `judge` names a second-opinion behaviour judge (its own heading and table id).
    static func table(_ result: EvaluationResult, judge: String? = nil) -> String {
        let strategies = result.strategies
        let id = judge.map { "results-\($0)" } ?? "results"
        let by = judge.map { " (behaviour by \($0))" } ?? ""
        var out =
            "<h2>Results\(escape(by)): max over scales of behaviour × coherence [95 % bootstrap interval]</h2>\n"
            + "<table id=\"\(escape(id))\">\n<tr><th>Task</th>"
        for strategy in strategies { out += "<th>\(escape(strategy))</th>" }
        out += "</tr>\n"
        var totals = [String: Double]()
        for task in result.tasks {
            let winner = result.winner(task: task)
            out += "<tr><td>\(escape(task))</td>"
            for strategy in strategies {
                guard let summary = result.summaries.first(where: { $0.task == task && $0.strategy == strategy }) else {
                    out += "<td>—</td>"
                    continue
                }
                totals[strategy, default: 0] += summary.bestProduct
                let cls = strategy == winner ? " class=\"best\"" : ""
                out +=
                    "<td\(cls) data-task=\"\(escape(task))\" data-strategy=\"\(escape(strategy))\">"
                    + "\(format(summary.bestProduct)) <small>[\(format(summary.bestProductInterval.lower)), "
                    + "\(format(summary.bestProductInterval.upper))] (α = \(String(format: "%g", summary.bestScale)))</small></td>"
            }
            out += "</tr>\n"
        }
        out += "<tr><td><strong>Average</strong></td>"
        for strategy in strategies {
            out += "<td>\(format((totals[strategy] ?? 0) / Double(max(result.tasks.count, 1))))</td>"
        }
        return out + "</tr>\n</table>\n"
    }

    /// A line plot of one quantity against the scale, one line per strategy.
    static func plot(_ result: EvaluationResult, task: String, title: String, value: KeyPath<EvaluationCell, Double>)
        -> String
    {
        let curves = result.strategies.map { (strategy: $0, cells: result.curve(task: task, strategy: $0)) }
        let scales = result.cells.map { Double($0.scale) }
        let xRange = (scales.min() ?? 0)...max((scales.max() ?? 1), (scales.min() ?? 0) + 1)
        let ys = curves.flatMap { $0.cells.map { $0[keyPath: value] } }
        let yRange = min(0, ys.min() ?? 0)...max(ys.max() ?? 1, 1e-9)
        let lines = curves.enumerated().map { i, curve in
            (
                label: curve.strategy, color: palette[i % palette.count],
                points: curve.cells.map { (Double($0.scale), $0[keyPath: value]) }
            )
        }
        return svg(title: title, xLabel: "scale", yLabel: title, xRange: xRange, yRange: yRange, lines: lines)
    }

    /// Coherence against behaviour as the scale grows, one curve per strategy.
    static func tradeOff(_ result: EvaluationResult, task: String) -> String {
        let lines = result.strategies.enumerated().map { i, strategy in
            (
                label: strategy, color: palette[i % palette.count],
                points: result.curve(task: task, strategy: strategy).map { ($0.behaviour, $0.coherence) }
            )
        }
        return svg(
            title: "Trade-off", xLabel: "behaviour", yLabel: "coherence", xRange: 0...1, yRange: 0...1, lines: lines)
    }

    static func svg(
        title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
        lines: [(label: String, color: String, points: [(Double, Double)])]
    ) -> String {
        let (w, h, left, right, top, bottom) = (320.0, 230.0, 44.0, 10.0, 24.0, 50.0)
        func x(_ v: Double) -> Double {
            left + (v - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * (w - left - right)
        }
        func y(_ v: Double) -> Double {
            h - bottom - (v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * (h - top - bottom)
        }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\">\n"
        out += "<title>\(escape(title))</title>\n"
        out += "<text x=\"\(Int(w / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n"
        out += "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - right)\" y2=\"\(h - bottom)\" stroke=\"#444\" />\n"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"#444\" />\n"
        for t in 0...4 {
            let xv = xRange.lowerBound + Double(t) / 4 * (xRange.upperBound - xRange.lowerBound)
            let yv = yRange.lowerBound + Double(t) / 4 * (yRange.upperBound - yRange.lowerBound)
            out +=
                "<text x=\"\(fmt(x(xv)))\" y=\"\(fmt(h - bottom + 14))\" text-anchor=\"middle\" font-size=\"10\">\(String(format: "%.3g", xv))</text>\n"
            out +=
                "<text x=\"\(fmt(left - 4))\" y=\"\(fmt(y(yv) + 3))\" text-anchor=\"end\" font-size=\"10\">\(String(format: "%.3g", yv))</text>\n"
        }
        out +=
            "<text x=\"\(fmt((left + w - right) / 2))\" y=\"\(fmt(h - bottom + 28))\" text-anchor=\"middle\" font-size=\"11\">\(escape(xLabel))</text>\n"
        for line in lines where !line.points.isEmpty {
            let path = line.points.map { "\(fmt(x($0.0))),\(fmt(y($0.1)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(path)\" />\n"
        }
        for (i, line) in lines.enumerated() {
            let lx = left + Double(i % 3) * 90, ly = h - 8 - Double(i / 3) * 0
            out += "<rect x=\"\(fmt(lx))\" y=\"\(fmt(ly - 8))\" width=\"10\" height=\"3\" fill=\"\(line.color)\" />"
            out += "<text x=\"\(fmt(lx + 14))\" y=\"\(fmt(ly - 4))\" font-size=\"10\">\(escape(line.label))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// One completion of the prompt per column: unsteered, then every strategy at its best scale (the
    /// first sample of each cell, so every column shares the sampler seed).
    static func sideBySide(_ result: EvaluationResult, task: String) -> String {
        let unsteered = result.cells.first { $0.task == task && $0.scale == 0 }
        var columns = [(String, String?)]()
        if let unsteered { columns.append(("unsteered", unsteered.examples.first)) }
        for strategy in result.strategies {
            guard let summary = result.summaries.first(where: { $0.task == task && $0.strategy == strategy }),
                let cell = result.cells.first(where: {
                    $0.task == task && $0.strategy == strategy && $0.scale == summary.bestScale
                })
            else { continue }
            // A strategy whose best scale is 0 did not beat the unsteered model at any scale: say so.
            let label =
                summary.bestScale == 0
                ? "\(strategy): best at α = 0 (unsteered)"
                : "\(strategy) at α = \(String(format: "%g", summary.bestScale))"
            columns.append((label, cell.examples.first))
        }
        guard !columns.isEmpty else { return "" }
        var out = "<table class=\"side-by-side\">\n<tr>"
        for (label, _) in columns { out += "<th>\(escape(label))</th>" }
        out += "</tr>\n<tr>"
        for (_, text) in columns { out += "<td>\(escape(result.settings.prompt + (text ?? "")))</td>" }
        return out + "</tr>\n</table>\n"
    }

    /// The measured mechanism: target-feature effect against the norm of the effect on all others.
    static func mechanismTable(_ rows: [SteeringMechanism]) -> String {
        guard !rows.isEmpty else { return "" }
        var out =
            "<h2>Mechanism, measured: effect on the target features vs on all others</h2>\n"
            + "<p>Each vector's effect measured like a probe's (the effect protocol above) at its best scale: "
            + "the weighted effect on the task's target features, the norm of the effect on every other "
            + "feature, and their ratio (higher: more targeted).</p>\n<table id=\"mechanism\">\n"
            + "<tr><th>task</th><th>strategy</th><th>scale</th><th>target effect</th><th>off-target norm</th><th>ratio</th></tr>\n"
        for row in rows {
            out +=
                "<tr><td>\(escape(row.task))</td><td>\(escape(row.strategy))</td><td>\(String(format: "%g", row.scale))</td>"
                + "<td>\(format(row.targetEffect))</td><td>\(format(row.offTargetNorm))</td><td>\(format(row.ratio))</td></tr>\n"
        }
        return out + "</table>\n"
    }

    static func examples(_ result: EvaluationResult, task: String) -> String {
        var out = "<details><summary>Example completions</summary>\n<table class=\"examples\">\n"
        out += "<tr><th>strategy</th><th>scale</th><th>completions</th></tr>\n"
        for strategy in result.strategies {
            for cell in result.curve(task: task, strategy: strategy) {
                let texts = cell.examples.map { "<div>\(escape(result.settings.prompt + $0))</div>" }.joined()
                out +=
                    "<tr><td>\(escape(strategy))</td><td>\(String(format: "%g", cell.scale))</td><td>\(texts)</td></tr>\n"
            }
        }
        return out + "</table>\n</details>\n"
    }

    // MARK: Formatting

    static func format(_ value: Double, digits: Int = 4) -> String { String(format: "%.\(digits)f", value) }
    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// XML-escapes text (and drops characters XML cannot hold).
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                let v = scalar.value
                let allowed =
                    v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD)
                    || v >= 0x10000
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"")
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
