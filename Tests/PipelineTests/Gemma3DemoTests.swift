import ArtifactStore
import Foundation
import SteeringTestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `steer demo` on the real google/gemma-3-270m with the shipped dictionary, tasks and effect dataset,
/// shortened (one task, two scales, four samples, linear-adam capped at 3 epochs): shipped probes
/// measured again agree with the shipped values, the report is well formed and holds the side-by-side
/// completions and the measured mechanism, and a second run computes nothing.
@Suite("steer demo on google/gemma-3-270m, shortened", .enabled(if: RealGemma3.enabled))
struct Gemma3DemoTests {
    @Test("the Gemma-3 demo runs end to end on the real model; a second run computes nothing")
    func shortenedDemo() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let model = try RealGemma3.requirePath()
        let work = try makeTemporaryDirectory("gemma3-demo")
        defer { try? FileManager.default.removeItem(atPath: work) }
        // A copy, so that both runs see the same files even while a measurement job re-exports the dataset.
        try FileManager.default.copyItem(
            atPath: repositoryRoot.appendingPathComponent("Demo/gemma3-270m").path, toPath: work + "/assets")
        let arguments = [
            "demo", "--model", model, "--demo-directory", work + "/assets", "--store", work + "/store", "--report",
            work + "/report", "--tasks", "love", "--scales", "0,160", "--samples", "4", "--recheck", "2",
            "--estimator-option", "linear-adam.epochs=3",
        ]
        let first = try Subprocess.run(steer, arguments, timeout: 900)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("measuring 2 of them again (2 not yet in the store)"), "\(first.stderr)")
        #expect(first.stderr.contains("recheck: 2 of 2 probes agree with the shipped effects"), "\(first.stderr)")
        for estimator in ["ridge", "linear-adam", "mean-effect"] {
            #expect(first.stdout.contains("\n\(estimator) "), "\(first.stdout)")
        }

        let html = try String(contentsOfFile: work + "/report/index.html", encoding: .utf8)
        let parser = XMLParser(data: Data(html.utf8))
        let delegate = CountingDelegate()
        parser.delegate = delegate
        #expect(parser.parse(), "index.html must be well-formed XML: \(String(describing: parser.parserError))")
        #expect(html.contains("SAE-TS on google/gemma-3-270m") && html.contains("Live recheck: 2 shipped probes"))
        #expect(html.contains("<table class=\"side-by-side\">") && html.contains("<th>unsteered</th>"))
        #expect(html.contains("data-task=\"love\" data-strategy=\"sae-ts\""))
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: work + "/report/results.json")))
                as? [String: Any])
        let mechanism = try #require(json["mechanism"] as? [[String: Any]], "results.json has the measured mechanism")
        #expect(!mechanism.isEmpty && mechanism.allSatisfy { ($0["scale"] as? Double) == 160 })
        #expect(html.contains("Mechanism, measured"))
        #expect(html.contains("Second opinion: behaviour by the lexicon judge"), "the lexicon's second opinion")
        let opinions = try #require(json["secondOpinions"] as? [[String: Any]])
        #expect(opinions.first?["judge"] as? String == "lexicon" && opinions.first?["verdicts"] != nil)
        #expect(first.stdout.contains("behaviour by lexicon (second opinion, same completions):"), "\(first.stdout)")
        try expectSecondRunComputesNothing(
            steer, arguments, store: work + "/store", first: first, says: "(0 not yet in the store)")
    }

    @Test("bad demo arguments are refused with a message naming them")
    func badArguments() throws {
        let work = try makeTemporaryDirectory("gemma3-demo-bad")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let model = try RealGemma3.requirePath()
        let cases: [([String], String)] = [
            (["--model", work + "/missing.gguf"], "Scripts/fetch-gemma3-270m.sh"),
            (["--model", model, "--tasks", "wedding"], "no task 'wedding'"),
            (["--model", model, "--scales", "0,x"], "--scales '0,x'"),
            (["--model", model, "--full"], "--full and --rollouts apply to --toy"),
            (["--model", model, "--estimator-option", "caa.x=1"], "caa"),
        ]
        let demo = repositoryRoot.appendingPathComponent("Demo/gemma3-270m").path
        for (extra, fragment) in cases {
            let result = try #require(
                try BuiltProduct.runSteer(
                    ["demo", "--demo-directory", demo, "--store", work + "/store", "--report", work + "/report"]
                        + extra))
            #expect(result.status != 0, "\(extra)")
            #expect(result.stderr.contains(fragment), "\(extra): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: work + "/report/index.html"), "no report from a refused run")
    }
}
