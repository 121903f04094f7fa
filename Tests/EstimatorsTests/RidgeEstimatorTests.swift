import Estimators
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Ridge estimator")
struct RidgeEstimatorTests {
    /// A noisy problem whose cross-validation optimum lies inside the default grid.
    static func noisyData(rows: Int = 300, d: Int = 12, s: Int = 7, noise: Float = 0.8, seed: UInt64 = 3)
        -> MatrixEffectSource
    {
        var random = SeededGenerator(seed: seed)
        let weight = random.matrix(rows: d, columns: s, scale: 0.6)
        let bias = (0..<s).map { _ in random.normal() }
        return MatrixEffectSource.linear(weight: weight, bias: bias, rows: rows, noise: noise, seed: seed + 1)
    }

    @Test("Recovers M and b exactly (1e-4) from noise-free data, λ chosen by cross-validation")
    func recoversNoiseFree() throws {
        var random = SeededGenerator(seed: 21)
        let weight = random.matrix(rows: 6, columns: 5), bias = (0..<5).map { _ in random.normal() }
        let data = MatrixEffectSource.linear(weight: weight, bias: bias, rows: 400, seed: 22)
        let fit = try RidgeEstimator().fitWithSelection(data, rows: Array(0..<400), progress: nil)
        #expect(fit.selection.chosen == 1e-4)
        #expect(maxAbsDifference(fit.model.weight.values, weight.values) <= 1e-4)
        #expect(maxAbsDifference(fit.model.bias, bias) <= 1e-4)
    }

