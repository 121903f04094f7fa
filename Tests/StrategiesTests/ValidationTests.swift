import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// Clear errors for bad inputs, and the options each strategy reports.
@Suite("Strategy input validation and reporting")
struct ValidationTests {
    static let effect = StrategyFixtures.effectModel(inputWidth: 8, outputWidth: 20, seed: 3)

    static func dictionary(features: Int = 20, site: ActivationSite? = nil) -> DecoderDictionary {
        var rng = SeededGenerator(seed: 11)
        return DecoderDictionary(decoder: rng.matrix(rows: features, columns: 8), name: "toy", site: site)
    }

    static func inputs(_ targets: [FeatureTarget], options: [String: RecipeValue] = [:]) -> StrategyInputs {
        StrategyInputs(
            site: ActivationSite(layer: 12), targets: targets, dictionary: dictionary(), effectModel: effect,
            options: options)
    }

    static func message(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("an out-of-range target names the feature and the range")
    func outOfRange() {
        let text = Self.message { try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 20)])) }
        #expect(text.contains("20 is out of range") && text.contains("0..<20") && text.contains("sae-ts"), "\(text)")
    }

    @Test("an estimator of another width names both widths")
    func widthMismatch() {
        var inputs = Self.inputs([FeatureTarget(feature: 1)])
        inputs.dictionary = Self.dictionary(features: 32)
        for strategy: any SteeringStrategy in [SAETSStrategy(), PseudoinverseStrategy(), RotationStrategy()] {
            let text = Self.message { try strategy.makeVector(inputs) }
            #expect(text.contains("32") && text.contains("20") && text.contains("d_sae"), "\(strategy.name): \(text)")
        }
    }

    @Test("a missing requirement names it")
    func missingRequirement() {
        var inputs = Self.inputs([FeatureTarget(feature: 1)])
        inputs.effectModel = nil
        let text = Self.message { try PseudoinverseStrategy().makeVector(inputs) }
        #expect(text.contains("estimator") && text.contains("pinv"), "\(text)")
        let caa = Self.message { try CAAStrategy().makeVector(inputs) }
        #expect(caa.contains("model") && caa.contains("caa"), "\(caa)")
    }

    @Test("unknown options list the accepted ones; bad values say what is expected")
    func badOptions() {
        let unknown = Self.message {
            try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 1)], options: ["lamda": 1]))
        }
        #expect(unknown.contains("lamda") && unknown.contains("accepted: lambda"), "\(unknown)")
        let none = Self.message {
            try SAEDirectStrategy().makeVector(Self.inputs([FeatureTarget(feature: 1)], options: ["normalize": false]))
        }
        #expect(none.contains("takes no options"), "\(none)")
        let notNumber = Self.message {
            try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 1)], options: ["lambda": "big"]))
        }
        #expect(notNumber.contains("expected a number"), "\(notNumber)")
        let notBool = Self.message {
            try PseudoinverseStrategy().makeVector(
                Self.inputs([FeatureTarget(feature: 1)], options: ["normalize": "maybe"]))
        }
        #expect(notBool.contains("true or false"), "\(notBool)")
    }

    @Test("string option values parse as the command line gives them")
    func stringOptions() throws {
        let typed = try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 4)], options: ["lambda": 0.5]))
        let text = try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 4)], options: ["lambda": "0.5"]))
        #expect(typed.values == text.values)
        #expect(typed.provenance["options"] == #"{"lambda":0.5}"#)
    }

    @Test("duplicate features, zero weights and non-finite weights are rejected")
    func badTargets() {
        let duplicate = Self.message {
            try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: 2), FeatureTarget(feature: 2)]))
        }
        #expect(duplicate.contains("feature 2 is listed twice"), "\(duplicate)")
        let zero = Self.message {
            try SAEDirectStrategy().makeVector(Self.inputs([FeatureTarget(feature: 2, weight: 0)]))
        }
        #expect(zero.contains("every weight is zero"), "\(zero)")
        let infinite = Self.message {
            try RotationStrategy().makeVector(Self.inputs([FeatureTarget(feature: 2, weight: .infinity)]))
        }
        #expect(infinite.contains("must be finite"), "\(infinite)")
    }

    @Test("a dictionary at another layer is refused")
    func siteMismatch() {
        var inputs = Self.inputs([FeatureTarget(feature: 1)])
        inputs.dictionary = Self.dictionary(site: ActivationSite(layer: 6))
        let text = Self.message { try SAEDirectStrategy().makeVector(inputs) }
        #expect(text.contains("blocks.6.hook_resid_post") && text.contains("blocks.12.hook_resid_post"), "\(text)")
    }

    @Test("resolved options record defaults")
    func reportedOptions() throws {
        let target = [FeatureTarget(feature: 5)]
        let saeTS = try SAETSStrategy().makeVector(Self.inputs(target))
        #expect(saeTS.provenance["options"] == #"{"lambda":1.0}"#)
        #expect(saeTS.provenance["targets"] == "5")
        #expect(saeTS.provenance["version"] == "1" && saeTS.provenance["site"] == "blocks.12.hook_resid_post")
        let pinv = try PseudoinverseStrategy().makeVector(Self.inputs(target))
        let rcond = Double(20) * Double(Float.ulpOfOne)
        #expect(
            pinv.provenance["options"]
                == RecipeValue.object(["normalize": true, "rcond": .double(rcond)]).canonicalJSON)
        let rotation = try RotationStrategy().makeVector(Self.inputs(target))
        #expect(rotation.provenance["options"] == #"{"subtractBias":true}"#)
        #expect(try SAEDirectStrategy().makeVector(Self.inputs(target)).provenance["options"] == "{}")
    }

    @Test("sae-ts with λ = 0 or a zero bias is normalise(M·t)")
    func noBiasTerm() throws {
        let targets = [FeatureTarget(feature: 3, weight: 0.5), FeatureTarget(feature: 9, weight: 0.5)]
        let expected = Vector.normalized(
            (0..<8).map { r in 0.5 * Self.effect.weight[r, 3] + 0.5 * Self.effect.weight[r, 9] })
        let lambdaZero = try SAETSStrategy().makeVector(Self.inputs(targets, options: ["lambda": 0]))
        #expect(maxAbsDifference(lambdaZero.values, expected) <= 1e-6)
        var inputs = Self.inputs(targets)
        inputs.effectModel = LinearEffectModel(weight: Self.effect.weight, bias: [Float](repeating: 0, count: 20))
        let zeroBias = try SAETSStrategy().makeVector(inputs)
        #expect(maxAbsDifference(zeroBias.values, expected) <= 1e-6)
        #expect(zeroBias.provenance["biasTerm"] == "zero")
    }

    @Test("sae-ts for one feature is eq. 3: normalise(M_j/‖M_j‖ − Mb/‖Mb‖)")
    func equationThree() throws {
        let j = 13
        let column = Vector.normalized((0..<8).map { Self.effect.weight[$0, j] })
        let c = Vector.normalized(matvec(Self.effect.weight, Self.effect.bias))
        let expected = Vector.normalized(zip(column, c).map { $0 - $1 })
        let vector = try SAETSStrategy().makeVector(Self.inputs([FeatureTarget(feature: j, weight: 3)]))
        #expect(maxAbsDifference(vector.values, expected) <= 1e-6)
    }

    @Test("a strategy reused with another estimator or dictionary recomputes its remembered decomposition")
    func memoFollowsInputs() throws {
        let target = [FeatureTarget(feature: 6)]
        let other = StrategyFixtures.effectModel(inputWidth: 8, outputWidth: 20, seed: 4)
        for make in [{ RotationStrategy() as any SteeringStrategy }, { PseudoinverseStrategy() }] {
            let reused = make()
            var inputs = Self.inputs(target)
            _ = try reused.makeVector(inputs)
            inputs.effectModel = other
            #expect(try reused.makeVector(inputs).values == make().makeVector(inputs).values, "\(reused.name)")
            var rng = SeededGenerator(seed: 5)
            inputs.dictionary = DecoderDictionary(decoder: rng.matrix(rows: 20, columns: 8))
            #expect(try reused.makeVector(inputs).values == make().makeVector(inputs).values, "\(reused.name)")
        }
    }
}
