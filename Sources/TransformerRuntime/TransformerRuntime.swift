import Foundation
public import SteeringCore
import SteeringNumerics

/// Runs a ``TransformerModel`` the way every ``ModelBackend`` needs: batched forward passes with
/// steering and capture hooks, next-token losses, and KV-cached generation. A model plugin supplies
/// only its configuration, loader and block arithmetic, and forwards the protocol to this.
public final class TransformerRuntime<Model: TransformerModel>: Sendable {
    /// The model's arithmetic.
    public let model: Model
    /// The descriptor of the backend (names and sizes used in messages and checks).
    public let descriptor: ModelDescriptor

    public init(model: Model, descriptor: ModelDescriptor) {
        self.model = model
        self.descriptor = descriptor
    }

    var shape: TransformerShape { model.shape }

    /// Rows rendered per head product when short sequences' logits are grouped (below this many rows
    /// a product streams the embedding for too few rows to be compute bound).
    public static var headGroupRows: Int { 32 }

    /// Largest number of tokens processed in one internal step: scratch activations stay near
    /// 256 MiB, and logits (when every position's are needed) near 512 MiB.
    public func tokensPerStep(allLogits: Bool) -> Int {
        var budget = max(16, min(4096, (256 << 20) / (4 * max(shape.scratchFloatsPerToken, 1))))
        if allLogits { budget = min(budget, max(16, (512 << 20) / (4 * shape.vocabularySize))) }
        return budget
    }

    // MARK: One step

    /// Processes `entries` (new tokens of cache sequences) through blocks `0...options.lastLayer`,
    /// applying interventions and captures after each block, and returns the requested logits.
    public func step(
        _ entries: [StepEntry], cache: KVCache, options: StepOptions, workspace: StepWorkspace
    ) -> StepOutput {
        step(entries, cache: cache, options: options, workspace: workspace, residual: nil)
    }

    /// ``step(_:cache:options:workspace:)`` whose rows enter above block 0: with
    /// ``StepOptions/firstLayer`` above 0, `residual` holds the step's rows (`rowCount × hiddenSize`, in
    /// layout order) after block `firstLayer − 1`, before that layer's interventions.
    public func step(
        _ entries: [StepEntry], cache: KVCache, options: StepOptions, workspace: StepWorkspace,
        residual: UnsafePointer<Float>?
    ) -> StepOutput {
        let (layout, blocksOutput) = runBlocks(
            entries, cache: cache, options: options, workspace: workspace, residual: residual)
        var output = blocksOutput
        guard layout.rowCount > 0 else { return output }
        let x = workspace.buffer(.residual, layout.rowCount * shape.hiddenSize)
        switch options.logits {
        case .none: break
        case .last:
            let rows = entries.indices.map { layout.rowStart[$0] + entries[$0].tokens.count - 1 }
            let all = workspace.buffer(.logits, rows.count * shape.vocabularySize)
            model.logits(rows: rows, hidden: x, workspace: workspace, into: all)
            output.logits = (0..<entries.count).map { matrix(all, rows: $0..<($0 + 1)) }
        case .all:
            output.logits = allPositionLogits(layout: layout, hidden: x, workspace: workspace)
        }
        return output
    }

    /// The blocks of one step: rows embedded (or taken from `residual`), blocks
    /// `options.firstLayer...options.lastLayer` with their hooks, cache lengths advanced. The final
    /// residual is left in the workspace's `.residual` buffer.
    func runBlocks(
        _ entries: [StepEntry], cache: KVCache, options: StepOptions, workspace: StepWorkspace,
        residual: UnsafePointer<Float>?
    ) -> (StepLayout, StepOutput) {
        let d = shape.hiddenSize
        let layout = StepLayout(entries: entries, cache: cache)
        let n = layout.rowCount
        var output = StepOutput()
        guard n > 0 else { return (layout, output) }
        let x = workspace.buffer(.residual, n * d)
        let first = options.firstLayer
        if first > 0 {
            precondition(
                residual != nil, "a step starting at block \(first) needs the residual after block \(first - 1)")
            x.update(from: residual!, count: n * d)
        } else {
            for (e, entry) in entries.enumerated() {
                for (t, token) in entry.tokens.enumerated() {
                    model.embed(token, into: x + (layout.rowStart[e] + t) * d)
                }
            }
        }
        model.prepare(layout, workspace: workspace)
        for layer in max(0, first - 1)...options.lastLayer {
            if layer >= first { model.block(layer, x, layout: layout, cache: cache, workspace: workspace) }
            if options.readLayer == layer { output.siteRows = Array(UnsafeBufferPointer(start: x, count: n * d)) }
            // Hooks: steering, then capture (captures see the steered residual, as a TL hook would).
            for intervention in options.interventions[layer] ?? [] {
                add(intervention, to: x, layout: layout, options: options, onlySequence: nil)
            }
            if let perSequence = options.sequenceInterventions[layer], !perSequence.isEmpty {
                addPerSequence(perSequence, to: x, layout: layout, options: options)
            }
            if options.captureLayers.contains(layer) {
                output.captures[layer] = entries.enumerated().map { e, entry in
                    Matrix(
                        rows: entry.tokens.count, columns: d,
                        values: Array(
                            UnsafeBufferPointer(start: x + layout.rowStart[e] * d, count: entry.tokens.count * d)))
                }
            }
        }
        for entry in entries { cache.lengths[entry.sequence] += entry.tokens.count }
        return (layout, output)
    }

