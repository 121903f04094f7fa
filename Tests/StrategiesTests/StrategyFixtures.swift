import Foundation
import Gemma2
import JumpReLUSAE
import SteeringCore
import SteeringTestSupport

/// A dictionary that is only a decoder matrix (`[d_sae, d_model]`), for strategy tests.
final class DecoderDictionary: FeatureDictionary {
    let descriptor: DictionaryDescriptor
    let decoder: Matrix

    init(decoder: Matrix, name: String = "decoder", site: ActivationSite? = nil) {
        self.decoder = decoder
        self.descriptor = DictionaryDescriptor(
            kind: "test", name: name, site: site, inputWidth: decoder.columns, featureCount: decoder.rows,
            fingerprint: ContentDigest(ofFloats: decoder.values))
    }

    /// `x·W_decᵀ` (only the shape matters to the strategies).
    func encode(_ activations: Matrix) throws -> Matrix {
        product(activations, decoder, transposeSecond: true)
    }

    /// `f·W_dec`.
    func decode(_ features: Matrix) throws -> Matrix { product(features, decoder, transposeSecond: false) }

    func decoderRows(_ features: [Int]) throws -> Matrix {
        for feature in features where !(0..<decoder.rows).contains(feature) {
            throw SteeringError.indexOutOfRange(what: "feature", index: feature, validRange: 0..<decoder.rows)
        }
        return Matrix(stacking: features.map { decoder.row($0) }, columns: decoder.columns)
    }
}

/// Tests/Fixtures/strategies/reference.json, written by Tests/Reference/make_strategy_fixtures.py.
struct StrategyReference: Decodable {
    struct Target: Decodable {
        var feature: Int
        var weight: Float
    }

    struct Case: Decodable {
        var name: String
        var targets: [Target]
        var vectors: [String: [Double]]

        var featureTargets: [FeatureTarget] { targets.map { FeatureTarget(feature: $0.feature, weight: $0.weight) } }
    }

    var d_model: Int
    var d_sae: Int
    var M: [Float]
    var b: [Float]
    var W_dec: [Float]
    var rotation: [Double]
    var cases: [Case]

    static func load() throws -> StrategyReference {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("strategies/reference.json")))
        return try JSONDecoder().decode(StrategyReference.self, from: data)
    }

    var effectModel: LinearEffectModel {
        LinearEffectModel(weight: Matrix(rows: d_model, columns: d_sae, values: M), bias: b)
    }

    var dictionary: DecoderDictionary {
        DecoderDictionary(decoder: Matrix(rows: d_sae, columns: d_model, values: W_dec), name: "reference")
    }
}

/// Shared fixtures: the tiny Gemma-2 model and the layer-1 JumpReLU SAE that reads it.
enum StrategyFixtures {
    static let modelDirectory = fixturePath("gemma2/tiny-f32")
    static let saePath = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20/params.npz")
    static let site = ActivationSite(layer: 1)

    nonisolated(unsafe) private static var cachedModel: Gemma2Backend?
    nonisolated(unsafe) private static var cachedSAE: JumpReLUSAE?
    private static let lock = NSLock()

    static func model() throws -> Gemma2Backend {
        lock.lock()
        defer { lock.unlock() }
        if let cachedModel { return cachedModel }
        let model = try Gemma2Backend(directory: modelDirectory)
        cachedModel = model
        return model
    }

    static func sae() throws -> JumpReLUSAE {
        lock.lock()
        defer { lock.unlock() }
        if let cachedSAE { return cachedSAE }
        let sae = try JumpReLUSAE(path: saePath, site: site)
        cachedSAE = sae
        return sae
    }

    /// A random estimator `[d_model, d_sae]` with a bias like the real one (a few large entries).
    static func effectModel(inputWidth: Int, outputWidth: Int, seed: UInt64 = 7) -> LinearEffectModel {
        var rng = SeededGenerator(seed: seed)
        let weight = rng.matrix(rows: inputWidth, columns: outputWidth, scale: 0.1)
        var bias = (0..<outputWidth).map { _ in rng.normal() * 0.02 }
        bias[1] = -0.9
        bias[outputWidth / 2] = 0.8
        return LinearEffectModel(weight: weight, bias: bias)
    }

    static let positivePrompts = [
        "I am furious about this.", "This makes me so angry!", "I hate waiting in line.",
        "Stop shouting at me.",
    ]
    static let negativePrompts = [
        "The weather is calm today.", "I enjoyed a quiet walk.", "Let us have some tea.",
    ]
}

/// Cosine similarity in Double.
func cosine(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "cosine: \(a.count) vs \(b.count)")
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in 0..<a.count {
        dot += Double(a[i]) * b[i]
        na += Double(a[i]) * Double(a[i])
        nb += b[i] * b[i]
    }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// Euclidean norm in Double.
func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

/// `a·b` or `a·bᵀ` by plain loops (small test matrices only).
func product(_ a: Matrix, _ b: Matrix, transposeSecond: Bool) -> Matrix {
    let inner = transposeSecond ? b.columns : b.rows
    let columns = transposeSecond ? b.rows : b.columns
    precondition(a.columns == inner, "product: \(a.shape) × \(b.shape)\(transposeSecond ? "ᵀ" : "")")
    var out = Matrix(rows: a.rows, columns: columns)
    for i in 0..<a.rows {
        for j in 0..<columns {
            var sum = 0.0
            for k in 0..<inner { sum += Double(a[i, k]) * Double(transposeSecond ? b[j, k] : b[k, j]) }
            out[i, j] = Float(sum)
        }
    }
    return out
}

/// `m·x`, or `mᵀ·x` with `transpose`, in Double (small test matrices only).
func matvec(_ m: Matrix, _ x: [Float], transpose: Bool = false) -> [Float] {
    precondition(x.count == (transpose ? m.rows : m.columns), "matvec: \(m.shape) × \(x.count)")
    let count = transpose ? m.columns : m.rows
    return (0..<count).map { i in
        var sum = 0.0
        for k in 0..<x.count { sum += Double(transpose ? m[k, i] : m[i, k]) * Double(x[k]) }
        return Float(sum)
    }
}
