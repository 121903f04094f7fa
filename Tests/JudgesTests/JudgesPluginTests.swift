import Foundation
import Gemma2
import SteeringCore
import SteeringTestSupport
import Synchronization
import Testing

@testable import Judges

@Suite("judge registration and options")
struct JudgesPluginTests {
    static let registry: PluginRegistry = {
        var registry = PluginRegistry()
        Gemma2Plugin.register(in: &registry)
        registry.register(dictionary: "random-relu") { _ in RandomReLUDictionary() }
        JudgesPlugin.register(in: &registry)
        return registry
    }()

    @Test("every judge is registered by name")
    func names() {
        #expect(Self.registry.judgeNames == ["coherence-loglik", "feature-activation", "lexicon", "openai"])
    }

    @Test("openai options reach the configuration and the request")
    func openAIOptions() async throws {
        let server = try LoopbackHTTPServer(handler: ChatTestSupport.routing)
        defer { server.shutdown() }
        let variable = "JUDGES_PLUGIN_TEST_KEY_\(UUID().uuidString.prefix(8))"
        setenv(variable, "sk-from-env", 1)
        defer { unsetenv(variable) }
        let judge = try Self.registry.judge(
            "openai",
            PluginOptions(values: [
                "base-url": server.baseURL + "/v1/", "model": "judge-model", "api-key-env": variable, "timeout": "3",
                "retries": "1", "concurrency": "2", "json-mode": "false",
            ]))
        let openAI = try #require(judge as? OpenAIJudge)
        #expect(openAI.configuration.timeout == 3)
        #expect(openAI.configuration.retries == 1 && openAI.configuration.concurrency == 2)
        #expect(await judge.score([ChatTestSupport.request(6)]).first?.value == 6)
        let captured = try #require(server.requests.first)
        #expect(captured.path == "/v1/chat/completions")
        #expect(captured.header("Authorization") == "Bearer sk-from-env")
        #expect(captured.jsonObject()?["model"] as? String == "judge-model")
        #expect(captured.jsonObject()?["response_format"] == nil)
    }

