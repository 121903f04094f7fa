import Foundation
import SteeringNumerics
public import SteeringCore

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

    private var shape: TransformerShape { model.shape }

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
        let d = shape.hiddenSize
        let layout = StepLayout(entries: entries, cache: cache)
        let n = layout.rowCount
        guard n > 0 else { return StepOutput() }
        let x = workspace.buffer(.residual, n * d)
        for (e, entry) in entries.enumerated() {
            for (t, token) in entry.tokens.enumerated() {
                model.embed(token, into: x + (layout.rowStart[e] + t) * d)
            }
        }
        model.prepare(layout, workspace: workspace)
        var output = StepOutput()
        for layer in 0...options.lastLayer {
            model.block(layer, x, layout: layout, cache: cache, workspace: workspace)
            // Hooks: steering, then capture (captures see the steered residual, as a TL hook would).
            for intervention in options.interventions[layer] ?? [] {
                add(intervention, to: x, layout: layout, options: options, onlySequence: nil)
            }
            for (sequence, interventions) in options.sequenceInterventions[layer] ?? [:] {
                for intervention in interventions {
                    add(intervention, to: x, layout: layout, options: options, onlySequence: sequence)
                }
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
                        total += Self.crossEntropy(row, target: Int(tokens[t + 1]))
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
        try sampling.validate()
        try validate(sequences: prompts, interventions: interventions)
        if let prompt = prompts.first(where: { $0.count + sampling.maxNewTokens > shape.maxPositions }) {
            throw TransformerInputError.sequenceTooLong(
                length: prompt.count + sampling.maxNewTokens, maxPositions: shape.maxPositions)
        }
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        let sampler = TokenSampler(config: sampling)
        var sequences = prompts
        guard sampling.maxNewTokens > 0 else { return sequences }
        let batches = chunks(prompts.map { $0.count + sampling.maxNewTokens }, budget: tokensPerStep(allLogits: false))
        let workspace = StepWorkspace()
        let eos = Set(shape.eosTokenIds)
        for batch in batches {
            let cache = KVCache(
                layerCount: shape.layerCount, width: shape.keyValueWidth,
                capacities: batch.map { prompts[$0].count + sampling.maxNewTokens })
            var generators = batch.map { SplitMix64(seed: sampling.seed, row: $0) }
            var active = Array(batch.indices)
            let options = StepOptions(
                interventions: grouped, promptLengths: batch.map { prompts[$0].count }, logits: .last,
                lastLayer: shape.layerCount - 1)
            var entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: prompts[$0.element]) }
            for _ in 0..<sampling.maxNewTokens {
                let output = step(entries, cache: cache, options: options, workspace: workspace)
                // Rows sample independently (each with its own generator), so they run in parallel.
                var tokens = [Int32](repeating: 0, count: active.count)
                tokens.withUnsafeMutableBufferPointer { tokens in
                    generators.withUnsafeMutableBufferPointer { generators in
                        Parallel.forEach(count: active.count, grain: 1) { slots in
                            for slot in slots {
                                tokens[slot] = output.logits[slot].values.withUnsafeBufferPointer {
                                    sampler.sample($0, generator: &generators[active[slot]])
                                }
                            }
                        }
                    }
                }
                var next = [Int](), nextEntries = [StepEntry]()
                for (slot, local) in active.enumerated() {
                    let token = tokens[slot]
                    sequences[batch[local]].append(token)
                    if !(sampling.stopAtEOS && eos.contains(token)) {
                        next.append(local)
                        nextEntries.append(StepEntry(sequence: local, tokens: [token]))
                    }
                }
                active = next
                entries = nextEntries
                if active.isEmpty { break }
            }
        }
        return sequences
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

    /// `logsumexp(row) − row[target]`, in double precision.
    public static func crossEntropy(_ row: UnsafeBufferPointer<Float>, target: Int) -> Double {
        var maximum = -Float.infinity
        for v in row where v > maximum { maximum = v }
        var sum = 0.0
        for v in row { sum += Foundation.exp(Double(v - maximum)) }
        return Foundation.log(sum) + Double(maximum) - Double(row[target])
    }
}