    @Test("λ → 0 equals ordinary least squares from independent normal equations", arguments: [0.0, 1e-9])
    func ordinaryLeastSquares(lambda: Double) throws {
        let data = Self.noisyData()
        let rows = Array(0..<300)
        let model = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [lambda]))
            .fit(data, rows: rows, progress: nil)
        let reference = ReferenceRegression.ridge(inputs: data.inputs, effects: data.effects, rows: rows, lambda: 0)
        #expect(maxRelativeDifference(model.weight.values, ReferenceRegression.flat(reference.w)) <= 1e-4)
        #expect(maxAbsDifference(model.bias, reference.b.map(Float.init)) <= 1e-4)
    }

    @Test("A fixed λ matches the reference ridge solution")
    func fixedLambda() throws {
        let data = Self.noisyData()
        let rows = Array(stride(from: 0, to: 300, by: 2))
        let model = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [3.5]))
            .fit(data, rows: rows, progress: nil)
        let reference = ReferenceRegression.ridge(inputs: data.inputs, effects: data.effects, rows: rows, lambda: 3.5)
        #expect(maxRelativeDifference(model.weight.values, ReferenceRegression.flat(reference.w)) <= 1e-5)
        #expect(maxAbsDifference(model.bias, reference.b.map(Float.init)) <= 1e-5)
    }

    /// Brute force: refit every fold for every λ with the reference solver and pool the held-out errors.
    static func bruteForce(_ data: MatrixEffectSource, rows: [Int], lambdas: [Double], folds: Int) -> [Double] {
        lambdas.map { lambda in
            var sse = 0.0, count = 0
            for fold in 0..<folds {
                let range = RidgeEstimator.foldRange(fold, of: folds, count: rows.count)
                let heldOut = Array(rows[range])
                let training = Array(rows[..<range.lowerBound] + rows[range.upperBound...])
                let fit = ReferenceRegression.ridge(
                    inputs: data.inputs, effects: data.effects, rows: training, lambda: lambda)
                let e = ReferenceRegression.meanSquaredError(
                    inputs: data.inputs, effects: data.effects, rows: heldOut, w: fit.w, b: fit.b)
                sse += e.sse
                count += e.count
            }
            return sse / Double(count)
        }
    }

    @Test(
        "Cross-validation from sufficient statistics picks the brute-force λ",
        arguments: [RidgeCrossValidation.Path.direct, .spectral])
    func crossValidationMatchesBruteForce(path: RidgeCrossValidation.Path) throws {
        let data = Self.noisyData()
        let rows = Array(0..<300)
        let lambdas = [1e-3, 1e-2, 0.1, 0.3, 1, 3, 10, 100]
        let estimator = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: lambdas, folds: 5))
        let fit = try estimator.fitWithSelection(data, rows: rows, path: path, progress: nil)
        let expected = Self.bruteForce(data, rows: rows, lambdas: lambdas, folds: 5)
        let best = lambdas[expected.indices.min { expected[$0] < expected[$1] }!]
        #expect(fit.selection.chosen == best)
        #expect(best != lambdas.first && best != lambdas.last, "the optimum should be interior: \(expected)")
        let tolerance = path == .direct ? 1e-7 : 1e-4
        for i in lambdas.indices {
            #expect(
                abs(fit.selection.meanSquaredErrors[i] - expected[i]) <= tolerance * expected[i], "λ = \(lambdas[i])")
        }
    }

    @Test("Cross-validation uses the rows in the order given (folds are contiguous blocks of that list)")
    func foldsFollowRowOrder() throws {
        let data = Self.noisyData()
        let rows = Array((0..<300).reversed())
        let lambdas = [0.01, 0.3, 3, 30]
        let fit = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: lambdas, folds: 4))
            .fitWithSelection(data, rows: rows, progress: nil)
        let expected = Self.bruteForce(data, rows: rows, lambdas: lambdas, folds: 4)
        for i in lambdas.indices {
            #expect(abs(fit.selection.meanSquaredErrors[i] - expected[i]) <= 1e-7 * expected[i])
        }
    }

    @Test("Streaming statistics equal the in-memory computation, whatever the chunk size", arguments: [1, 7, 64, 1000])
    func streamingEqualsInMemory(chunkRows: Int) throws {
        let data = Self.noisyData(rows: 130, d: 9, s: 5)
        let rows = Array(0..<130)
        let estimator = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1], chunkRows: chunkRows))
        let statistics = try estimator.statistics(data, rows: rows, progress: nil)
        #expect(statistics.count == 1)
        let stats = statistics[0]
        let x = ReferenceRegression.normalised(data.inputs)
        let d = 9, s = 5, a = 10
        var gram = [Double](repeating: 0, count: a * a), cross = [Double](repeating: 0, count: a * s)
        var squares = [Double](repeating: 0, count: s)
        for r in rows {
            let augmented = x[r] + [1]
            for i in 0..<a {
                for k in 0..<a { gram[i * a + k] += augmented[i] * augmented[k] }
                for j in 0..<s { cross[i * s + j] += augmented[i] * Double(data.effects[r, j]) }
            }
            for j in 0..<s { squares[j] += Double(data.effects[r, j]) * Double(data.effects[r, j]) }
        }
        func close(_ a: [Double], _ b: [Double]) -> Bool {
            let scale = b.map(abs).max() ?? 1
            return zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * scale }
        }
        #expect(stats.count == 130)
        #expect(close(stats.gram, gram))
        #expect(close(stats.cross, cross))
        #expect(close(stats.effectSquares, squares))
        #expect(stats.inputWidth == d)
    }

    @Test("Per-fold statistics sum to the statistics of all rows")
    func foldsSumToTotal() throws {
        let data = Self.noisyData(rows: 101)
        let rows = Array(0..<101)
        let folds = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1, 2], folds: 3, chunkRows: 10))
            .statistics(data, rows: rows, progress: nil)
        let whole = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [1], chunkRows: 10))
            .statistics(data, rows: rows, progress: nil)[0]
        var total = folds[0]
        for fold in folds.dropFirst() { total.add(fold) }
        #expect(folds.map(\.count) == [33, 34, 34])
        #expect(total.count == whole.count)
        let scale = whole.cross.map(abs).max()!
        #expect(zip(total.cross, whole.cross).allSatisfy { abs($0 - $1) <= 1e-6 * scale })
    }

    @Test("Held-out R² on noisy data is close to the theoretical Var(signal)/(Var(signal)+σ²)")
    func noisyRSquared() throws {
        let d = 8, s = 6
        let sigma: Float = 0.25
        var random = SeededGenerator(seed: 41)
        let weight = random.matrix(rows: d, columns: s)
        let bias = (0..<s).map { _ in random.normal() }
        let data = MatrixEffectSource.linear(weight: weight, bias: bias, rows: 6000, noise: sigma, seed: 42)
        let model = try RidgeEstimator().fit(data, rows: Array(0..<4000), progress: nil)
        let r2 = heldOutRSquared(model, data, rows: Array(4000..<6000))
        // x̂ is uniform on the sphere, so Cov(x̂) = I/d and Var(signal) = ‖M‖²_F/(d·s) per output.
        let signal = weight.values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(d * s)
        let theoretical = signal / (signal + Double(sigma * sigma))
        #expect(abs(r2 - theoretical) <= 0.03, "R² \(r2) vs theoretical \(theoretical)")
    }

    @Test("Bad input: too few rows, NaN, mismatched widths and a singular λ = 0 give clear errors")
    func badInput() throws {
        let data = Self.noisyData(rows: 40)
        let estimator = try RidgeEstimator()
        expectMessage(contains: "at least 10 rows") { _ = try estimator.fit(data, rows: Array(0..<9), progress: nil) }
        var poisoned = data
        poisoned.effects[17, 2] = .nan
        expectMessage(contains: "dataset row 17") {
            _ = try estimator.fit(poisoned, rows: Array(0..<40), progress: nil)
        }
        var narrow = data
        narrow.reportedInputWidth = 11
        expectMessage(contains: "Shape mismatch") { _ = try estimator.fit(narrow, rows: Array(0..<40), progress: nil) }
        let ols = try RidgeEstimator(configuration: RidgeConfiguration(lambdas: [0]))
        expectMessage(contains: "use a positive λ") { _ = try ols.fit(data, rows: Array(0..<8), progress: nil) }
        expectMessage(contains: "listed twice") {
            _ = try estimator.fit(data, rows: Array(0..<20) + [3], progress: nil)
        }
    }
}

/// `1 − SSE/SST` of a model on `rows` (per-feature means), computed directly.
func heldOutRSquared(_ model: LinearEffectModel, _ data: MatrixEffectSource, rows: [Int]) -> Double {
    let x = ReferenceRegression.normalised(data.inputs)
    let s = data.effects.columns, d = data.inputs.columns
    var mean = [Double](repeating: 0, count: s)
    for r in rows { for j in 0..<s { mean[j] += Double(data.effects[r, j]) / Double(rows.count) } }
    var sse = 0.0, sst = 0.0
    for r in rows {
        for j in 0..<s {
            var prediction = Double(model.bias[j])
            for c in 0..<d { prediction += x[r][c] * Double(model.weight[c, j]) }
            let y = Double(data.effects[r, j])
            sse += (prediction - y) * (prediction - y)
            sst += (y - mean[j]) * (y - mean[j])
        }
    }
    return 1 - sse / sst
}

/// Expects `body` to throw an error whose description contains `fragment`.
func expectMessage(
    contains fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)".contains(fragment), "message was: \(error)", sourceLocation: sourceLocation)
    }
}