    /// Adds `scale × vector` to the rows its policy selects (of one sequence, or of all).
    private func add(
        _ intervention: Intervention, to x: UnsafeMutablePointer<Float>, layout: StepLayout, options: StepOptions,
        onlySequence: Int?
    ) {
        let d = shape.hiddenSize
        let added = intervention.scaledVector
        for r in 0..<layout.rowCount {
            let sequence = layout.entries[layout.rowEntry[r]].sequence
            if let onlySequence, sequence != onlySequence { continue }
            guard
                intervention.positions.applies(
                    position: layout.positions[r], promptLength: options.promptLengths[sequence])
            else { continue }
            let row = x + r * d
            for i in 0..<d { row[i] += added[i] }
        }
    }

    /// Adds each sequence's own interventions to its rows, in one pass over the rows (a step may
    /// hold hundreds of sequences, each steered differently).
    private func addPerSequence(
        _ perSequence: [Int: [Intervention]], to x: UnsafeMutablePointer<Float>, layout: StepLayout,
        options: StepOptions
    ) {
        let d = shape.hiddenSize
        let scaled = perSequence.mapValues { $0.map { (positions: $0.positions, added: $0.scaledVector) } }
        for r in 0..<layout.rowCount {
            let sequence = layout.entries[layout.rowEntry[r]].sequence
            guard let list = scaled[sequence] else { continue }
            let row = x + r * d
            for (positions, added) in list
            where positions.applies(position: layout.positions[r], promptLength: options.promptLengths[sequence]) {
                added.withUnsafeBufferPointer { added in
                    for i in 0..<d { row[i] += added[i] }
                }
            }
        }
    }

    /// Every position's logits, one matrix per entry. A sequence with at least ``headGroupRows``
    /// positions gets its own product written straight into its matrix (no scratch, no copy: at 8 ×
    /// 64 tokens of a 256k vocabulary that saves 0.5 GB); shorter ones are grouped into products of
    /// at least that many rows through a small scratch buffer, so the head is not streamed once per
    /// short sequence.
    private func allPositionLogits(layout: StepLayout, hidden: UnsafePointer<Float>, workspace: StepWorkspace)
        -> [Matrix]
    {
        let vocab = shape.vocabularySize
        let entries = layout.entries
        var result = [Matrix?](repeating: nil, count: entries.count)
        var group: [Int] = [], groupRows = 0
        func flushGroup() {
            guard !group.isEmpty else { return }
            let rows = group.flatMap { e in layout.rowStart[e]..<(layout.rowStart[e] + entries[e].tokens.count) }
            let buffer = workspace.buffer(.logits, rows.count * vocab)
            model.logits(rows: rows, hidden: hidden, workspace: workspace, into: buffer)
            var offset = 0
            for e in group {
                result[e] = matrix(buffer, rows: offset..<(offset + entries[e].tokens.count))
                offset += entries[e].tokens.count
            }
            group = []
            groupRows = 0
        }
        for (e, entry) in entries.enumerated() {
            let count = entry.tokens.count
            if count >= Self.headGroupRows {
                let rows = Array(layout.rowStart[e]..<(layout.rowStart[e] + count))
                let values = [Float](unsafeUninitializedCapacity: count * vocab) { buffer, initialized in
                    model.logits(rows: rows, hidden: hidden, workspace: workspace, into: buffer.baseAddress!)
                    initialized = count * vocab
                }
                result[e] = Matrix(rows: count, columns: vocab, values: values)
            } else {
                group.append(e)
                groupRows += count
                if groupRows >= Self.headGroupRows { flushGroup() }
            }
        }
        flushGroup()
        return result.map { $0! }
    }

    /// Rows `rows` of a `? × vocab` buffer as a matrix.
    private func matrix(_ buffer: UnsafePointer<Float>, rows: Range<Int>) -> Matrix {
        let vocab = shape.vocabularySize
        return Matrix(
            rows: rows.count, columns: vocab,
            values: Array(UnsafeBufferPointer(start: buffer + rows.lowerBound * vocab, count: rows.count * vocab)))
    }

    // MARK: ModelBackend operations

