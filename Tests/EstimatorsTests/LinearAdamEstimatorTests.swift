import Estimators
import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@Suite("linear-adam estimator")
struct LinearAdamEstimatorTests {
    @Test(
        "Matches PyTorch (Adam, CosineAnnealingLR, mse_loss) given the same init and batch order",
        arguments: ["fast", "authors"])
    func pytorchParity(name: String) throws {
        let file = try SafetensorsFile(path: fixturePath("estimators/linear_adam_reference.safetensors"))
        let settingsText = try #require(file.metadata["settings"])
        let all = try JSONSerialization.jsonObject(with: Data(settingsText.utf8)) as? [String: [String: Any]]
        let settings = try #require(all?[name])
        let rows = settings["rows"] as! Int, d = settings["d_model"] as! Int, s = settings["d_sae"] as! Int
        let epochs = settings["epochs"] as! Int
        let inputs = Matrix(rows: rows, columns: d, values: try file.floats("\(name).features"))
        let effects = Matrix(rows: rows, columns: s, values: try file.floats("\(name).effects"))
        let initial = Matrix(rows: d, columns: s, values: try file.floats("\(name).init_W"))
        let flat = try file.int64s("\(name).perms").map(Int.init)
        let orders = (0..<epochs).map { Array(flat[($0 * rows)..<(($0 + 1) * rows)]) }
        var configuration = LinearAdamConfiguration()
        configuration.learningRate = settings["lr"] as! Double
        configuration.epochs = epochs
        configuration.batchSize = settings["batch"] as! Int
        let estimator = try LinearAdamEstimator(configuration: configuration)
        let model = try estimator.fit(
            MatrixEffectSource(inputs: inputs, effects: effects), rows: Array(0..<rows), initialWeight: initial,
            batchOrders: orders, progress: nil)
        let weightError = maxAbsDifference(model.weight.values, try file.floats("\(name).W"))
        let biasError = maxAbsDifference(model.bias, try file.floats("\(name).b"))
        #expect(weightError <= 1e-5 && biasError <= 1e-5, "max |ΔW| \(weightError), |Δb| \(biasError)")
        // The parameters did move: the test is not vacuous.
        #expect(maxAbsDifference(model.weight.values, initial.values) > 100 * max(weightError, 1e-7))
    }

    @Test("Cosine annealing stepped per epoch: lr·(1+cos(πe/T))/2")
    func schedule() throws {
        let configuration = LinearAdamConfiguration()
        #expect(configuration.learningRate(epoch: 0) == 2e-4)
        for epoch in 0..<15 {
            let expected = 2e-4 * (1 + cos(Double.pi * Double(epoch) / 15)) / 2
            #expect(abs(configuration.learningRate(epoch: epoch) - expected) < 1e-18)
        }
        #expect(configuration.steps(rows: 49_900) == 11_700)
        var shorter = configuration
        shorter.schedulePeriod = 10
        #expect(abs(shorter.learningRate(epoch: 5) - 1e-4) < 1e-15)
    }

    @Test("The initial M is U(−√(6/d_sae), √(6/d_sae)), as PyTorch kaiming_uniform_ with fan_in = size(1)")
    func initialisation() {
        let values = LinearAdamEstimator.kaimingUniform(rows: 64, columns: 256, seed: 5)
        let bound = Float((6.0 / 256).squareRoot())
        #expect(values.allSatisfy { abs($0) <= bound })
        #expect(values.max()! > 0.99 * bound && values.min()! < -0.99 * bound)
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(values.count)
        #expect(abs(mean) < 0.01 * Double(bound))
        #expect(abs(variance - Double(bound * bound) / 3) < 0.02 * Double(bound * bound))
        #expect(LinearAdamEstimator.kaimingUniform(rows: 64, columns: 256, seed: 5) == values)
        #expect(LinearAdamEstimator.kaimingUniform(rows: 64, columns: 256, seed: 6) != values)
    }

    @Test("Held-out R² on noisy data is close to the theoretical value")
    func noisyRSquared() throws {
        let d = 8, s = 6
        let sigma: Float = 0.25
        var random = SeededGenerator(seed: 41)
        let weight = random.matrix(rows: d, columns: s)
        let bias = (0..<s).map { _ in random.normal() }
        let data = MatrixEffectSource.linear(weight: weight, bias: bias, rows: 6000, noise: sigma, seed: 42)
        var configuration = LinearAdamConfiguration()
        configuration.learningRate = 1e-2
        configuration.epochs = 40
        let model = try LinearAdamEstimator(configuration: configuration).fit(
            data, rows: Array(0..<4000), progress: nil)
        let r2 = heldOutRSquared(model, data, rows: Array(4000..<6000))
        let signal = weight.values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(d * s)
        let theoretical = signal / (signal + Double(sigma * sigma))
        #expect(abs(r2 - theoretical) <= 0.03, "R² \(r2) vs theoretical \(theoretical)")
    }

    @Test("max-steps stops early and progress counts optimiser steps")
    func maxSteps() throws {
        let data = RidgeEstimatorTests.noisyData(rows: 200)
        var configuration = LinearAdamConfiguration()
        configuration.maxSteps = 5
        configuration.batchSize = 16
        let progress = ProgressReporter(
            label: "test", total: configuration.steps(rows: 200), unit: "steps", enabled: false)
        _ = try LinearAdamEstimator(configuration: configuration).fit(data, rows: Array(0..<200), progress: progress)
        #expect(progress.completed == 5)
        #expect(configuration.steps(rows: 200) == 5)
        configuration.maxSteps = 0
        let full = ProgressReporter(label: "test", total: nil, unit: "steps", enabled: false)
        configuration.epochs = 2
        _ = try LinearAdamEstimator(configuration: configuration).fit(data, rows: Array(0..<200), progress: full)
        #expect(full.completed == 2 * 13)
    }

    @Test("Bad input and bad injected init or batch order give clear errors")
    func badInput() throws {
        let data = RidgeEstimatorTests.noisyData(rows: 40)
        let estimator = try LinearAdamEstimator()
        expectMessage(contains: "at least 1 rows") { _ = try estimator.fit(data, rows: [], progress: nil) }
        var poisoned = data
        poisoned.inputs[5, 0] = .nan
        expectMessage(contains: "input vector of dataset row 5") {
            _ = try estimator.fit(poisoned, rows: Array(0..<40), progress: nil)
        }
        expectMessage(contains: "initial weight") {
            _ = try estimator.fit(
                data, rows: Array(0..<40), initialWeight: Matrix(rows: 2, columns: 2), batchOrders: nil, progress: nil)
        }
        expectMessage(contains: "permutation") {
            _ = try estimator.fit(
                data, rows: Array(0..<40), initialWeight: nil, batchOrders: Array(repeating: [0, 1], count: 15),
                progress: nil)
        }
        expectMessage(contains: "out of range") { _ = try estimator.fit(data, rows: [0, 40], progress: nil) }
    }
}
