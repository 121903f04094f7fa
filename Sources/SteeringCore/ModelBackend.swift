import Foundation

/// Identity and shape of a loaded model.
public struct ModelDescriptor: Sendable, Hashable, Codable {
    /// Registry name of the backend that loaded it (e.g. `gemma2`).
    public var backend: String
    /// Human name, e.g. the checkpoint directory name.
    public var name: String
    /// Number of transformer blocks; valid layers are `0..<layerCount`.
    public var layerCount: Int
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Vocabulary size (logit width).
    public var vocabularySize: Int
    /// Beginning-of-sequence token id.
    public var bosToken: Int32
    /// End-of-sequence token id.
    public var eosToken: Int32
    /// Padding token id.
    public var padToken: Int32
    /// Longest sequence the model accepts.
    public var maxPositions: Int
    /// Digest of configuration, tensor headers and tensor bytes; enters every recipe that uses the model.
    public var fingerprint: ContentDigest

    public init(
        backend: String, name: String, layerCount: Int, hiddenSize: Int, vocabularySize: Int, bosToken: Int32,
        eosToken: Int32, padToken: Int32, maxPositions: Int, fingerprint: ContentDigest
    ) {
        self.backend = backend
        self.name = name
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.vocabularySize = vocabularySize
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.padToken = padToken
        self.maxPositions = maxPositions
        self.fingerprint = fingerprint
    }
}

/// Which logits a forward pass returns.
public enum LogitsSelection: String, Sendable, Hashable, Codable {
    /// None: the pass may stop after the deepest captured or steered layer.
    case none
    /// Only the last position of each sequence.
    case last
    /// Every position.
    case all
}

/// One batched forward pass over complete sequences (no cache kept afterwards).
public struct ForwardRequest: Sendable {
    /// Token ids per sequence; sequences may differ in length.
    public var sequences: [[Int32]]
    /// Edits applied in order at their sites.
    public var interventions: [Intervention]
    /// Prompt length per sequence, for ``PositionPolicy``; `nil` treats every token as prompt.
    public var promptLengths: [Int]?
    /// Sites whose activations are returned.
    public var captureSites: [ActivationSite]
    /// Which logits are returned.
    public var logits: LogitsSelection

    public init(
        sequences: [[Int32]], interventions: [Intervention] = [], promptLengths: [Int]? = nil,
        captureSites: [ActivationSite] = [], logits: LogitsSelection = .all
    ) {
        self.sequences = sequences
        self.interventions = interventions
        self.promptLengths = promptLengths
        self.captureSites = captureSites
        self.logits = logits
    }
}

/// What a ``ForwardRequest`` produced.
public struct ForwardResult: Sendable {
    /// `activations[site][s]` is `[tokens of sequence s, hiddenSize]`, captured after interventions at that site.
    public var activations: [ActivationSite: [Matrix]]
    /// `logits[s]` is `[tokens or 1, vocabularySize]`; empty when no logits were requested.
    public var logits: [Matrix]

    public init(activations: [ActivationSite: [Matrix]] = [:], logits: [Matrix] = []) {
        self.activations = activations
        self.logits = logits
    }
}

/// A language model whose residual stream can be read and edited.
///
/// Implementations are immutable after loading, so one instance may serve concurrent callers.
public protocol ModelBackend: AnyObject, Sendable {
    /// Shape, special tokens and content fingerprint.
    var descriptor: ModelDescriptor { get }

    /// Token ids for `text`; prepends BOS when `addBOS` is true. Never normalises the text.
    func encode(_ text: String, addBOS: Bool) -> [Int32]

    /// Text for `tokens`; special tokens are dropped when `skipSpecialTokens` is true.
    func decode(_ tokens: [Int32], skipSpecialTokens: Bool) -> String

    /// Runs a batched forward pass, applying `request.interventions`, returning the captured
    /// activations and requested logits.
    /// - Throws: ``SteeringError`` for out-of-range layers, wrong vector widths, unknown token ids
    ///   or sequences longer than ``ModelDescriptor/maxPositions``.
    func forward(_ request: ForwardRequest) throws -> ForwardResult

