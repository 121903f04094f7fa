import SteeringCore
import SteeringNumerics
import SteeringTestSupport
import Testing

@testable import Estimators

@Suite("linear-adam convergence rule and the mean-effect floor")
struct StoppingAndFloorTests {
    @Test("The plateau rule stops after `patience` epochs without a relative gain of `tolerance`")
    func plateauRule() {
        var rule = PlateauRule(patience: 2, tolerance: 0.01)
        // 10 → 9 is a gain; 8.95 and 8.92 are within 1 % of the best (9), so the second of them stops it.
        let decisions = [10, 9, 8.95, 8.92].map { rule.shouldStop(afterEpochLoss: $0) }
        #expect(decisions == [false, false, false, true])
        var off = PlateauRule(patience: 0, tolerance: 0.01)
        let never = (0..<50).map { _ in off.shouldStop(afterEpochLoss: 1) }
        #expect(!never.contains(true))
    }

    @Test("With a patience, linear-adam stops well before its epoch cap once converged, at the solution")
    func stopsWhenConverged() throws {
        let (inputs, weight, bias) = (
            randomMatrix(rows: 256, columns: 16, seed: 3), randomMatrix(rows: 16, columns: 24, seed: 4),
            (0..<24).map { Float($0) / 24 }
        )
        var effects = normalisedRows(inputs).matmul(weight)
        effects.addRowVector(bias)
        var configuration = LinearAdamConfiguration()
        configuration.learningRate = 2e-2
        configuration.batchSize = 32
        configuration.epochs = 4000
        configuration.patience = 10
        configuration.tolerance = 1e-3
        let progress = ProgressReporter(label: "fit", total: nil, unit: "steps", enabled: false)
        let model = try LinearAdamEstimator(configuration: configuration).fit(
            MatrixEffectSource(inputs: inputs, effects: effects), rows: Array(0..<256), progress: progress)
        let cap = configuration.steps(rows: 256)
        #expect(progress.completed < cap / 4, "ran \(progress.completed) of at most \(cap) steps")
        #expect(progress.completed > 10 * 8, "stopped after \(progress.completed) steps, before any plateau")
        let error = maxAbsDifference(model.weight.values, weight.values)
        #expect(error < 2e-2, "max |ΔM| \(error)")
        #expect(configuration.parameters["patience"] == .int(10))
        // Without the rule the recipe is what it always was, so earlier fits keep their keys.
        #expect(LinearAdamConfiguration().parameters["patience"] == nil)
    }

    @Test("mean-effect predicts the training rows' mean effect for every input (M = 0)")
    func meanEffect() throws {
        let inputs = randomMatrix(rows: 40, columns: 8, seed: 1), effects = randomMatrix(rows: 40, columns: 5, seed: 2)
        let rows = Array(stride(from: 0, to: 40, by: 3))
        let model = try MeanEffectEstimator().fit(
            MatrixEffectSource(inputs: inputs, effects: effects), rows: rows.reversed(), progress: nil)
        #expect(model.weight.values.allSatisfy { $0 == 0 } && model.weight.shape == [8, 5])
        for c in 0..<5 {
            let mean = rows.map { Double(effects.row($0)[c]) }.reduce(0, +) / Double(rows.count)
            #expect(abs(Double(model.bias[c]) - mean) < 1e-6)
        }
        var registry = PluginRegistry()
        EstimatorsPlugin.register(in: &registry)
        #expect(throws: SteeringError.self) {
            try registry.estimator("mean-effect", PluginOptions(values: ["epochs": "3"]))
        }
        do {
            _ = try registry.estimator("mean-effect", PluginOptions(values: ["epochs": "3"]))
        } catch {
            #expect("\(error)".contains("known options: none"), "\(error)")
        }
        var bad = effects
        bad.values[7] = .nan
        #expect(throws: SteeringError.self) {
            try MeanEffectEstimator().fit(
                MatrixEffectSource(inputs: inputs, effects: bad), rows: [0, 1], progress: nil)
        }
    }

    private func randomMatrix(rows: Int, columns: Int, seed: UInt64) -> Matrix {
        var random = SplitMix64(seed: seed)
        return Matrix(
            rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in 2 * random.unitFloat() - 1 })
    }

    private func normalisedRows(_ matrix: Matrix) -> Matrix {
        var out = matrix
        for r in 0..<matrix.rows {
            let norm = Vector.norm(matrix.row(r))
            for c in 0..<matrix.columns { out.values[r * matrix.columns + c] /= norm }
        }
        return out
    }
}
