import ArtifactStore
import SteeringCore

extension EffectMeasurer {
    /// What shard stores of one measurement job must share before `steer store merge` unions them:
    /// effect recipes equal apart from the probe vector (and its calibration), calibration recipes
    /// equal apart from the vector. A store measured with another model, SAE, protocol, scale or
    /// calibration set differs in a shared input or parameter and is refused with that input named.
    public static let shardAgreements: [RecipeAgreement] = [
        RecipeAgreement(kind: .effect, perItemInputs: ["vector", "calibration"], derivedInputs: ["baseline"]),
        RecipeAgreement(kind: .calibration, perItemInputs: ["vector"]),
    ]
}