    /// Mean next-token cross-entropy of each sequence (over its `count − 1` predicted positions), with
    /// `interventions` applied at every selected position, without materialising all logits at once.
    func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double]

    /// `log p(x_t | x_<t)` under the unsteered model for every position `t` of `positions[i]` in
    /// `sequences[i]`, in order (each range within `1..<count`, possibly empty): what a log-likelihood
    /// judge reads. A backend computes logits only at those positions and may batch the sequences.
    /// - Throws: ``SteeringError`` for a count mismatch or a range outside its sequence, and what
    ///   ``forward(_:)`` throws for the sequences.
    func tokenLogLikelihoods(sequences: [[Int32]], positions: [Range<Int>]) throws -> [[Double]]

    /// Generates continuations of `prompts` with a KV cache, applying `interventions` identically in
    /// prefill and every decode step. Returns each full sequence (prompt followed by new tokens).
    /// Deterministic for a given (model, prompts, sampling, interventions).
    func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws -> [[Int32]]
}

extension ModelBackend {
    /// Unsteered forward pass returning all logits.
    public func logits(for tokens: [Int32]) throws -> Matrix {
        try forward(ForwardRequest(sequences: [tokens])).logits[0]
    }

    /// Residual activations at `site` for each sequence, stopping as early as the backend can.
    public func activations(at site: ActivationSite, sequences: [[Int32]], interventions: [Intervention] = [])
        throws -> [Matrix]
    {
        let result = try forward(
            ForwardRequest(sequences: sequences, interventions: interventions, captureSites: [site], logits: .none))
        return result.activations[site] ?? []
    }

    /// ``tokenLogLikelihoods(sequences:positions:)`` from one all-position forward pass per sequence,
    /// with the log-softmax accumulated in Double: the default for backends without a batched way.
    public func tokenLogLikelihoods(sequences: [[Int32]], positions: [Range<Int>]) throws -> [[Double]] {
        try positions.validateScored(in: sequences)
        return try zip(sequences, positions).map { sequence, range in
            guard !range.isEmpty else { return [] }
            let logits = try forward(ForwardRequest(sequences: [Array(sequence[0..<range.upperBound])], logits: .all))
                .logits[0]
            return range.map { t in
                logits.values.withUnsafeBufferPointer { values in
                    let start = (t - 1) * logits.columns
                    let row = UnsafeBufferPointer(rebasing: values[start..<(start + logits.columns)])
                    return -TokenLoss.crossEntropy(row, target: Int(sequence[t]))
                }
            }
        }
    }

    /// Checks an intervention against this model's shape.
    public func validate(_ intervention: Intervention) throws(SteeringError) {
        try intervention.validate(for: descriptor)
    }
}

extension Intervention {
    /// Checks this intervention against a model's shape: layer in range, vector width, finite values.
    public func validate(for d: ModelDescriptor) throws(SteeringError) {
        guard (0..<d.layerCount).contains(site.layer) else {
            throw .indexOutOfRange(what: "steering layer", index: site.layer, validRange: 0..<d.layerCount)
        }
        guard vector.count == d.hiddenSize else {
            throw .shapeMismatch(
                what: "steering vector for \(d.name)", expected: "\(d.hiddenSize) values (hidden size)",
                got: "\(vector.count) values")
        }
        try Vector.checkFinite(vector, "steering vector")
        guard scale.isFinite else {
            throw .invalidArgument(what: "steering scale", problem: "must be finite, got \(scale)")
        }
    }
}

extension Array where Element == Range<Int> {
    /// Checks scored positions (``ModelBackend/tokenLogLikelihoods(sequences:positions:)``): one range
    /// per sequence, each within `1..<count` (position 0 has no preceding token) or empty.
    public func validateScored(in sequences: [[Int32]]) throws(SteeringError) {
        guard count == sequences.count else {
            throw .shapeMismatch(
                what: "scored positions", expected: "\(sequences.count) ranges (one per sequence)", got: "\(count)")
        }
        for (i, range) in enumerated() where !range.isEmpty {
            guard range.lowerBound >= 1, range.upperBound <= sequences[i].count else {
                throw .invalidArgument(
                    what: "scored positions \(range) of sequence \(i)",
                    problem: "lie outside 1..<\(sequences[i].count) (position 0 has no preceding token)")
            }
        }
    }
}

/// The next-token loss of one row of logits, as every backend and judge defines it.
public enum TokenLoss {
    /// `logsumexp(row) − row[target]`, in double precision.
    public static func crossEntropy(_ row: UnsafeBufferPointer<Float>, target: Int) -> Double {
        var maximum = -Float.infinity
        for v in row where v > maximum { maximum = v }
        var sum = 0.0
        for v in row { sum += exp(Double(v - maximum)) }
        return log(sum) + Double(maximum) - Double(row[target])
    }
}
