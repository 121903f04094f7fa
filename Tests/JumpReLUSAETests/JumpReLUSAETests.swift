import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@testable import JumpReLUSAE

enum SAEFixtures {
    static let gemmaScope = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20/params.npz")
    static let gemmaScopeDeflate = fixturePath("sae/gemma_scope_deflate/layer_1/width_256/average_l0_20/params.npz")
    static let saeLens = fixturePath("sae/saelens")
    static let reference = fixturePath("sae/reference.safetensors")

    static func matrix(_ file: SafetensorsFile, _ name: String) throws -> Matrix {
        let info = try file.info(name)
        return Matrix(rows: info.shape[0], columns: info.shape[1], values: try file.floats(name))
    }
}

@Suite("JumpReLU SAE parity with sae-lens")
struct JumpReLUSAEParityTests {
    static let sources = [SAEFixtures.gemmaScope, SAEFixtures.gemmaScopeDeflate, SAEFixtures.saeLens]

    @Test("features and reconstructions match within 1e-5", arguments: sources)
    func parity(path: String) throws {
        let sae = try JumpReLUSAE(path: path)
        let reference = try SafetensorsFile(path: SAEFixtures.reference)
        let x = try SAEFixtures.matrix(reference, "inputs")
        let features = try sae.encode(x)
        let expected = try reference.floats("features")
        #expect(maxAbsDifference(features.values, expected) <= Tolerance.featureAbsolute)
        let reconstruction = try sae.decode(features)
        #expect(
            maxAbsDifference(reconstruction.values, try reference.floats("reconstruction")) <= Tolerance.featureAbsolute
        )
        #expect(sae.descriptor.site == ActivationSite(layer: 1))
    }

    @Test("a pre-activation exactly at the threshold does not fire (strict >)", arguments: sources)
    func boundary(path: String) throws {
        let sae = try JumpReLUSAE(path: path)
        let reference = try SafetensorsFile(path: SAEFixtures.reference)
        let x = try SAEFixtures.matrix(reference, "boundary_inputs")
        let features = try sae.encode(x)
        let expected = try reference.floats("boundary_all_features")
        #expect(maxAbsDifference(features.values, expected) <= Tolerance.featureAbsolute)
        let watched = try reference.int32s("boundary_features").map(Int.init)
        #expect(!watched.isEmpty)
        let expectedWatched = try reference.floats("boundary_expected")
        for r in 0..<x.rows {
            // The watched features have exactly representable pre-activations: compare bit for bit.
            for (i, j) in watched.enumerated() { #expect(features[r, j] == expectedWatched[r * watched.count + i]) }
        }
        // Somewhere the pre-activation equals the threshold exactly and the feature is off.
        var sawExactBoundary = false
        for r in 0..<x.rows {
            for j in watched {
                var pre = sae.parameters.encoderBias[j]
                for k in 0..<x.columns { pre += x[r, k] * sae.parameters.encoder[k, j] }
                if pre == sae.parameters.threshold[j] {
                    sawExactBoundary = true
                    #expect(features[r, j] == 0)
                }
            }
        }
        #expect(sawExactBoundary, "the fixture must contain a pre-activation exactly at its threshold")
    }

    @Test("every loaded SAE passes the FeatureDictionary conformance checker", arguments: sources)
    func conformance(path: String) throws {
        try checkFeatureDictionary(try JumpReLUSAE(path: path))
    }

    @Test("the three files hold the same parameters, and the site comes from the path or cfg.json")
    func sameParameters() throws {
        let a = try JumpReLUSAE(path: SAEFixtures.gemmaScope)
        let b = try JumpReLUSAE(path: SAEFixtures.gemmaScopeDeflate)
        let c = try JumpReLUSAE(path: SAEFixtures.saeLens)
        #expect(a.descriptor.fingerprint == b.descriptor.fingerprint)
        #expect(a.descriptor.fingerprint == c.descriptor.fingerprint)
        #expect(a.descriptor.name == "layer_1/width_256/average_l0_20")
        let folder = try JumpReLUSAE(path: (SAEFixtures.gemmaScope as NSString).deletingLastPathComponent)
        #expect(folder.descriptor.fingerprint == a.descriptor.fingerprint)
        let overridden = try JumpReLUSAE(path: SAEFixtures.gemmaScope, site: ActivationSite(layer: 7))
        #expect(overridden.descriptor.site?.layer == 7)
    }
}

