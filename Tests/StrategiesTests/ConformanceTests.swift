import JumpReLUSAE
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// Every strategy passes ``checkSteeringStrategy(_:inputs:normalized:scaleInvariant:tolerance:sourceLocation:)``
/// on the tiny fixtures: the Gemma-2 model (d_model 64) and the layer-1 JumpReLU SAE (d_sae 256).
@Suite("Strategy conformance")
struct ConformanceTests {
    static let targetSets: [[FeatureTarget]] = [
        [FeatureTarget(feature: 3)],
        [FeatureTarget(feature: 10, weight: 0.5), FeatureTarget(feature: 200, weight: 0.5)],
        [FeatureTarget(feature: 0, weight: 0.2), FeatureTarget(feature: 255, weight: -0.7)],
    ]

    static func targetInputs(_ targets: [FeatureTarget], options: [String: RecipeValue] = [:]) throws -> StrategyInputs
    {
        let sae = try StrategyFixtures.sae()
        return StrategyInputs(
            site: StrategyFixtures.site, targets: targets, model: try StrategyFixtures.model(), dictionary: sae,
            effectModel: StrategyFixtures.effectModel(inputWidth: 64, outputWidth: 256), options: options)
    }

    @Test("sae-direct", arguments: targetSets)
    func saeDirect(targets: [FeatureTarget]) throws {
        try checkSteeringStrategy(SAEDirectStrategy(), inputs: Self.targetInputs(targets), scaleInvariant: true)
    }

    @Test("sae-ts", arguments: targetSets)
    func saeTS(targets: [FeatureTarget]) throws {
        try checkSteeringStrategy(SAETSStrategy(), inputs: Self.targetInputs(targets), scaleInvariant: true)
        try checkSteeringStrategy(
            SAETSStrategy(), inputs: Self.targetInputs(targets, options: ["lambda": 0.3]), scaleInvariant: true)
    }

    @Test("pinv, normalised and not", arguments: targetSets)
    func pinv(targets: [FeatureTarget]) throws {
        try checkSteeringStrategy(PseudoinverseStrategy(), inputs: Self.targetInputs(targets), scaleInvariant: true)
        try checkSteeringStrategy(
            PseudoinverseStrategy(), inputs: Self.targetInputs(targets, options: ["normalize": false]),
            normalized: false, scaleInvariant: true)
    }

    @Test("rotation", arguments: targetSets)
    func rotation(targets: [FeatureTarget]) throws {
        try checkSteeringStrategy(RotationStrategy(), inputs: Self.targetInputs(targets), scaleInvariant: true)
        try checkSteeringStrategy(
            RotationStrategy(), inputs: Self.targetInputs(targets, options: ["subtractBias": false]),
            scaleInvariant: true)
    }

    @Test("caa, normalised and not")
    func caa() throws {
        var inputs = StrategyInputs(
            site: StrategyFixtures.site, model: try StrategyFixtures.model(),
            positivePrompts: StrategyFixtures.positivePrompts, negativePrompts: StrategyFixtures.negativePrompts)
        try checkSteeringStrategy(CAAStrategy(), inputs: inputs, scaleInvariant: false)
        inputs.options = ["normalize": false, "positions": "last"]
        try checkSteeringStrategy(CAAStrategy(), inputs: inputs, normalized: false, scaleInvariant: false)
    }

    @Test("the plugin registers every strategy under its own name")
    func registry() throws {
        var registry = PluginRegistry()
        StrategiesPlugin.register(in: &registry)
        #expect(registry.strategyNames == ["caa", "pinv", "rotation", "sae-direct", "sae-ts"])
        for name in registry.strategyNames {
            let strategy = try registry.strategy(name)
            #expect(strategy.name == name)
            #expect(strategy.version >= 1)
        }
        #expect(throws: SteeringError.self) { try registry.strategy("sae-tss") }
    }
}
