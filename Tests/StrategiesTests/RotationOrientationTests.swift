import SteeringCore
import SteeringTestSupport
import Testing

@testable import Strategies

/// The rotation must send decoder directions to estimator columns (`Q·d̂_k ≈ M̂_k`). The authors' public
/// code applies `R.T @ d`, the inverse map; this builds a case where the two are told apart.
@Suite("Rotation orientation")
struct RotationOrientationTests {
    static let width = 16, features = 48

    /// A random orthogonal `width × width` matrix (Gram–Schmidt on Gaussian columns, in Double).
    static func randomOrthogonal(_ rng: inout SeededGenerator) -> [[Double]] {
        var columns = [[Double]]()
        while columns.count < width {
            var v = (0..<width).map { _ in Double(rng.normal()) }
            for u in columns {
                let dot = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
                for i in 0..<width { v[i] -= dot * u[i] }
            }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if n > 1e-6 { columns.append(v.map { $0 / n }) }
        }
        // q[i][j] = column j, row i.
        return (0..<width).map { i in (0..<width).map { j in columns[j][i] } }
    }

    /// Decoder rows `d_k` of random norms and estimator columns `M_k = r_k·Q₀·d̂_k`, so `M̂ = Q₀·D̂ᵀ` exactly.
    static func constructed() -> (q0: [[Double]], effect: LinearEffectModel, dictionary: DecoderDictionary) {
        var rng = SeededGenerator(seed: 2024)
        let q0 = randomOrthogonal(&rng)
        var decoder = rng.matrix(rows: features, columns: width)
        var weight = Matrix(rows: width, columns: features)
        for k in 0..<features {
            let rowScale = 0.5 + Float(k % 5) * 0.4
            let row = decoder.row(k)
            let unit = Vector.normalized(row)
            decoder.setRow(k, to: unit.map { $0 * rowScale })
            let columnScale = 0.1 + Double(k % 7) * 0.05
            for i in 0..<width {
                let rotated = (0..<width).reduce(0.0) { $0 + q0[i][$1] * Double(unit[$1]) }
                weight[i, k] = Float(columnScale * rotated)
            }
        }
        let bias = (0..<features).map { Float($0 % 3) * 0.1 - 0.1 }
        return (q0, LinearEffectModel(weight: weight, bias: bias), DecoderDictionary(decoder: decoder))
    }

    static func column(_ m: Matrix, _ k: Int) -> [Float] { (0..<m.rows).map { m[$0, k] } }

    @Test("Q recovers the constructed rotation and Q·d̂_k = M̂_k")
    func recoversRotation() throws {
        let (q0, effect, dictionary) = Self.constructed()
        let q = try RotationMatrix.compute(effectModel: effect, dictionary: dictionary, chunkSize: 5)
        var worst = 0.0
        for i in 0..<Self.width {
            for j in 0..<Self.width { worst = max(worst, abs(Double(q[i, j]) - q0[i][j])) }
        }
        #expect(worst <= 1e-5, "max |Q − Q₀| = \(worst)")
        for k in 0..<Self.features {
            let dHat = Vector.normalized(dictionary.decoder.row(k))
            let mHat = Vector.normalized(Self.column(effect.weight, k))
            let forward = matvec(q, dHat)
            let inverse = matvec(q, dHat, transpose: true)  // the public repo's R.T @ d
            #expect(maxAbsDifference(forward, mHat) <= 1e-5, "feature \(k): Q·d̂ ≠ M̂")
            #expect(Vector.cosine(inverse, mHat) < 0.99, "feature \(k): Qᵀ·d̂ should not match M̂")
        }
    }

    @Test("the strategy without bias subtraction returns M̂_k for target k", arguments: [0, 17, 47])
    func strategyFollowsColumns(feature: Int) throws {
        let (_, effect, dictionary) = Self.constructed()
        let vector = try RotationStrategy().makeVector(
            StrategyInputs(
                site: ActivationSite(layer: 0), targets: [FeatureTarget(feature: feature, weight: 2)],
                dictionary: dictionary, effectModel: effect, options: ["subtractBias": false]))
        let mHat = Vector.normalized(Self.column(effect.weight, feature))
        #expect(Vector.cosine(vector.values, mHat) >= Tolerance.strategyCosine)
    }

    @Test("with bias subtraction: normalise(M̂_k − normalise(M·b))")
    func subtractsBias() throws {
        let (_, effect, dictionary) = Self.constructed()
        let feature = 9
        let vector = try RotationStrategy().makeVector(
            StrategyInputs(
                site: ActivationSite(layer: 0), targets: [FeatureTarget(feature: feature)], dictionary: dictionary,
                effectModel: effect))
        let mHat = Vector.normalized(Self.column(effect.weight, feature))
        let c = Vector.normalized(matvec(effect.weight, effect.bias))
        let expected = Vector.normalized(zip(mHat, c).map { $0 - $1 })
        #expect(Vector.cosine(vector.values, expected) >= Tolerance.strategyCosine)
        #expect(vector.provenance["biasTerm"] == "subtracted")
    }
}
