import Foundation
import SteeringCore
import SteeringNumerics

/// Parameters of a JumpReLU SAE in the Gemma Scope layout.
public struct JumpReLUParameters: Sendable, Equatable {
    /// `W_enc`, `[d_model, d_sae]`.
    public var encoder: Matrix
    /// `W_dec`, `[d_sae, d_model]`.
    public var decoder: Matrix
    /// `b_enc`, `d_sae` values.
    public var encoderBias: [Float]
    /// `b_dec`, `d_model` values.
    public var decoderBias: [Float]
    /// `threshold`, `d_sae` values.
    public var threshold: [Float]

    public init(encoder: Matrix, decoder: Matrix, encoderBias: [Float], decoderBias: [Float], threshold: [Float]) {
        self.encoder = encoder
        self.decoder = decoder
        self.encoderBias = encoderBias
        self.decoderBias = decoderBias
        self.threshold = threshold
    }

    /// `d_model`.
    public var inputWidth: Int { encoder.rows }
    /// `d_sae`.
    public var featureCount: Int { encoder.columns }

    /// Digest of every parameter (names, shapes and float32 bytes).
    public var fingerprint: ContentDigest {
        var builder = DigestBuilder()
        for (name, shape, values) in [
            ("W_enc", encoder.shape, encoder.values), ("W_dec", decoder.shape, decoder.values),
            ("b_enc", [encoderBias.count], encoderBias), ("b_dec", [decoderBias.count], decoderBias),
            ("threshold", [threshold.count], threshold),
        ] {
            builder.update(field: "\(name)\(shape)")
            values.withUnsafeBytes { builder.update($0) }
        }
        return builder.finalize()
    }
}

/// A JumpReLU sparse autoencoder exactly as the released Gemma Scope SAEs define it:
/// `pre = x·W_enc + b_enc`, `f = pre` where `pre > threshold` (strict) and `pre > 0`, else 0 — no
/// `b_dec` subtraction before encoding — and `decode(f) = f·W_dec + b_dec`.
public final class JumpReLUSAE: FeatureDictionary {
    public let descriptor: DictionaryDescriptor
    public let parameters: JumpReLUParameters
    /// Where the SAE was loaded from (empty for in-memory SAEs).
    public let path: String

    /// Wraps parameters, checking their shapes and finiteness.
    public init(parameters: JumpReLUParameters, name: String, site: ActivationSite?, path: String = "") throws {
        let d = parameters.encoder.rows, s = parameters.encoder.columns
        let checks: [(String, [Int], [Int])] = [
            ("W_dec", [s, d], parameters.decoder.shape), ("b_enc", [s], [parameters.encoderBias.count]),
            ("b_dec", [d], [parameters.decoderBias.count]), ("threshold", [s], [parameters.threshold.count]),
        ]
        for (key, expected, got) in checks where expected != got {
            throw JumpReLUError.wrongShape(path: path.isEmpty ? name : path, key: key, expected: expected, got: got)
        }
        for (key, values) in [
            ("W_enc", parameters.encoder.values), ("W_dec", parameters.decoder.values),
            ("b_enc", parameters.encoderBias), ("b_dec", parameters.decoderBias), ("threshold", parameters.threshold),
        ] {
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw JumpReLUError.nonFinite(path: path.isEmpty ? name : path, key: key, index: index)
            }
        }
        self.parameters = parameters
        self.path = path
        self.descriptor = DictionaryDescriptor(
            kind: "jumprelu", name: name, site: site, inputWidth: d, featureCount: s,
            fingerprint: parameters.fingerprint)
    }

    public func encode(_ activations: Matrix) throws -> Matrix {
        try checkWidth(activations.columns, expected: descriptor.inputWidth, what: "activations to encode")
        var pre = Matrix(rows: activations.rows, columns: descriptor.featureCount)
        // Start from the bias and accumulate x·W_enc on top, as `x @ W_enc + b_enc` in one pass.
        for r in 0..<pre.rows {
            pre.values.replaceSubrange(r * pre.columns..<(r + 1) * pre.columns, with: parameters.encoderBias)
        }
        pre.addProduct(activations, parameters.encoder, beta: 1)
        let threshold = parameters.threshold
        let s = pre.columns
        pre.values.withUnsafeMutableBufferPointer { values in
            threshold.withUnsafeBufferPointer { theta in
                for r in 0..<pre.rows {
                    let base = r * s
                    for j in 0..<s {
                        let v = values[base + j]
                        values[base + j] = (v > theta[j] && v > 0) ? v : 0
                    }
                }
            }
        }
        return pre
    }

    public func decode(_ features: Matrix) throws -> Matrix {
        try checkWidth(features.columns, expected: descriptor.featureCount, what: "features to decode")
        var out = Matrix(rows: features.rows, columns: descriptor.inputWidth)
        for r in 0..<out.rows { out.setRow(r, to: parameters.decoderBias) }
        out.addProduct(features, parameters.decoder, beta: 1)
        return out
    }

    public func decoderRows(_ features: [Int]) throws -> Matrix {
        var rows = [[Float]]()
        for feature in features {
            guard (0..<descriptor.featureCount).contains(feature) else {
                throw SteeringError.indexOutOfRange(
                    what: "feature of \(descriptor.name)", index: feature, validRange: 0..<descriptor.featureCount)
            }
            rows.append(parameters.decoder.row(feature))
        }
        return Matrix(stacking: rows, columns: descriptor.inputWidth)
    }

    /// Its path and the spread of its thresholds.
    /// The thresholds: a feature jumps from 0 to about θ as its pre-activation crosses θ.
    public var activationJumps: [Float]? { parameters.threshold }

    public var details: [(label: String, value: String)] {
        let theta = parameters.threshold.sorted()
        return [
            ("path", path.isEmpty ? "(in memory)" : path),
            (
                "thresholds",
                String(
                    format: "min %.6f, median %.6f, max %.6f", theta.first ?? 0,
                    theta.isEmpty ? 0 : theta[theta.count / 2],
                    theta.last ?? 0)
            ),
        ]
    }

    private func checkWidth(_ got: Int, expected: Int, what: String) throws {
        guard got == expected else {
            throw SteeringError.shapeMismatch(
                what: "\(what) for SAE \(descriptor.name)", expected: "\(expected) columns", got: "\(got) columns")
        }
    }
}