@Suite("JumpReLU SAE statistics and diagnostics")
struct JumpReLUStatisticsTests {
    @Test("the streaming mean equals the dense mean")
    func streamingMean() throws {
        let sae = try JumpReLUSAE(path: SAEFixtures.gemmaScope)
        var rng = SeededGenerator(seed: 21)
        let x = rng.matrix(rows: 97, columns: sae.descriptor.inputWidth, scale: 3)
        var stream = StreamingFeatureMean(featureCount: sae.descriptor.featureCount, chunkRows: 10)
        try stream.add(x.rows(0..<50), through: sae)
        try stream.add(x.rows(50..<97), through: sae)
        let dense = try sae.encode(x)
        var expected = [Float](repeating: 0, count: dense.columns)
        for j in 0..<dense.columns {
            var sum = 0.0
            for r in 0..<dense.rows { sum += Double(dense[r, j]) }
            expected[j] = Float(sum / Double(dense.rows))
        }
        #expect(stream.count == 97)
        #expect(maxAbsDifference(stream.mean, expected) <= 1e-6)
        var split = StreamingFeatureMean(featureCount: sae.descriptor.featureCount)
        try split.add(x.rows(0..<30), through: sae)
        var other = StreamingFeatureMean(featureCount: sae.descriptor.featureCount)
        try other.add(x.rows(30..<97), through: sae)
        split.merge(other)
        #expect(maxAbsDifference(split.mean, expected) <= 1e-6)
    }

    @Test("diagnostics: a perfect dictionary explains all variance")
    func diagnostics() throws {
        // An identity-like SAE: W_enc = I, W_dec = I, zero biases and thresholds, on positive inputs.
        let d = 6
        var identity = Matrix(rows: d, columns: d)
        for i in 0..<d { identity[i, i] = 1 }
        let sae = try JumpReLUSAE(
            parameters: JumpReLUParameters(
                encoder: identity, decoder: identity, encoderBias: [Float](repeating: 0, count: d),
                decoderBias: [Float](repeating: 0, count: d), threshold: [Float](repeating: 0, count: d)),
            name: "identity", site: nil)
        let x = Matrix(rows: 3, columns: d, values: (0..<18).map { Float($0 % 5 + 1) })
        let report = try DictionaryDiagnostics.measure(sae, on: x)
        #expect(report.fractionOfVarianceExplained == 1)
        #expect(report.relativeReconstructionError == 0)
        #expect(report.meanL0 == 6)
        #expect(report.deadFeatures == 0)
        let sparse = try sae.encodeSparse(x, limit: 2)
        #expect(sparse[0].map(\.feature) == [4, 3])
        #expect(try sae.decoderRowNorms() == [Float](repeating: 1, count: d))
    }
}

@Suite("JumpReLU SAE bad input")
struct JumpReLUBadInputTests {
    func withArrays(_ edit: (inout [(name: String, array: NDArray)]) -> Void) throws -> String {
        let archive = try NPZ.read(path: SAEFixtures.gemmaScope)
        var arrays = try archive.names.map { (name: $0, array: try archive.array($0)) }
        edit(&arrays)
        let dir = try makeTemporaryDirectory("sae-bad") + "/layer_3/width_256/average_l0_9"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try NPZ.write(arrays, compressed: false, to: dir + "/params.npz")
        return dir + "/params.npz"
    }

    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test("a missing key is named with the keys that exist")
    func missingKey() throws {
        let path = try withArrays { $0.removeAll { $0.name == "threshold" } }
        let text = message { _ = try JumpReLUSAE(path: path) }
        #expect(text.contains("missing parameter 'threshold'") && text.contains("W_enc"), "\(text)")
    }

