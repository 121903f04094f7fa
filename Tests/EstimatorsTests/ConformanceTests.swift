import Estimators
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Estimator conformance")
struct ConformanceTests {
    @Test("ridge satisfies the EffectEstimator contract")
    func ridge() throws {
        try checkEffectEstimator(RidgeEstimator(), recoveryTolerance: 1e-4, scaleTolerance: 1e-4)
    }

    @Test("ridge without cross-validation satisfies the contract")
    func ridgeFixedLambda() throws {
        try checkEffectEstimator(
            RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1e-6])), recoveryTolerance: 1e-4)
    }

    @Test("linear-adam satisfies the EffectEstimator contract")
    func linearAdam() throws {
        var configuration = LinearAdamConfiguration()
        configuration.learningRate = 2e-2
        configuration.epochs = 300
        configuration.batchSize = 32
        try checkEffectEstimator(
            LinearAdamEstimator(configuration: configuration), recoveryTolerance: 2e-3, scaleTolerance: 1e-3)
    }

    @Test("The standard registry creates both estimators from string options")
    func registry() throws {
        var registry = PluginRegistry()
        EstimatorsPlugin.register(in: &registry)
        #expect(registry.estimatorNames == ["linear-adam", "mean-effect", "ridge"])
        let ridge = try registry.estimator("ridge", PluginOptions(values: ["lambdas": "0.5,2", "folds": "3"]))
        #expect(ridge.parameters["lambdas"] == .array([.double(0.5), .double(2)]))
        #expect(ridge.parameters["folds"] == .int(3))
        let adam = try registry.estimator(
            "linear-adam", PluginOptions(values: ["epochs": "3", "learning-rate": "1e-3"]))
        #expect(adam.parameters["epochs"] == .int(3))
        #expect(adam.parameters["learning-rate"] == .double(1e-3))
        #expect(adam.parameters["t-max"] == .int(3))
    }

    @Test(
        "Bad options are refused with a message naming them",
        arguments: [
            ("ridge", ["lambda": "x"], "'lambda' = 'x'"), ("ridge", ["folds": "1"], "at least 2 folds"),
            ("ridge", ["lambdas": "1,-2"], "≥ 0"), ("ridge", ["lamda": "1"], "known options"),
            ("ridge", ["lambda": "1", "lambdas": "1,2"], "not both"),
            ("linear-adam", ["learning-rate": "0"], "must be > 0"), ("linear-adam", ["beta2": "1"], "[0, 1)"),
            ("linear-adam", ["batch-size": "0"], "≥ 1"), ("linear-adam", ["epoch": "3"], "known options"),
        ])
    func badOptions(name: String, values: [String: String], fragment: String) {
        var registry = PluginRegistry()
        EstimatorsPlugin.register(in: &registry)
        do {
            _ = try registry.estimator(name, PluginOptions(values: values))
            Issue.record("expected \(values) to be refused")
        } catch {
            #expect("\(error)".contains(fragment), "message: \(error)")
        }
    }
}
