import Estimators
import Foundation
import Pipeline
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Estimator diagnostics and comparison")
struct DiagnosticsTests {
    @Test("A perfect model scores MSE 0, R² 1, cosine 1 and full top-k overlap")
    func perfect() throws {
        let truth = EstimatorArtifactTests.model(d: 5, s: 12)
        let source = MatrixEffectSource.linear(weight: truth.weight, bias: truth.bias, rows: 30, seed: 4)
        let data = try InMemoryEffectDataset(inputs: source.inputs, effects: source.effects)
        let d = try EstimatorDiagnostics.evaluate(truth, on: data, rows: Array(10..<30), topK: 3)
        #expect(d.rows == 20 && d.topK == 3)
        #expect(d.meanSquaredError < 1e-10 && abs(d.rSquared - 1) < 1e-6)
        #expect(abs(d.cosine.min - 1) < 1e-5 && d.topKOverlap.min == 1)
        #expect(d.featureRSquared.count == 12 && d.featureRSquared.allSatisfy { abs(($0 ?? 0) - 1) < 1e-6 })
    }

    @Test("Hand-computed example: MSE, R² with per-feature means, per-feature R², cosine, top-1 overlap")
    func handComputed() throws {
        // One input dimension, so x̂ = ±1; the model predicts y = x̂·[1, 0, 2] + [0, 1, 0].
        let model = LinearEffectModel(weight: Matrix(rows: 1, columns: 3, values: [1, 0, 2]), bias: [0, 1, 0])
        let inputs = Matrix(rows: 2, columns: 1, values: [3, -0.5])
        let effects = Matrix(rows: 2, columns: 3, values: [1, 1, 1, -1, 1, -3])
        // Predictions: [1, 1, 2] and [-1, 1, -2]; errors: [0, 0, 1] and [0, 0, 1].
        let data = try InMemoryEffectDataset(inputs: inputs, effects: effects)
        let d = try EstimatorDiagnostics.evaluate(model, on: data, rows: [0, 1], topK: 1)
        #expect(abs(d.meanSquaredError - 2.0 / 6) < 1e-12)
        // SST: feature 0: 2, feature 1: 0, feature 2: 8 → R² = 1 − 2/10.
        #expect(abs(d.rSquared - 0.8) < 1e-12)
        #expect(d.featureRSquared[0] == 1 && d.featureRSquared[1] == nil)
        #expect(abs(d.featureRSquared[2]! - (1 - 2.0 / 8)) < 1e-12)
        let c0 = 4 / (Double(3).squareRoot() * Double(6).squareRoot())
        let c1 = 8 / (Double(11).squareRoot() * Double(6).squareRoot())
        #expect(abs(d.cosine.mean - (c0 + c1) / 2) < 1e-6 && abs(d.cosine.max - max(c0, c1)) < 1e-6)
        // Top-1: row 0 predicted feature 2, measured feature 0 (ties → lower index) → 0; row 1: feature 1 both → 1.
        #expect(d.topKOverlap.mean == 0.5)
        expectMessage(contains: "Shape mismatch") {
            _ = try EstimatorDiagnostics.evaluate(EstimatorArtifactTests.model(d: 2, s: 3), on: data, rows: [0])
        }
        expectMessage(contains: "none") { _ = try EstimatorDiagnostics.evaluate(model, on: data, rows: []) }
    }

    @Test("Distribution summaries use NumPy's linear quantiles")
    func quantiles() throws {
        let s = try #require(DistributionSummary([4, 1, 3, 2]))
        #expect(s.min == 1 && s.max == 4 && s.mean == 2.5 && s.median == 2.5)
        #expect(s.lowerQuartile == 1.75 && s.upperQuartile == 3.25)
        #expect(DistributionSummary([]) == nil)
    }

    @Test("The comparison fits both estimators on the same split, tabulates and encodes as an evaluation")
    func comparison() throws {
        try withTemporaryStore { store, _ in
            let data = SyntheticEffectDataset(count: 400, inputWidth: 6, outputWidth: 8, rank: 3, noise: 0.05, seed: 2)
            var adam = LinearAdamConfiguration()
            adam.learningRate = 2e-2
            adam.epochs = 200
            let estimators: [any EffectEstimator] = [
                try RidgeEstimator(), try LinearAdamEstimator(configuration: adam),
            ]
            let comparison = try EffectEstimatorComparison.run(
                estimators, on: data, split: EffectDataSplit(validationSize: 50), store: store, topK: 3)
            #expect(comparison.entries.map(\.estimator) == ["ridge", "linear-adam"])
            #expect(comparison.trainingRows == 350)
            for entry in comparison.entries {
                #expect(entry.diagnostics.rows == 50 && entry.diagnostics.rSquared > 0.9, "\(entry.estimator)")
                #expect(try store.has(entry.key))
            }
            let table = comparison.table()
            #expect(table.contains("ridge") && table.contains("linear-adam") && table.contains("top-3 overlap"))
            // The work each fit did: every training row for ridge, every step for linear-adam (no rule set).
            #expect(comparison.entries[0].work == .init(done: 350, total: 350, unit: "rows"))
            #expect(comparison.entries[1].work == .init(done: 200 * 6, total: 200 * 6, unit: "steps"))
            #expect(table.contains("1200/1200 steps"), "\(table)")
            let key = try store.put(recipe: comparison.recipe, json: comparison)
            let decoded = try #require(try store.get(key)).decodeJSON(EffectEstimatorComparison.self)
            // RecipeValue's JSON cannot tell 1.0 from 1, so compare what the JSON carries unambiguously.
            #expect(decoded.entries.map(\.diagnostics) == comparison.entries.map(\.diagnostics))
            #expect(
                decoded.entries.map(\.key) == comparison.entries.map(\.key) && decoded.dataset == comparison.dataset)
            #expect(comparison.recipe.kind == .evaluation && comparison.recipe.inputs["dataset"] == data.digest)
        }
    }
}
