public import SteeringCore

/// Continuous batching over a ``TransformerRuntime``: rows (each with its own prompt, interventions
/// and capacity) join and leave between steps, and one ``step()`` advances every row with queued
/// input in a single batched forward pass. Each row owns a sequence of one growable ``KVCache``;
/// its interventions reach only its own rows of the step (``StepOptions/sequenceInterventions``).
public final class BatchDecoder<Model: TransformerModel>: DecodingSession {
    /// The runtime whose step loop runs the batch.
    public let runtime: TransformerRuntime<Model>
    private let cache: KVCache
    private let workspace = StepWorkspace()

    private struct Row {
        /// The row's sequence in the cache.
        var sequence: Int
        var promptLength: Int
        /// Tokens to process at the next step.
        var pending: [Int32]
        /// The row's interventions by layer.
        var interventions: [Int: [Intervention]]
    }

    private var table: [Int: Row] = [:]
    private var nextID = 0

    /// An empty session on `runtime`.
    public init(runtime: TransformerRuntime<Model>) {
        self.runtime = runtime
        let shape = runtime.model.shape
        cache = KVCache(layerCount: shape.layerCount, width: shape.keyValueWidth, capacities: [])
    }

    public var tokenBudget: Int { runtime.tokensPerStep(allLogits: false) }

    public var rows: [Int] { table.keys.sorted() }

    public func join(prompt: [Int32], interventions: [Intervention], capacity: Int) throws -> Int {
        try runtime.validate(sequences: [prompt], interventions: interventions)
        let maxPositions = runtime.model.shape.maxPositions
        guard capacity <= maxPositions else {
            throw TransformerInputError.sequenceTooLong(length: capacity, maxPositions: maxPositions)
        }
        guard capacity >= prompt.count else {
            throw SteeringError.invalidArgument(
                what: "row capacity", problem: "\(capacity) positions cannot hold a prompt of \(prompt.count) tokens")
        }
        let sequence = cache.addSequence(capacity: capacity)
        let id = nextID
        nextID += 1
        table[id] = Row(
            sequence: sequence, promptLength: prompt.count, pending: prompt,
            interventions: Dictionary(grouping: interventions, by: { $0.site.layer }))
        return id
    }

    public func append(_ token: Int32, to row: Int) throws {
        guard var entry = table[row] else {
            throw SteeringError.invalidArgument(what: "decoding row", problem: "no row \(row) in this session")
        }
        guard entry.pending.isEmpty else {
            throw SteeringError.invalidArgument(
                what: "decoding row", problem: "row \(row) already has input queued; run step() first")
        }
        let vocab = runtime.model.shape.vocabularySize
        guard token >= 0, Int(token) < vocab else {
            throw TransformerInputError.tokenOutOfRange(token: token, vocabularySize: vocab)
        }
        guard cache.lengths[entry.sequence] < cache.capacities[entry.sequence] else {
            throw TransformerInputError.sequenceTooLong(
                length: cache.lengths[entry.sequence] + 1, maxPositions: cache.capacities[entry.sequence])
        }
        entry.pending = [token]
        table[row] = entry
    }

    public func leave(_ row: Int) {
        guard let entry = table.removeValue(forKey: row) else { return }
        cache.removeSequence(entry.sequence)
    }

    public func step() throws -> [Int: [Float]] {
        let ready = table.filter { !$0.value.pending.isEmpty }.sorted { $0.key < $1.key }
        guard !ready.isEmpty else { return [:] }
        var promptLengths = [Int](repeating: 0, count: cache.capacities.count)
        var perSequence: [Int: [Int: [Intervention]]] = [:]
        for (_, row) in ready {
            promptLengths[row.sequence] = row.promptLength
            for (layer, interventions) in row.interventions {
                perSequence[layer, default: [:]][row.sequence] = interventions
            }
        }
        var options = StepOptions(
            promptLengths: promptLengths, logits: .last, lastLayer: runtime.model.shape.layerCount - 1)
        options.sequenceInterventions = perSequence
        let entries = ready.map { StepEntry(sequence: $0.value.sequence, tokens: $0.value.pending) }
        let output = runtime.step(entries, cache: cache, options: options, workspace: workspace)
        var logits: [Int: [Float]] = [:]
        for (i, (id, _)) in ready.enumerated() {
            table[id]?.pending = []
            logits[id] = output.logits[i].values
        }
        return logits
    }
}

extension TransformerRuntime {
    /// ``IncrementalDecoding/makeDecodingSession()`` for a backend that forwards to this runtime.
    public func makeDecodingSession() -> any DecodingSession { BatchDecoder(runtime: self) }
}
