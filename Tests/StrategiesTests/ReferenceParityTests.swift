import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// Compares every target-driven strategy with numpy renderings of its formula
/// (Tests/Reference/make_strategy_fixtures.py) on a random `M [32, 96]`, `b [96]`, `W_dec [96, 32]`.
@Suite("Strategies match numpy references")
struct ReferenceParityTests {
    /// Fixture key → strategy and options.
    static let variants: [(key: String, strategy: any SteeringStrategy, options: [String: RecipeValue])] = [
        ("sae-direct", SAEDirectStrategy(), [:]),
        ("sae-ts lambda=1", SAETSStrategy(), [:]),
        ("sae-ts lambda=0.5", SAETSStrategy(), ["lambda": 0.5]),
        ("pinv normalize=true", PseudoinverseStrategy(), [:]),
        ("pinv normalize=false", PseudoinverseStrategy(), ["normalize": false]),
        ("rotation subtractBias=true", RotationStrategy(), [:]),
        ("rotation subtractBias=false", RotationStrategy(), ["subtractBias": false]),
    ]

    @Test("cosine ≥ 0.99999 with the reference, and equal norms when unnormalised", arguments: variants.indices)
    func matchesReference(variant: Int) throws {
        let (key, strategy, options) = Self.variants[variant]
        let reference = try StrategyReference.load()
        let site = ActivationSite(layer: 12)
        for testCase in reference.cases {
            let expected = try #require(testCase.vectors[key], "fixture lacks \(key)")
            let inputs = StrategyInputs(
                site: site, targets: testCase.featureTargets, dictionary: reference.dictionary,
                effectModel: reference.effectModel, options: options)
            let vector = try strategy.makeVector(inputs)
            let cos = cosine(vector.values, expected)
            #expect(cos >= Double(Tolerance.strategyCosine), "\(key), \(testCase.name): cosine \(cos)")
            let expectedNorm = norm(expected)
            #expect(
                abs(Double(vector.norm) - expectedNorm) <= 1e-4 * expectedNorm,
                "\(key), \(testCase.name): norm \(vector.norm), reference \(expectedNorm)")
        }
    }

    @Test("Q = U·Vᵀ equals numpy's to 1e-5")
    func rotationMatrixMatchesNumpy() throws {
        let reference = try StrategyReference.load()
        let q = try RotationMatrix.compute(
            effectModel: reference.effectModel, dictionary: reference.dictionary, chunkSize: 7)
        #expect(q.shape == [reference.d_model, reference.d_model])
        var worst = 0.0
        for i in 0..<q.values.count { worst = max(worst, abs(Double(q.values[i]) - reference.rotation[i])) }
        #expect(worst <= 1e-5, "max |ΔQ| = \(worst)")
    }
}