    @Test(
        "bad openai options are rejected, naming the option",
        arguments: [
            ("timeout", "0"), ("timeout", "soon"), ("retries", "-1"), ("concurrency", "0"), ("json-mode", "maybe"),
            ("base-url", "ftp://x"), ("base-url", "not a url"), ("api-key-env", "sk-abc=1"), ("time-out", "3"),
        ])
    func badOpenAIOptions(key: String, value: String) {
        let error = #expect(throws: SteeringError.self) {
            try OpenAIJudgeConfiguration(options: PluginOptions(values: [key: value]))
        }
        #expect(error?.description.contains(key) == true, "\(String(describing: error))")
    }

    @Test("lexicon from options: inline words and a file")
    func lexiconOptions() async throws {
        let directory = try makeTemporaryDirectory("lexicon")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/words.txt"
        try "# wedding words\nbride\ngroom, wedd*\n".write(toFile: file, atomically: true, encoding: .utf8)
        let inline = try Self.registry.judge("lexicon", PluginOptions(values: ["lexicon": "bride, groom,wedd*"]))
        let fromFile = try Self.registry.judge(
            "lexicon", PluginOptions(values: ["lexicon-file": file, "saturation": "2"]))
        let request = JudgeRequest(prompt: "I think", completion: " the bride at the wedding", criterion: "c")
        #expect(await inline.score([request]).first?.value == 7)
        #expect(await fromFile.score([request]).first?.value == 10)
        #expect(inline.identity["lexicon"] == fromFile.identity["lexicon"])
        #expect(throws: SteeringError.self) { try Self.registry.judge("lexicon", PluginOptions()) }
        #expect(throws: SteeringError.self) {
            try Self.registry.judge("lexicon", PluginOptions(values: ["lexicon-file": directory + "/missing"]))
        }
    }

    @Test("coherence-loglik loads the model through the registered backend")
    func coherenceOptions() async throws {
        let judge = try Self.registry.judge(
            "coherence-loglik",
            PluginOptions(path: OfflineFixtures.modelDirectory, values: ["low": "-7", "high": "-4"]))
        #expect(judge.identity["low"] == .double(-7) && judge.identity["high"] == .double(-4))
        #expect(judge.identity["model"] == .string(OfflineFixtures.model.descriptor.fingerprint.hex))
        let request = JudgeRequest(prompt: "I think", completion: " the weather", criterion: "coherent")
        #expect(await judge.score([request]).first?.value != nil)
        #expect(throws: SteeringError.self) { try Self.registry.judge("coherence-loglik", PluginOptions()) }
        #expect(throws: SteeringError.self) {
            try Self.registry.judge(
                "coherence-loglik",
                PluginOptions(path: OfflineFixtures.modelDirectory, values: ["low": "-1", "high": "-4"]))
        }
    }

    @Test("feature-activation loads model and dictionary through the registry")
    func featureActivationOptions() throws {
        let options = PluginOptions(
            path: OfflineFixtures.modelDirectory,
            values: ["sae": "/unused", "dictionary": "random-relu", "features": "3:0.5,7", "reference": "2"])
        let judge = try Self.registry.judge("feature-activation", options)
        #expect(judge.identity["targets"] == [[3, 0.5], [7, 1.0]])
        #expect(judge.identity["reference"] == .double(2))
        var missing = options
        missing.values["reference"] = nil
        let error = #expect(throws: SteeringError.self) { try Self.registry.judge("feature-activation", missing) }
        #expect(error?.description.contains("calibrateReference") == true)
    }

    @Test("judges registered before the model backend report the missing backend by name")
    func registrationOrder() {
        var registry = PluginRegistry()
        JudgesPlugin.register(in: &registry)
        let error = #expect(throws: SteeringError.self) {
            try registry.judge("coherence-loglik", PluginOptions(path: OfflineFixtures.modelDirectory))
        }
        #expect(error?.description.contains("gemma2") == true)
    }
    @Test(
        "judges use what the context holds: the caller's model and dictionary, the task's words, targets and examples, reference completions"
    )
    func contextConfiguresJudges() async throws {
        // Judges registered before the backend: the registry creating the judge loads the model.
        var late = PluginRegistry()
        JudgesPlugin.register(in: &late)
        Gemma2Plugin.register(in: &late)
        _ = try late.judge("coherence-loglik", PluginOptions(path: OfflineFixtures.modelDirectory))

        let model = OfflineFixtures.model, dictionary = RandomReLUDictionary()
        let lexicon = try Self.registry.judge(
            "lexicon", context: JudgeContext(subject: JudgeSubject(criterion: "c", lexicon: ["bride", "groom"])))
        let request = JudgeRequest(prompt: "I think", completion: " the bride and the groom", criterion: "c")
        #expect(await lexicon.score([request]).first?.value == 7)
        let overridden = try Self.registry.judge(
            "lexicon", PluginOptions(values: ["lexicon": "cake"]),
            context: JudgeContext(subject: JudgeSubject(criterion: "c", lexicon: ["bride"])))
        #expect(await overridden.score([request]).first?.value == 1)

        let examples = ["the cat sat on the mat", "a dog ran home", "cats and dogs"]
        let targets = [FeatureTarget(feature: 3, weight: 0.5), FeatureTarget(feature: 7)]
        let features = try Self.registry.judge(
            "feature-activation",
            context: JudgeContext(
                model: model, dictionary: dictionary,
                subject: JudgeSubject(
                    criterion: "c", targets: targets, site: ActivationSite(layer: 1), examples: examples)))
        let expected = try FeatureActivationJudge.calibrateReference(
            model: model, dictionary: dictionary, targets: targets, site: ActivationSite(layer: 1),
            texts: examples.map { JudgeRequest(prompt: "", completion: $0, criterion: "c") })
        #expect(features.identity["reference"] == .double(expected))
        #expect(features.identity["targets"] == [[3, 0.5], [7, 1.0]])
        #expect(features.identity["model"] == .string(model.descriptor.fingerprint.hex))

        let references = try OfflineFixtures.greedyRequests()
        let calls = Mutex(0)
        let subject = JudgeSubject(criterion: "coherent") {
            calls.withLock { $0 += 1 }
            return references
        }
        let coherence = try Self.registry.judge(
            "coherence-loglik", context: JudgeContext(model: model, subject: subject))
        let anchors = try CoherenceLogLikelihoodJudge.calibrateAnchors(model: model, references: references)
        #expect(
            coherence.identity["low"] == .double(anchors.low) && coherence.identity["high"] == .double(anchors.high))
        #expect(calls.withLock { $0 } == 1)
        _ = try Self.registry.judge(
            "coherence-loglik", PluginOptions(values: ["low": "-7", "high": "-4"]),
            context: JudgeContext(model: model, subject: subject))
        #expect(calls.withLock { $0 } == 1, "fixed anchors need no reference completions")
    }
}
