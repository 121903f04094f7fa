import SteeringNumerics
import SteeringCore

/// Tokens of one sequence processed in one step, appended after what its cache already holds.
public struct StepEntry: Sendable {
    /// Index of the sequence in the step's ``KVCache``.
    public let sequence: Int
    /// The new tokens.
    public let tokens: [Int32]

    public init(sequence: Int, tokens: [Int32]) {
        self.sequence = sequence
        self.tokens = tokens
    }
}

/// Where the rows of one step come from: entry `e` owns rows `rowStart[e] ..< rowStart[e] + tokens`,
/// row `r` sits at absolute position `positions[r]` of its sequence.
public struct StepLayout: Sendable {
    public let entries: [StepEntry]
    /// First row of each entry.
    public let rowStart: [Int]
    /// Absolute position of each row within its sequence.
    public let positions: [Int]
    /// Entry owning each row.
    public let rowEntry: [Int]
    /// Rows in the step (new tokens of every entry).
    public let rowCount: Int
    /// Cached plus new positions of the longest sequence, for attention scratch.
    public let longest: Int

    /// The layout of `entries` appended to what `cache` holds.
    public init(entries: [StepEntry], cache: KVCache) {
        var rowStart = [Int](), positions = [Int](), rowEntry = [Int]()
        var longest = 0
        for (e, entry) in entries.enumerated() {
            rowStart.append(positions.count)
            let base = cache.lengths[entry.sequence]
            for t in 0..<entry.tokens.count {
                positions.append(base + t)
                rowEntry.append(e)
            }
            longest = max(longest, base + entry.tokens.count)
        }
        self.entries = entries
        self.rowStart = rowStart
        self.positions = positions
        self.rowEntry = rowEntry
        self.rowCount = positions.count
        self.longest = longest
    }
}

/// The sizes the runtime needs to drive a decoder-only transformer.
public struct TransformerShape: Sendable, Hashable {
    /// Number of blocks.
    public var layerCount: Int
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Logit width.
    public var vocabularySize: Int
    /// Floats per position in one layer's key (and value) cache.
    public var keyValueWidth: Int
    /// Longest sequence accepted.
    public var maxPositions: Int
    /// Tokens that end generation.
    public var eosTokenIds: [Int32]
    /// Scratch floats one token needs inside a block (sizes the step budget).
    public var scratchFloatsPerToken: Int

    public init(
        layerCount: Int, hiddenSize: Int, vocabularySize: Int, keyValueWidth: Int, maxPositions: Int,
        eosTokenIds: [Int32], scratchFloatsPerToken: Int
    ) {
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.vocabularySize = vocabularySize
        self.keyValueWidth = keyValueWidth
        self.maxPositions = maxPositions
        self.eosTokenIds = eosTokenIds
        self.scratchFloatsPerToken = scratchFloatsPerToken
    }
}

/// The arithmetic of one decoder-only model family: embedding, blocks and head. Everything around
/// it — batching, the KV cache, steering and capture hooks, logits selection, the forward /
/// generate / loss loops — is the ``TransformerRuntime``'s. Implementations are immutable.
public protocol TransformerModel: Sendable {
    /// Sizes for the runtime.
    var shape: TransformerShape { get }

    /// Called once per step before block 0 (for example to fill rotary tables for the step's
    /// positions into workspace slots).
    func prepare(_ layout: StepLayout, workspace: StepWorkspace)

    /// Writes the input embedding of `token` (scaled as the model does) to `row` (`hiddenSize` floats).
    func embed(_ token: Int32, into row: UnsafeMutablePointer<Float>)

    /// Runs block `layer` on the residual rows `x` (`layout.rowCount × hiddenSize`) in place,
    /// appending the step's keys and values to `cache` for that layer.
    func block(
        _ layer: Int, _ x: UnsafeMutablePointer<Float>, layout: StepLayout, cache: KVCache, workspace: StepWorkspace)

    /// Final norm and head (and soft-cap, where the model has one) for the given rows of the
    /// residual stream after the last block, written to `out` (`rows.count × vocabularySize`).
    func logits(
        rows: [Int], hidden: UnsafePointer<Float>, workspace: StepWorkspace, into out: UnsafeMutablePointer<Float>)
}
