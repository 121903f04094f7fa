/// Identity and shape of a loaded feature dictionary (sparse autoencoder).
public struct DictionaryDescriptor: Sendable, Hashable, Codable {
    /// Registry name of the plugin (e.g. `jumprelu`).
    public var kind: String
    /// Human name, e.g. `layer_12/width_16k/average_l0_82`.
    public var name: String
    /// Where it reads activations, when known.
    public var site: ActivationSite?
    /// Input width (`d_model`).
    public var inputWidth: Int
    /// Number of features (`d_sae`).
    public var featureCount: Int
    /// Digest of every parameter; enters every recipe that uses the dictionary.
    public var fingerprint: ContentDigest

    public init(
        kind: String, name: String, site: ActivationSite?, inputWidth: Int, featureCount: Int,
        fingerprint: ContentDigest
    ) {
        self.kind = kind
        self.name = name
        self.site = site
        self.inputWidth = inputWidth
        self.featureCount = featureCount
        self.fingerprint = fingerprint
    }
}

/// A dictionary of features over a model's activations: an encoder to feature activations and a
/// decoder back to activation space.
public protocol FeatureDictionary: Sendable {
    /// Shape, site and fingerprint.
    var descriptor: DictionaryDescriptor { get }

    /// Feature activations for each row of `activations` (`[n, inputWidth]` → `[n, featureCount]`).
    /// - Throws: ``SteeringError/shapeMismatch(what:expected:got:)`` on a wrong width.
    func encode(_ activations: Matrix) throws -> Matrix

    /// Reconstructions for each row of `features` (`[n, featureCount]` → `[n, inputWidth]`).
    func decode(_ features: Matrix) throws -> Matrix

    /// Decoder directions of `features`, one row each (`[k, inputWidth]`), unnormalised.
    /// - Throws: ``SteeringError/indexOutOfRange(what:index:validRange:)`` for an unknown feature.
    func decoderRows(_ features: [Int]) throws -> Matrix

    /// Facts particular to this kind of dictionary, as labelled lines (`steer sae info` prints them
    /// after the descriptor): where it was loaded from, its thresholds, … Empty by default.
    var details: [(label: String, value: String)] { get }

    /// Where each feature's activation jumps from 0 (JumpReLU: its threshold θ, so an input a rounding
    /// error away from θ moves the feature by about θ), or `nil` for a dictionary whose features are
    /// continuous in their input. Default `nil`.
    var activationJumps: [Float]? { get }
}

extension FeatureDictionary {
    public var details: [(label: String, value: String)] { [] }
    public var activationJumps: [Float]? { nil }

    /// The norm of every feature's decoder row.
    public func decoderRowNorms() throws -> [Float] {
        let rows = try decoderRows(Array(0..<descriptor.featureCount))
        return (0..<rows.rows).map { Vector.norm(rows.row($0)) }
    }

    /// Non-zero features of each row, largest first (ties by feature id), at most `limit` per row.
    public func encodeSparse(_ activations: Matrix, limit: Int = .max) throws -> [[(feature: Int, value: Float)]] {
        let dense = try encode(activations)
        return (0..<dense.rows).map { r in
            var active = [(feature: Int, value: Float)]()
            for j in 0..<dense.columns where dense[r, j] != 0 { active.append((j, dense[r, j])) }
            active.sort { $0.value > $1.value || ($0.value == $1.value && $0.feature < $1.feature) }
            return Array(active.prefix(limit))
        }
    }

    /// Checks that this dictionary reads activations of `model`'s width (and site, when both are known).
    public func checkCompatible(with model: ModelDescriptor) throws(SteeringError) {
        guard descriptor.inputWidth == model.hiddenSize else {
            throw .shapeMismatch(
                what: "dictionary \(descriptor.name) against model \(model.name)",
                expected: "d_model \(model.hiddenSize) (the model's hidden size)",
                got: "d_model \(descriptor.inputWidth) (the dictionary's input width)")
        }
        if let site = descriptor.site, !(0..<model.layerCount).contains(site.layer) {
            throw .indexOutOfRange(what: "dictionary layer", index: site.layer, validRange: 0..<model.layerCount)
        }
    }
}