    @Test("a wrong shape is named")
    func wrongShape() throws {
        let path = try withArrays { arrays in
            let i = arrays.firstIndex { $0.name == "b_dec" }!
            arrays[i].array = NDArray(floats: [1, 2, 3], shape: [3])
        }
        let text = message { _ = try JumpReLUSAE(path: path) }
        #expect(text.contains("'b_dec' has shape [3]"), "\(text)")
    }

    @Test("NaN or infinity in the parameters is refused")
    func nonFinite() throws {
        let path = try withArrays { arrays in
            let i = arrays.firstIndex { $0.name == "b_enc" }!
            var values = try! arrays[i].array.floats()
            values[5] = .infinity
            arrays[i].array = NDArray(floats: values, shape: arrays[i].array.shape)
        }
        let text = message { _ = try JumpReLUSAE(path: path) }
        #expect(text.contains("'b_enc' contains NaN or infinity at flat index 5"), "\(text)")
        let site = try JumpReLUSAE(path: try withArrays { _ in })
        #expect(site.descriptor.site?.layer == 3)
    }

    @Test("a truncated npz is a clear error")
    func truncated() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: SAEFixtures.gemmaScope))
        let dir = try makeTemporaryDirectory("sae-trunc")
        let path = dir + "/params.npz"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let text = message { _ = try JumpReLUSAE(path: path) }
        #expect(text.contains(path), "\(text)")
        #expect(message { _ = try JumpReLUSAE(path: dir + "/none.npz") }.contains("no SAE here"))
    }

    @Test("a dictionary whose width differs from the model's is refused with both numbers")
    func modelMismatch() throws {
        let sae = try JumpReLUSAE(path: SAEFixtures.gemmaScope)
        let model = ModelDescriptor(
            backend: "test", name: "m", layerCount: 4, hiddenSize: 48, vocabularySize: 10, bosToken: 2, eosToken: 1,
            padToken: 0, maxPositions: 16, fingerprint: ContentDigest(ofString: "m"))
        let text = message { try sae.checkCompatible(with: model) }
        #expect(text.contains("48") && text.contains("64"), "\(text)")
    }

    @Test("a SAELens directory with another architecture is refused")
    func wrongArchitecture() throws {
        let dir = try makeTemporaryDirectory("saelens-bad")
        for file in ["cfg.json", "sae_weights.safetensors"] {
            try FileManager.default.copyItem(atPath: SAEFixtures.saeLens + "/" + file, toPath: dir + "/" + file)
        }
        var cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cfg.json")))
            as! [String: Any]
        cfg["architecture"] = "topk"
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/cfg.json"))
        #expect(message { _ = try JumpReLUSAE(path: dir) }.contains("architecture 'topk'"))
    }
}

@Suite("JumpReLU SAE stored in bfloat16")
struct JumpReLUBFloat16Tests {
    @Test("a Gemma Scope npz of ml_dtypes bfloat16 arrays (2-byte void descr) loads and matches")
    func bfloat16() throws {
        let path = fixturePath("sae/gemma_scope_bf16/layer_1/width_256/average_l0_20/params.npz")
        let sae = try JumpReLUSAE(path: path)
        let reference = try SafetensorsFile(path: SAEFixtures.reference)
        let features = try sae.encode(try SAEFixtures.matrix(reference, "inputs"))
        #expect(maxAbsDifference(features.values, try reference.floats("bf16_features")) <= Tolerance.featureAbsolute)
        let reconstruction = try sae.decode(features)
        #expect(
            maxAbsDifference(reconstruction.values, try reference.floats("bf16_reconstruction"))
                <= Tolerance.featureAbsolute)
    }
}
