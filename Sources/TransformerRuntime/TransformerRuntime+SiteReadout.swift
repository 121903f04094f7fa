import Foundation
public import SteeringCore
import SteeringNumerics

/// Reading the residual at one site while generating, and running the blocks above a site from a
/// residual computed once: what effect measurement needs so that blocks `0…L` run once per token
/// (method.md §2; Docs/Benchmarks.md, "Probe effects").
extension TransformerRuntime {
    /// ``generate(prompts:sampling:interventions:)`` with a row's own interventions and sampler stream,
    /// and a readout of the residual after block `readLayer` *before that layer's interventions*, for
    /// every token of every returned sequence (prompt, sampled tokens, and the last sampled token,
    /// which takes one more pass through blocks `0…readLayer`). After each step the rows read are
    /// handed to `sink(group, rows)`, gathered by `groups[prompt]` (row order within a group is
    /// unspecified); row `i` samples from `SplitMix64(seed, streams[i])`.
    public func generate(
        prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention],
        rowInterventions: [[Intervention]]?, streams: [Int]?, readLayer: Int?, groups: [Int]?,
        sink: (Int, Matrix) throws -> Void
    ) throws -> [[Int32]] {
        try sampling.validate()
        try validate(sequences: prompts, interventions: interventions)
        if let rowInterventions {
            guard rowInterventions.count == prompts.count else {
                throw SteeringError.shapeMismatch(
                    what: "row interventions", expected: "\(prompts.count) lists", got: "\(rowInterventions.count)")
            }
            // Rows of one probe share its vector: check each distinct intervention once.
            var checked = Set<[Float]>()
            for intervention in rowInterventions.joined() where checked.insert(intervention.vector).inserted {
                try intervention.validate(for: descriptor)
            }
            for intervention in rowInterventions.joined() where !intervention.scale.isFinite {
                try intervention.validate(for: descriptor)
            }
        }
        if let streams, streams.count != prompts.count {
            throw SteeringError.shapeMismatch(
                what: "sampler streams", expected: "\(prompts.count) values", got: "\(streams.count)")
        }
        if let groups, groups.count != prompts.count {
            throw SteeringError.shapeMismatch(
                what: "readout groups", expected: "\(prompts.count) values", got: "\(groups.count)")
        }
        if let readLayer, !(0..<shape.layerCount).contains(readLayer) {
            throw SteeringError.indexOutOfRange(what: "read layer", index: readLayer, validRange: 0..<shape.layerCount)
        }
        if let prompt = prompts.first(where: { $0.count + sampling.maxNewTokens > shape.maxPositions }) {
            throw TransformerInputError.sequenceTooLong(
                length: prompt.count + sampling.maxNewTokens, maxPositions: shape.maxPositions)
        }
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        let sampler = TokenSampler(config: sampling)
        var sequences = prompts
        guard sampling.maxNewTokens > 0 || readLayer != nil else { return sequences }
        // A step holds one batch's prompts, then one token per row: rows are bounded by the prompts'
        // tokens, not by prompt + new tokens (which split 112 rows of the 2B probe into 66 + 46).
        let batches = generationChunks(prompts.map(\.count), newTokens: sampling.maxNewTokens)
        let workspace = StepWorkspace()
        let eos = Set(shape.eosTokenIds)
        let d = shape.hiddenSize
        for batch in batches {
            let cache = KVCache(
                layerCount: shape.layerCount, width: shape.keyValueWidth,
                capacities: batch.map { prompts[$0].count + sampling.maxNewTokens })
            var generators = batch.map { SplitMix64(seed: sampling.seed, row: streams?[$0] ?? $0) }
            var options = StepOptions(
                interventions: grouped, promptLengths: batch.map { prompts[$0].count }, logits: .last,
                lastLayer: shape.layerCount - 1)
            options.readLayer = readLayer
            if let rowInterventions {
                for (local, index) in batch.enumerated() {
                    for (layer, list) in Dictionary(grouping: rowInterventions[index], by: { $0.site.layer }) {
                        options.sequenceInterventions[layer, default: [:]][local] = list
                    }
                }
            }
            /// Hands the rows a step read to the sink, gathered by group.
            func deliver(_ output: StepOutput, entries: [StepEntry]) throws {
                guard readLayer != nil else { return }
                var gathered = [Int: [Float]]()
                var offset = 0
                for entry in entries {
                    let count = entry.tokens.count * d
                    let group = groups?[batch[entry.sequence]] ?? 0
                    gathered[group, default: []].append(contentsOf: output.siteRows[offset..<(offset + count)])
                    offset += count
                }
                for group in gathered.keys.sorted() {
                    let values = gathered[group]!
                    try sink(group, Matrix(rows: values.count / d, columns: d, values: values))
                }
            }
            var active = Array(batch.indices)
            var entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: prompts[$0.element]) }
            // Tokens sampled but not yet run through the blocks (the readout still needs them).
            var unread = [StepEntry]()
            for _ in 0..<sampling.maxNewTokens {
                let output = step(entries, cache: cache, options: options, workspace: workspace)
                try deliver(output, entries: entries)
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
                    } else {
                        unread.append(StepEntry(sequence: local, tokens: [token]))
                    }
                }
                active = next
                entries = nextEntries
                if active.isEmpty { break }
            }
            guard readLayer != nil else { continue }
            // The last sampled tokens (or, with nothing to generate, the prompts) through blocks 0…readLayer.
            unread += entries
            unread.sort { $0.sequence < $1.sequence }
            var last = options
            last.lastLayer = readLayer!
            last.logits = LogitsSelection.none
            let output = step(unread, cache: cache, options: last, workspace: workspace)
            try deliver(output, entries: unread)
        }
        return sequences
    }

    /// Consecutive groups of rows decoded together: a decode step runs one token per row, so rows are
    /// bounded by the step budget, the last-position logits (256 MiB) and the KV cache (2 GiB), and
    /// the prompts of a group by the step budget.
    func generationChunks(_ promptLengths: [Int], newTokens: Int) -> [[Int]] {
        let budget = tokensPerStep(allLogits: false)
        let kvPerPosition = 2 * shape.layerCount * shape.keyValueWidth * 4
        let maxRows = max(1, min(budget, (256 << 20) / (4 * shape.vocabularySize)))
        var out = [[Int]](), current = [Int]()
        var promptTokens = 0, kvBytes = 0
        for (i, length) in promptLengths.enumerated() {
            let rowBytes = (length + newTokens) * kvPerPosition
            if !current.isEmpty
                && (current.count >= maxRows || promptTokens + length > budget || kvBytes + rowBytes > 2 << 30)
            {
                out.append(current)
                current = []
                promptTokens = 0
                kvBytes = 0
            }
            current.append(i)
            promptTokens += length
            kvBytes += rowBytes
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// The residual after block `layer` (before that layer's interventions; none below it) of every
    /// position of `sequences`, running blocks `0…layer` once.
    public func siteResiduals(sequences: [[Int32]], layer: Int) throws -> SiteResiduals {
        try validate(sequences: sequences, interventions: [])
        guard (0..<shape.layerCount).contains(layer) else {
            throw SteeringError.indexOutOfRange(what: "site layer", index: layer, validRange: 0..<shape.layerCount)
        }
        let d = shape.hiddenSize
        var rows = [Float]()
        rows.reserveCapacity(sequences.reduce(0) { $0 + $1.count } * d)
        let workspace = StepWorkspace()
        for batch in chunks(sequences.map(\.count), budget: tokensPerStep(allLogits: false)) {
            let cache = KVCache(
                layerCount: layer + 1, width: shape.keyValueWidth, capacities: batch.map { sequences[$0].count })
            var options = StepOptions(
                promptLengths: batch.map { sequences[$0].count }, logits: .none, lastLayer: layer)
            options.readLayer = layer
            let entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: sequences[$0.element]) }
            rows += step(entries, cache: cache, options: options, workspace: workspace).siteRows
        }
        return SiteResiduals(site: ActivationSite(layer: layer), sequences: sequences, rows: rows, width: d)
    }

    /// ``nextTokenLoss(sequences:interventions:)`` from residuals computed once at a site: the
    /// interventions at that site are added to the stored rows and blocks above it run; interventions
    /// below the site are refused (the stored rows were computed without them).
    public func nextTokenLoss(from residuals: SiteResiduals, interventions: [Intervention]) throws -> [Double] {
        let layer = residuals.site.layer
        guard residuals.width == shape.hiddenSize, (0..<shape.layerCount).contains(layer) else {
            throw SteeringError.shapeMismatch(
                what: "site residuals",
                expected: "rows of \(shape.hiddenSize) values at a layer below \(shape.layerCount)",
                got: "rows of \(residuals.width) at layer \(layer)")
        }
        for intervention in interventions {
            try intervention.validate(for: descriptor)
            guard intervention.site.layer >= layer else {
                throw SteeringError.invalidArgument(
                    what: "intervention at layer \(intervention.site.layer)",
                    problem: "lies below the stored residuals' layer \(layer); run the full pass instead")
            }
        }
        let sequences = residuals.sequences
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        var losses = [Double](repeating: 0, count: sequences.count)
        let d = shape.hiddenSize
        let workspace = StepWorkspace()
        var starts = [Int](), total = 0
        for sequence in sequences {
            starts.append(total)
            total += sequence.count
        }
        let budget = tokensPerStep(allLogits: false)
        try residuals.rows.withUnsafeBufferPointer { stored in
            for batch in chunks(sequences.map(\.count), budget: budget) {
                let cache = KVCache(
                    layerCount: shape.layerCount, width: shape.keyValueWidth,
                    capacities: batch.map { sequences[$0].count }, firstLayer: layer + 1)
                var options = StepOptions(
                    interventions: grouped, promptLengths: batch.map { sequences[$0].count }, logits: .none,
                    lastLayer: shape.layerCount - 1)
                options.firstLayer = layer + 1
                // Batches are consecutive sequences, so their stored rows are contiguous.
                let first = starts[batch[0]]
                let entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: sequences[$0.element]) }
                guard (first + entries.reduce(0, { $0 + $1.tokens.count })) * d <= stored.count else {
                    throw SteeringError.shapeMismatch(
                        what: "site residuals", expected: "\(total * d) values", got: "\(stored.count)")
                }
                let (layout, _) = runBlocks(
                    entries, cache: cache, options: options, workspace: workspace,
                    residual: stored.baseAddress! + first * d)
                // Rows that predict a next token, with their targets.
                var rows = [Int](), targets = [Int](), owners = [Int]()
                for (e, entry) in entries.enumerated() where entry.tokens.count > 1 {
                    for t in 0..<(entry.tokens.count - 1) {
                        rows.append(layout.rowStart[e] + t)
                        targets.append(Int(entry.tokens[t + 1]))
                        owners.append(e)
                    }
                }
                var sums = [Double](repeating: 0, count: entries.count)
                headCrossEntropy(rows: rows, targets: targets, layout: layout, workspace: workspace) { i, value in
                    sums[owners[i]] += value
                }
                for (e, entry) in entries.enumerated() where entry.tokens.count > 1 {
                    losses[batch[e]] = sums[e] / Double(entry.tokens.count - 1)
                }
            }
        }
        return losses
    }
}
