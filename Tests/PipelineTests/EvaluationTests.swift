import ArtifactStore
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("Evaluation sweeps and the report")
struct EvaluationTests {
    func subjects(_ model: any ModelBackend, store: ArtifactStore) throws -> [EvaluationSubject] {
        var rng = SeededGenerator(seed: 11)
        return try ["caa", "sae-direct", "sae-ts"].map { strategy in
            let values = Vector.normalized((0..<model.descriptor.hiddenSize).map { _ in rng.normal() })
            let key = try store.put(
                recipe: Recipe(kind: .vector, algorithm: "test-\(strategy)"), floats: values, shape: [values.count])
            return EvaluationSubject(
                task: "london", strategy: strategy, vector: values, vectorKey: key,
                behaviourCriterion: "mentions London", coherenceCriterion: "is coherent")
        }
    }

    func settings(_ scales: [Float]) -> EvaluationSettings {
        EvaluationSettings(
            site: ActivationSite(layer: 1), scales: scales, samples: 4, prompt: "the cat", maxNewTokens: 5)
    }

    @Test("a rerun computes nothing; a new scale computes only its column; the report is well-formed")
    func cachingAndReport() async throws {
        let dir = try makeTemporaryDirectory("evaluation")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArtifactStore(path: dir + "/store")
        let model = CountingBackend(try PipelineFixtures.model())
        let judge = StubJudge()
        let subjects = try self.subjects(model, store: store)
        let first = try await EvaluationRunner(
            model: model, store: store, settings: settings([0, 4]), behaviourJudge: judge, coherenceJudge: judge
        ).run(subjects)
        #expect(first.cells.count == 6 && first.computedCells == 4, "the three scale-0 cells share one computation")
        #expect(model.generateCalls == 4, "scale 0 is generated once and shared by every strategy")
        let (calls, generations) = (judge.callCount, model.totalCalls)

        let again = try await EvaluationRunner(
            model: model, store: store, settings: settings([0, 4]), behaviourJudge: judge, coherenceJudge: judge
        ).run(subjects)
        #expect(again.computedCells == 0)
        #expect(judge.callCount == calls && model.totalCalls == generations, "nothing is recomputed")
        #expect(again.cells == first.cells)

        let wider = try await EvaluationRunner(
            model: model, store: store, settings: settings([0, 4, 8]), behaviourJudge: judge, coherenceJudge: judge
        ).run(subjects)
        #expect(wider.computedCells == 3, "only the new scale's cells")
        #expect(model.generateCalls == 4 + 3)
        #expect(judge.callCount == calls + 3 * 2 * 4)

        let summary = wider.summaries
        #expect(summary.count == 3)
        for s in summary {
            let best = wider.curve(task: s.task, strategy: s.strategy).map(\.product).max()!
            #expect(s.bestProduct == best)
        }
        for cell in wider.cells {
            #expect(abs(cell.product - cell.behaviour * cell.coherence) < 1e-12)
            #expect((0...1).contains(cell.behaviour) && (0...1).contains(cell.coherence))
        }

        // A second behaviour judge re-scores the same completions: no generation, no coherence call.
        let (generateCalls, coherenceCalls) = (model.generateCalls, judge.callCount)
        let otherJudge = StubJudge(name: "stub-lexicon")
        let rescored = try await EvaluationRunner(
            model: model, store: store, settings: settings([0, 4, 8]), behaviourJudge: otherJudge,
            coherenceJudge: judge
        ).run(subjects)
        #expect(model.generateCalls == generateCalls && judge.callCount == coherenceCalls)
        #expect(otherJudge.callCount == 7 * 4, "each of the 7 distinct generations scored once, 4 completions each")
        #expect(zip(rescored.cells, wider.cells).allSatisfy { $0.generationsKey == $1.generationsKey })

        let output = try EvaluationReport.write(
            wider, to: dir + "/report", title: "Test report", notes: ["model: tiny"],
            comparison: StrategyComparison(
                candidate: "sae-ts", baselines: ["sae-direct", "caa"],
                labels: ["sae-ts": "SAE-TS", "sae-direct": "SAE-direct", "caa": "CAA"]),
            secondOpinions: [EvaluationReport.SecondOpinion(judge: "stub-lexicon", result: rescored)])
        let html = try String(contentsOfFile: output.html, encoding: .utf8)
        let parser = XMLParser(data: Data(html.utf8))
        let delegate = CountingDelegate()
        parser.delegate = delegate
        #expect(parser.parse(), "index.html must be well-formed XML: \(String(describing: parser.parserError))")
        #expect(delegate.count("svg") == 4, "behaviour, coherence, product and trade-off plots")
        #expect(delegate.count("polyline") == 4 * 3)
        #expect(!html.contains("<script"))
        for s in summary {
            #expect(html.contains("data-task=\"london\" data-strategy=\"\(s.strategy)\""))
            #expect(html.contains(String(format: "%.4f", s.bestProduct)))
        }
        #expect(html.contains("Does SAE-TS beat SAE-direct and CAA?"))
        #expect(html.contains("Second opinion: behaviour by the stub-lexicon judge"))
        #expect(html.contains("Does SAE-TS beat SAE-direct and CAA? (behaviour by stub-lexicon)"))
        #expect(html.contains("<table id=\"results-stub-lexicon\">"))
        // Side by side: the unsteered completion, then one column per strategy (at α = 0 it says so).
        let sideBySide = try #require(html.components(separatedBy: "<table class=\"side-by-side\">").dropFirst().first)
        let header = try #require(sideBySide.components(separatedBy: "</tr>").first)
        #expect(header.components(separatedBy: "<th>").count - 1 == 1 + summary.count, "\(header)")
        #expect(header.contains("<th>unsteered</th>"))
        let csv = try String(contentsOfFile: output.csv, encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 1 + wider.cells.count)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output.json)))
            as! [String: Any]
        #expect((json["cells"] as! [Any]).count == 9)
        let opinions = try #require(json["secondOpinions"] as? [[String: Any]])
        #expect(opinions.count == 1 && opinions[0]["judge"] as? String == "stub-lexicon")
        #expect((opinions[0]["summaries"] as? [Any])?.count == 3 && opinions[0]["verdicts"] != nil)
    }

    @Test("a judge that is down fails clearly; finished cells are kept and the sweep resumes")
    func judgeDown() async throws {
        let dir = try makeTemporaryDirectory("evaluation-down")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArtifactStore(path: dir + "/store")
        let model = try PipelineFixtures.model()
        let subjects = Array(try self.subjects(model, store: store).prefix(1))
        let good = StubJudge()
        _ = try await EvaluationRunner(
            model: model, store: store, settings: settings([0]), behaviourJudge: good, coherenceJudge: good
        ).run(subjects)
        let down = StubJudge(failing: true)
        do {
            _ = try await EvaluationRunner(
                model: model, store: store, settings: settings([0, 4]), behaviourJudge: good, coherenceJudge: down
            ).run(subjects)
            Issue.record("expected an error")
        } catch let error as PipelineError {
            #expect(error.description.contains("failed on 4 of 4") && error.description.contains("endpoint"))
        }
        let resumed = try await EvaluationRunner(
            model: model, store: store, settings: settings([0, 4]), behaviourJudge: good, coherenceJudge: good
        ).run(subjects)
        #expect(resumed.computedCells == 1, "the scale-0 cell came from the store")
    }

    @Test("bad settings are refused")
    func badSettings() throws {
        let dir = try makeTemporaryDirectory("evaluation-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ArtifactStore(path: dir + "/store")
        let model = try PipelineFixtures.model()
        #expect(throws: PipelineError.self) {
            try EvaluationRunner(
                model: model, store: store, settings: settings([]), behaviourJudge: StubJudge(),
                coherenceJudge: StubJudge())
        }
    }
}

final class CountingDelegate: NSObject, XMLParserDelegate {
    var counts = [String: Int]()
    func count(_ name: String) -> Int { counts[name, default: 0] }
    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        counts[elementName, default: 0] += 1
    }
}
