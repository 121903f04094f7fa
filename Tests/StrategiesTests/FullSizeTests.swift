import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// The Gemma-2-2B shapes (`M` 2304 × 16384): pinv and rotation finish and stay finite. Slow (about a
/// minute and a few GB on two cores), so only with `STEER_FULL_SIZE_TESTS=1`.
@Suite("Full-size strategies", .enabled(if: ProcessInfo.processInfo.environment["STEER_FULL_SIZE_TESTS"] == "1"))
struct FullSizeTests {
    static let dModel = 2304, dSAE = 16384

    static func inputs() -> StrategyInputs {
        var rng = SeededGenerator(seed: 99)
        let effect = LinearEffectModel(
            weight: rng.matrix(rows: dModel, columns: dSAE, scale: 0.02),
            bias: (0..<dSAE).map { _ in rng.normal() * 0.05 })
        let dictionary = DecoderDictionary(decoder: rng.matrix(rows: dSAE, columns: dModel), name: "random-16k")
        return StrategyInputs(
            site: ActivationSite(layer: 12), targets: [FeatureTarget(feature: 14455)], dictionary: dictionary,
            effectModel: effect)
    }

    @Test("pinv and rotation at 2304 × 16384")
    func fullSize() throws {
        let inputs = Self.inputs()
        for strategy: any SteeringStrategy in [SAETSStrategy(), PseudoinverseStrategy(), RotationStrategy()] {
            let start = Date()
            let vector = try strategy.makeVector(inputs)
            let seconds = Date().timeIntervalSince(start)
            print("\(strategy.name): \(String(format: "%.1f", seconds)) s, norm \(vector.norm)")
            #expect(vector.values.count == Self.dModel && vector.values.allSatisfy { $0.isFinite })
        }
    }
}
