import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Judges

@Suite("coherence-loglik judge on the tiny Gemma-2 fixture")
struct CoherenceLogLikelihoodJudgeTests {
    @Test("the model's own greedy text is more likely than token soup, and scores higher")
    func greedyBeatsSoup() async throws {
        let model = OfflineFixtures.model
        let greedy = try OfflineFixtures.greedyRequests()
        let soup = OfflineFixtures.soupRequests(like: greedy)
        let anchors = try CoherenceLogLikelihoodJudge.calibrateAnchors(model: model, references: greedy)
        let judge = try CoherenceLogLikelihoodJudge(model: model, anchors: anchors)
        let greedyLL = judge.meanLogLikelihoods(greedy).map { $0.value! }
        let soupLL = judge.meanLogLikelihoods(soup).map { $0.value! }
        let greedyScores = await judge.score(greedy).map { $0.value! }
        let soupScores = await judge.score(soup).map { $0.value! }
        for i in greedy.indices {
            #expect(greedyLL[i] > soupLL[i], "prompt \(greedy[i].prompt): \(greedyLL[i]) vs \(soupLL[i])")
            #expect(greedyScores[i] > soupScores[i])
            #expect((1...10).contains(greedyScores[i]) && (1...10).contains(soupScores[i]))
        }
        // The median reference sits on the high anchor, so at least half the references score 10.
        #expect(greedyScores.filter { $0 == 10 }.count >= greedy.count / 2)
        #expect(anchors.low == -log(Double(model.descriptor.vocabularySize)))
    }

    @Test("scores are deterministic and the identity names the model and anchors")
    func deterministic() async throws {
        let greedy = try OfflineFixtures.greedyRequests()
        let judge = try CoherenceLogLikelihoodJudge(
            model: OfflineFixtures.model, anchors: LogLikelihoodAnchors(low: -7, high: -3))
        let first = await judge.score(greedy).map(\.value)
        let again = await judge.score(greedy.reversed()).map(\.value)
        #expect(first == Array(again.reversed()))
        let other = try CoherenceLogLikelihoodJudge(model: OfflineFixtures.model)
        #expect(judge.identity["model"] == .string(OfflineFixtures.model.descriptor.fingerprint.hex))
        #expect(judge.identity["low"] == .double(-7) && judge.identity["high"] == .double(-3))
        #expect(judge.identity != other.identity)
    }

    @Test("the log-likelihood equals the loss difference computed by nextTokenLoss")
    func matchesNextTokenLoss() throws {
        let model = OfflineFixtures.model
        let request = try OfflineFixtures.greedyRequests()[0]
        let judge = try CoherenceLogLikelihoodJudge(model: model)
        let ll = try #require(judge.meanLogLikelihoods([request]).first?.value)
        let promptLength = model.encode(request.prompt, addBOS: true).count
        let whole = request.tokens
        let losses = try model.nextTokenLoss(sequences: [whole, Array(whole[0..<promptLength])], interventions: [])
        // Sum over completion positions = total over the whole sequence − total over the prompt.
        let completionTotal = losses[0] * Double(whole.count - 1) - losses[1] * Double(promptLength - 1)
        let expected = -completionTotal / Double(whole.count - promptLength)
        #expect(abs(ll - expected) < 1e-4, "\(ll) vs \(expected)")
    }

    @Test("text without tokens is encoded; EOS padding after the first EOS is ignored")
    func tokensAndPadding() async throws {
        let model = OfflineFixtures.model
        let judge = try CoherenceLogLikelihoodJudge(model: model)
        let text = JudgeRequest(prompt: "I think", completion: " the weather is nice", criterion: "c")
        let encoded = JudgeRequest(
            prompt: "I think", completion: "", criterion: "c",
            tokens: model.encode("I think the weather is nice", addBOS: true))
        #expect(judge.meanLogLikelihoods([text]).first?.value == judge.meanLogLikelihoods([encoded]).first?.value)

        let eos = model.descriptor.eosToken
        let base = model.encode("I think the weather", addBOS: true)
        let once = JudgeRequest(prompt: "I think", completion: "", criterion: "c", tokens: base + [eos])
        let padded = JudgeRequest(
            prompt: "I think", completion: "", criterion: "c", tokens: base + [eos, eos, eos, eos])
        let scores = await judge.score([once, padded]).map(\.value)
        #expect(scores[0] != nil && scores[0] == scores[1])
    }

    @Test("unscorable requests fail individually with a reason; the rest are scored")
    func failures() async throws {
        let model = OfflineFixtures.model
        let judge = try CoherenceLogLikelihoodJudge(model: model)
        let prompt = model.encode("I think", addBOS: true)
        let requests = [
            JudgeRequest(prompt: "I think", completion: "", criterion: "c", tokens: prompt),
            JudgeRequest(prompt: "I think", completion: "", criterion: "c", tokens: prompt + [9999]),
            JudgeRequest(
                prompt: "I think", completion: "", criterion: "c",
                tokens: prompt + [Int32](repeating: 5, count: model.descriptor.maxPositions)),
            JudgeRequest(prompt: "I think", completion: " so", criterion: "c"),
        ]
        let results = await judge.score(requests)
        for index in 0..<3 {
            guard case .unscorable(let reason) = results[index].judgeError else {
                Issue.record("request \(index) should be unscorable: \(results[index])")
                continue
            }
            #expect(!reason.isEmpty)
        }
        #expect(results[3].value != nil)
    }

    @Test("the anchor map is monotone, clamps to 1...10 and rejects bad anchors")
    func anchorMap() {
        let anchors = LogLikelihoodAnchors(low: -8, high: -2)
        #expect(anchors.score(meanLogLikelihood: -20) == 1)
        #expect(anchors.score(meanLogLikelihood: -8) == 1)
        #expect(anchors.score(meanLogLikelihood: -5) == 5.5)
        #expect(anchors.score(meanLogLikelihood: -2) == 10)
        #expect(anchors.score(meanLogLikelihood: 0) == 10)
        let grid = stride(from: -10.0, through: 0, by: 0.25).map { anchors.score(meanLogLikelihood: $0) }
        #expect(zip(grid, grid.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(throws: SteeringError.self) { try LogLikelihoodAnchors(low: -2, high: -2).validate() }
        #expect(throws: SteeringError.self) { try LogLikelihoodAnchors(low: .nan, high: -2).validate() }
    }
}