    /// ``ModelBackend/forward(_:)``.
    public func forward(_ request: ForwardRequest) throws -> ForwardResult {
        try validate(sequences: request.sequences, interventions: request.interventions)
        for site in request.captureSites where !(0..<shape.layerCount).contains(site.layer) {
            throw SteeringError.indexOutOfRange(
                what: "capture layer", index: site.layer, validRange: 0..<shape.layerCount)
        }
        let promptLengths = request.promptLengths ?? request.sequences.map(\.count)
        guard promptLengths.count == request.sequences.count else {
            throw SteeringError.shapeMismatch(
                what: "prompt lengths", expected: "\(request.sequences.count) values", got: "\(promptLengths.count)")
        }
        let captureLayers = Set(request.captureSites.map(\.layer))
        let lastLayer = request.logits == .none ? (captureLayers.max() ?? -1) : shape.layerCount - 1
        var result = ForwardResult()
        for site in request.captureSites { result.activations[site] = [] }
        guard lastLayer >= 0 else { return result }
        let grouped = Dictionary(grouping: request.interventions, by: { $0.site.layer })
        let workspace = StepWorkspace()
        for batch in chunks(request.sequences.map(\.count), budget: tokensPerStep(allLogits: request.logits == .all)) {
            let cache = KVCache(
                layerCount: lastLayer + 1, width: shape.keyValueWidth,
                capacities: batch.map { request.sequences[$0].count })
            let options = StepOptions(
                interventions: grouped, promptLengths: batch.map { promptLengths[$0] }, captureLayers: captureLayers,
                logits: request.logits, lastLayer: lastLayer)
            let entries = batch.enumerated().map {
                StepEntry(sequence: $0.offset, tokens: request.sequences[$0.element])
            }
            let output = step(entries, cache: cache, options: options, workspace: workspace)
            for site in request.captureSites { result.activations[site]! += output.captures[site.layer] ?? [] }
            result.logits += output.logits
        }
        return result
    }

    /// ``ModelBackend/nextTokenLoss(sequences:interventions:)``.
    public func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double] {
        try validate(sequences: sequences, interventions: interventions)
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        var losses = [Double](repeating: 0, count: sequences.count)
        let vocab = shape.vocabularySize
        let workspace = StepWorkspace()
        for batch in chunks(sequences.map(\.count), budget: tokensPerStep(allLogits: true)) {
            let cache = KVCache(
                layerCount: shape.layerCount, width: shape.keyValueWidth, capacities: batch.map { sequences[$0].count })
            let options = StepOptions(
                interventions: grouped, promptLengths: batch.map { sequences[$0].count }, captureLayers: [],
                logits: .all, lastLayer: shape.layerCount - 1)
            let entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: sequences[$0.element]) }
            let output = step(entries, cache: cache, options: options, workspace: workspace)
            for (i, index) in batch.enumerated() {
                let tokens = sequences[index]
                guard tokens.count > 1 else { continue }
                var total = 0.0
                output.logits[i].values.withUnsafeBufferPointer { logits in
                    for t in 0..<(tokens.count - 1) {
                        let row = UnsafeBufferPointer(rebasing: logits[(t * vocab)..<((t + 1) * vocab)])
                        total += TokenLoss.crossEntropy(row, target: Int(tokens[t + 1]))
                    }
                }
                losses[index] = total / Double(tokens.count - 1)
            }
        }
        return losses
    }

    /// ``ModelBackend/generate(prompts:sampling:interventions:)``: every row is sampled with its own
    /// generator (`SplitMix64(seed, row)`), so results do not depend on how rows are batched.
    public func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws
        -> [[Int32]]
    {
        try generate(
            prompts: prompts, sampling: sampling, interventions: interventions, rowInterventions: nil, streams: nil,
            readLayer: nil, groups: nil, sink: { _, _ in })
    }

    // MARK: Checks and helpers

    /// Checks interventions against the model's shape, and sequences for emptiness, length and vocabulary.
    public func validate(sequences: [[Int32]], interventions: [Intervention]) throws {
        for intervention in interventions { try intervention.validate(for: descriptor) }
        let vocab = shape.vocabularySize
        for (i, sequence) in sequences.enumerated() {
            guard !sequence.isEmpty else { throw TransformerInputError.emptySequence(index: i) }
            guard sequence.count <= shape.maxPositions else {
                throw TransformerInputError.sequenceTooLong(length: sequence.count, maxPositions: shape.maxPositions)
            }
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= vocab }) {
                throw TransformerInputError.tokenOutOfRange(token: bad, vocabularySize: vocab)
            }
        }
    }

    /// Splits sequence indices into consecutive groups whose total length stays within the step budget.
    public func chunks(_ lengths: [Int], budget: Int) -> [[Int]] {
        var out = [[Int]]()
        var current = [Int]()
        var tokens = 0
        for (i, length) in lengths.enumerated() {
            if !current.isEmpty && tokens + length > budget {
                out.append(current)
                current = []
                tokens = 0
            }
            current.append(i)
            tokens += length
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
