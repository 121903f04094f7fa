import SteeringCore
import SteeringTestSupport
import Testing

@testable import Judges

@Suite("feature-activation judge on the tiny Gemma-2 fixture")
struct FeatureActivationJudgeTests {
    static let topical = JudgeRequest(
        prompt: "I think", completion: " the wedding of the bride and groom was lovely",
        criterion: "discusses a wedding")
    static let unrelated = JudgeRequest(
        prompt: "I think", completion: " 42 + 17 = 59, so 9 * 3", criterion: "discusses a wedding")

    /// Mean activation of every feature over the completion positions of `request`.
    static func meanFeatures(_ request: JudgeRequest, dictionary: RandomReLUDictionary) throws -> [Double] {
        let model = OfflineFixtures.model
        let span = try CompletionSpan.locate(request, model: model).get()
        let residual = try model.activations(at: dictionary.descriptor.site!, sequences: [span.tokens])[0]
        let features = try dictionary.encode(residual.rows(span.completion))
        return (0..<features.columns).map { f in
            (0..<features.rows).reduce(0.0) { $0 + Double(features[$1, f]) } / Double(features.rows)
        }
    }

    @Test("the feature that fires most on a text makes that text score higher than an unrelated one")
    func featureTracksText() async throws {
        let dictionary = RandomReLUDictionary()
        let onTopic = try Self.meanFeatures(Self.topical, dictionary: dictionary)
        let offTopic = try Self.meanFeatures(Self.unrelated, dictionary: dictionary)
        // The feature most specific to the topical text: largest activation there relative to elsewhere.
        let feature = onTopic.indices.max { onTopic[$0] - offTopic[$0] < onTopic[$1] - offTopic[$1] }!
        #expect(onTopic[feature] > 0)
        let judge = try FeatureActivationJudge(
            model: OfflineFixtures.model, dictionary: dictionary, targets: [FeatureTarget(feature: feature)],
            reference: 2 * onTopic[feature])
        let activations = judge.activations([Self.topical, Self.unrelated]).map { $0.value! }
        #expect(abs(activations[0] - onTopic[feature]) < 1e-6)
        #expect(abs(activations[1] - offTopic[feature]) < 1e-6)
        let scores = await judge.score([Self.topical, Self.unrelated]).map { $0.value! }
        #expect(scores[0] > scores[1], "\(scores)")
        #expect(abs(scores[0] - 5.5) < 1e-5, "half the reference scores 5.5")
    }

    @Test("the feature with the largest activation on a text responds more to that text than to an unrelated one")
    func largestFeatureOnText() throws {
        let dictionary = RandomReLUDictionary()
        let onTopic = try Self.meanFeatures(Self.topical, dictionary: dictionary)
        let feature = onTopic.indices.max { onTopic[$0] < onTopic[$1] }!
        let judge = try FeatureActivationJudge(
            model: OfflineFixtures.model, dictionary: dictionary, targets: [FeatureTarget(feature: feature)],
            reference: 1)
        let activations = judge.activations([Self.topical, Self.unrelated]).map { $0.value! }
        #expect(activations[0] > activations[1], "\(activations)")
    }

    @Test("weights combine features linearly; results are deterministic")
    func weightsAndDeterminism() throws {
        let dictionary = RandomReLUDictionary()
        let features = try Self.meanFeatures(Self.topical, dictionary: dictionary)
        let model = OfflineFixtures.model
        let judge = try FeatureActivationJudge(
            model: model, dictionary: dictionary,
            targets: [FeatureTarget(feature: 3, weight: 0.5), FeatureTarget(feature: 40, weight: -2)], reference: 1)
        let value = try #require(judge.activations([Self.topical]).first?.value)
        #expect(abs(value - (0.5 * features[3] - 2 * features[40])) < 1e-6)
        #expect(judge.activations([Self.topical]).first?.value == value)
    }

    @Test("calibration returns the percentile of the texts' activation, and the identity records the setup")
    func calibrationAndIdentity() throws {
        let dictionary = RandomReLUDictionary()
        let model = OfflineFixtures.model
        let onTopic = try Self.meanFeatures(Self.topical, dictionary: dictionary)
        let feature = onTopic.indices.max { onTopic[$0] < onTopic[$1] }!
        let targets = [FeatureTarget(feature: feature)]
        let reference = try FeatureActivationJudge.calibrateReference(
            model: model, dictionary: dictionary, targets: targets, texts: [Self.topical], percentile: 50)
        #expect(abs(reference - onTopic[feature]) < 1e-6)
        let judge = try FeatureActivationJudge(
            model: model, dictionary: dictionary, targets: targets, reference: reference)
        #expect(judge.identity["model"] == .string(model.descriptor.fingerprint.hex))
        #expect(judge.identity["dictionary"] == .string(dictionary.descriptor.fingerprint.hex))
        #expect(judge.identity["site"] == "blocks.1.hook_resid_post")
        #expect(judge.identity["reference"] == .double(reference))
        let other = try FeatureActivationJudge(
            model: model, dictionary: RandomReLUDictionary(seed: 12), targets: targets, reference: reference)
        #expect(other.identity != judge.identity)
    }

    @Test("bad setups are rejected with clear errors")
    func invalid() {
        let dictionary = RandomReLUDictionary()
        let model = OfflineFixtures.model
        #expect(throws: SteeringError.self) {
            try FeatureActivationJudge(
                model: model, dictionary: dictionary, targets: [.init(feature: 96)], reference: 1)
        }
        #expect(throws: SteeringError.self) {
            try FeatureActivationJudge(model: model, dictionary: dictionary, targets: [], reference: 1)
        }
        #expect(throws: SteeringError.self) {
            try FeatureActivationJudge(model: model, dictionary: dictionary, targets: [.init(feature: 1)], reference: 0)
        }
        #expect(throws: SteeringError.self) {
            try FeatureActivationJudge(
                model: model, dictionary: RandomReLUDictionary(inputWidth: 32), targets: [.init(feature: 1)],
                reference: 1)
        }
    }
}
