import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// CAA on the tiny Gemma-2 fixture against a hand computation: each prompt run alone, its activations
/// averaged in Double over the selected positions, then the set means subtracted.
@Suite("CAA against a hand computation")
struct CAATests {
    struct Combination: CustomTestStringConvertible, Sendable {
        var lastOnly: Bool
        var includeBOS: Bool
        var normalize: Bool

        var options: [String: RecipeValue] {
            ["positions": .string(lastOnly ? "last" : "all"), "bos": .bool(includeBOS), "normalize": .bool(normalize)]
        }

        var testDescription: String {
            "positions=\(lastOnly ? "last" : "all") bos=\(includeBOS) normalize=\(normalize)"
        }
    }

    static let combinations: [Combination] = [false, true].flatMap { last in
        [true, false].flatMap { bos in
            [true, false].map { Combination(lastOnly: last, includeBOS: bos, normalize: $0) }
        }
    }

    /// The expected vector, computed prompt by prompt.
    static func handComputed(_ combination: Combination) throws -> [Double] {
        let model = try StrategyFixtures.model()
        func setMean(_ prompts: [String]) throws -> [Double] {
            var total = [Double](repeating: 0, count: model.descriptor.hiddenSize)
            for prompt in prompts {
                let tokens = model.encode(prompt, addBOS: true)
                #expect(tokens.first == model.descriptor.bosToken)
                let acts = try model.activations(at: StrategyFixtures.site, sequences: [tokens])[0]
                let first = combination.includeBOS ? 0 : 1
                let positions = combination.lastOnly ? [acts.rows - 1] : Array(first..<acts.rows)
                for c in 0..<acts.columns {
                    var sum = 0.0
                    for p in positions { sum += Double(acts[p, c]) }
                    total[c] += sum / Double(positions.count)
                }
            }
            return total.map { $0 / Double(prompts.count) }
        }
        let difference = zip(
            try setMean(StrategyFixtures.positivePrompts), try setMean(StrategyFixtures.negativePrompts)
        ).map { $0 - $1 }
        guard combination.normalize else { return difference }
        let n = norm(difference)
        return difference.map { $0 / n }
    }

    static func inputs(_ options: [String: RecipeValue]) throws -> StrategyInputs {
        StrategyInputs(
            site: StrategyFixtures.site, model: try StrategyFixtures.model(),
            positivePrompts: StrategyFixtures.positivePrompts, negativePrompts: StrategyFixtures.negativePrompts,
            options: options)
    }

    @Test("matches the hand computation", arguments: combinations)
    func matchesHandComputation(_ combination: Combination) throws {
        let expected = try Self.handComputed(combination)
        let vector = try CAAStrategy().makeVector(Self.inputs(combination.options))
        #expect(vector.values.count == 64)
        let cos = cosine(vector.values, expected)
        #expect(cos >= Double(Tolerance.strategyCosine), "cosine \(cos)")
        let expectedNorm = norm(expected)
        #expect(
            abs(Double(vector.norm) - expectedNorm) <= 1e-4 * expectedNorm, "norm \(vector.norm) vs \(expectedNorm)")
        #expect(
            vector.provenance["options"]
                == RecipeValue.object(combination.options).canonicalJSON)
    }

    @Test("BOS changes the vector, and the default keeps it")
    func bosMatters() throws {
        let withBOS = try CAAStrategy().makeVector(Self.inputs([:]))
        let withoutBOS = try CAAStrategy().makeVector(Self.inputs(["bos": false]))
        let explicit = try CAAStrategy().makeVector(Self.inputs(["bos": true, "positions": "all"]))
        #expect(withBOS.values == explicit.values)
        #expect(Vector.cosine(withBOS.values, withoutBOS.values) < 0.99999)
    }

    @Test("the batch size does not change the result and is not recorded", arguments: [1, 3, 100])
    func batchSizeIsInvisible(batchSize: Int) throws {
        let reference = try CAAStrategy().makeVector(Self.inputs(["batchSize": .int(1)]))
        let vector = try CAAStrategy().makeVector(Self.inputs(["batchSize": .int(batchSize)]))
        #expect(maxAbsDifference(vector.values, reference.values) <= 1e-5)
        #expect(vector.provenance["options"] == reference.provenance["options"])
        #expect(vector.provenance["options"]?.contains("batchSize") == false)
    }

    @Test("an empty prompt with bos=false names the prompt")
    func emptyPromptWithoutBOS() throws {
        var inputs = try Self.inputs(["bos": false])
        inputs.negativePrompts.append("")
        #expect {
            try CAAStrategy().makeVector(inputs)
        } throws: { error in
            let text = "\(error)"
            return text.contains("negative prompt 3") && text.contains("bos=false")
        }
    }

    @Test("a layer outside the model throws with the valid range")
    func layerOutOfRange() throws {
        var inputs = try Self.inputs([:])
        inputs.site = ActivationSite(layer: 3)
        #expect {
            try CAAStrategy().makeVector(inputs)
        } throws: { error in
            guard case .indexOutOfRange(_, let index, let range) = error as? SteeringError else { return false }
            return index == 3 && range == 0..<3
        }
    }
}
