// Port of transformers/models/gemma2/modeling_gemma2.py (Gemma2ForCausalLM, eager attention) to
// row-major float32 on OpenBLAS, with a KV cache and residual-stream hooks.
import Foundation
import Numerics
import SteeringCore

/// Tokens of one sequence processed in one step, appended after what its cache already holds.
struct StepEntry {
    let sequence: Int
    let tokens: [Int32]
}

/// What one step should do besides updating the cache.
struct StepOptions {
    /// Interventions grouped by layer.
    var interventions: [Int: [Intervention]] = [:]
    /// Prompt length of each sequence (indexed by sequence), for position policies.
    var promptLengths: [Int]
    /// Layers whose residual output is captured.
    var captureLayers: Set<Int> = []
    var logits: LogitsSelection = .none
    /// Deepest layer to run (inclusive).
    var lastLayer: Int
}

/// What one step produced, per entry.
struct StepOutput {
    var captures: [Int: [Matrix]] = [:]
    var logits: [Matrix] = []
}

/// The numeric core: a forward step over a batch of sequences with a KV cache.
struct Gemma2Engine: Sendable {
    let config: Gemma2Configuration
    let weights: Gemma2Weights
    /// `inv_freq[i] = 1 / θ^(2i/d)` in float32, as transformers computes it.
    let inverseFrequencies: [Float]

    init(config: Gemma2Configuration, weights: Gemma2Weights) {
        self.config = config
        self.weights = weights
        let d = config.headDimension
        inverseFrequencies = (0..<(d / 2)).map { i in
            let exponent = Float(2 * i) / Float(d)
            let power = Float(Foundation.pow(config.ropeTheta, Double(exponent)))
            return 1 / power
        }
    }

    func step(_ entries: [StepEntry], cache: KVCache, options: StepOptions, workspace: StepWorkspace) -> StepOutput {
        let d = config.hiddenSize
        let headDim = config.headDimension, half = headDim / 2
        let qWidth = config.headCount * headDim, kvWidth = config.keyValueHeadCount * headDim
        let f = config.intermediateSize
        var rowStart = [Int]()
        var n = 0
        for entry in entries {
            rowStart.append(n)
            n += entry.tokens.count
        }
        guard n > 0 else { return StepOutput() }
        // Absolute position and owning entry of every row.
        var positions = [Int](repeating: 0, count: n)
        var rowEntry = [Int](repeating: 0, count: n)
        for (e, entry) in entries.enumerated() {
            let base = cache.lengths[entry.sequence]
            for t in 0..<entry.tokens.count {
                positions[rowStart[e] + t] = base + t
                rowEntry[rowStart[e] + t] = e
            }
        }

        let x = workspace.buffer(.residual, n * d), a = workspace.buffer(.normed, n * d)
        let q = workspace.buffer(.query, n * qWidth), k = workspace.buffer(.key, n * kvWidth)
        let v = workspace.buffer(.value, n * kvWidth), o = workspace.buffer(.attention, n * qWidth)
        let y = workspace.buffer(.blockOutput, n * d)
        let g = workspace.buffer(.gate, n * f), u = workspace.buffer(.up, n * f)
        let cosTable = workspace.buffer(.cosine, n * half), sinTable = workspace.buffer(.sine, n * half)
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: n, columns: max(d, f, qWidth)))

        // Embedding × √d (the scale rounded to float32; the table itself stays unscaled for the head).
        let scale = config.embeddingScale
        for (e, entry) in entries.enumerated() {
            for (t, token) in entry.tokens.enumerated() {
                let target = x + (rowStart[e] + t) * d
                weights.embedding.row(Int(token), into: target)
                for i in 0..<d { target[i] *= scale }
            }
        }
        // Rotary tables per row.
        for r in 0..<n {
            let p = Float(positions[r])
            for i in 0..<half {
                let theta = p * inverseFrequencies[i]
                cosTable[r * half + i] = Float(Foundation.cos(Double(theta)))
                sinTable[r * half + i] = Float(Foundation.sin(Double(theta)))
            }
        }
        // Attention work: one unit per (entry, head), each with its own score row.
        let longest = entries.map { cache.lengths[$0.sequence] + $0.tokens.count }.max() ?? 0
        let units = entries.count * config.headCount
        let scores = workspace.buffer(.scores, units * longest)

        var output = StepOutput()
        for layer in 0...options.lastLayer {
            let w = weights.layers[layer]
            // Attention block.
            rmsNorm(x, rows: n, weight: w.inputNorm, into: a)
            Kernels.multiply(
                a, count: n, columns: d,
                operands: [w.query.operand(into: q), w.key.operand(into: k), w.value.operand(into: v)],
                scratch: scratch)
            rotate(q, rows: n, heads: config.headCount, cos: cosTable, sin: sinTable)
            rotate(k, rows: n, heads: config.keyValueHeadCount, cos: cosTable, sin: sinTable)
            for (e, entry) in entries.enumerated() {
                let offset = cache.lengths[entry.sequence] * kvWidth
                let count = entry.tokens.count * kvWidth
                (cache.keys[layer][entry.sequence] + offset).update(from: k + rowStart[e] * kvWidth, count: count)
                (cache.values[layer][entry.sequence] + offset).update(from: v + rowStart[e] * kvWidth, count: count)
            }
            let window = config.slidingLayers[layer] ? config.slidingWindow : nil
            Parallel.forEach(count: units, grain: 1) { range in
                for unit in range {
                    let e = unit / config.headCount, head = unit % config.headCount
                    let entry = entries[e]
                    let kvOffset = (head / config.groupSize) * headDim
                    Kernels.attention(
                        queries: q + rowStart[e] * qWidth + head * headDim, queryStride: qWidth,
                        count: entry.tokens.count, start: cache.lengths[entry.sequence],
                        keys: cache.keys[layer][entry.sequence] + kvOffset,
                        values: cache.values[layer][entry.sequence] + kvOffset, cacheStride: kvWidth,
                        headDimension: headDim, scale: config.attentionScale, softcap: config.attentionSoftcap,
                        window: window, scratch: scores + unit * longest,
                        into: o + rowStart[e] * qWidth + head * headDim, outputStride: qWidth)
                }
            }
            w.output.apply(o, count: n, into: y, scratch: scratch)
            rmsNorm(y, rows: n, weight: w.postAttentionNorm, into: y)
            Kernels.add(y, into: x, count: n * d)
            // Feed-forward block.
            rmsNorm(x, rows: n, weight: w.preFeedForwardNorm, into: a)
            Kernels.multiply(
                a, count: n, columns: d, operands: [w.gate.operand(into: g), w.up.operand(into: u)], scratch: scratch)
            Kernels.geluTanhMultiply(g, by: u, count: n * f)
            w.down.apply(g, count: n, into: y, scratch: scratch)
            rmsNorm(y, rows: n, weight: w.postFeedForwardNorm, into: y)
            Kernels.add(y, into: x, count: n * d)
            // Hooks: steering, then capture (captures see the steered residual, as a TL hook would).
            for intervention in options.interventions[layer] ?? [] {
                let added = intervention.scaledVector
                for r in 0..<n {
                    let sequence = entries[rowEntry[r]].sequence
                    guard
                        intervention.positions.applies(
                            position: positions[r], promptLength: options.promptLengths[sequence])
                    else { continue }
                    let row = x + r * d
                    for i in 0..<d { row[i] += added[i] }
                }
            }
            if options.captureLayers.contains(layer) {
                output.captures[layer] = entries.enumerated().map { e, entry in
                    Matrix(
                        rows: entry.tokens.count, columns: d,
                        values: Array(UnsafeBufferPointer(start: x + rowStart[e] * d, count: entry.tokens.count * d)))
                }
            }
        }
        for entry in entries { cache.lengths[entry.sequence] += entry.tokens.count }

        switch options.logits {
        case .none: break
        case .last:
            let rows = entries.indices.map { rowStart[$0] + entries[$0].tokens.count - 1 }
            let all = workspace.buffer(.logits, rows.count * config.vocabularySize)
            logits(rows: rows, hidden: x, workspace: workspace, into: all)
            output.logits = (0..<entries.count).map { matrix(all, rows: $0..<($0 + 1)) }
        case .all:
            output.logits = allPositionLogits(entries: entries, rowStart: rowStart, hidden: x, workspace: workspace)
        }
        return output
    }

    /// Rows per head product below which a product streams the embedding for too few rows to be
    /// compute bound; shorter sequences are grouped up to this many rows.
    static let headGroupRows = 32

    /// Every position's logits, one matrix per entry. A sequence with at least ``headGroupRows``
    /// positions gets its own product written straight into its matrix (no scratch, no copy: at 8 ×
    /// 64 tokens that saves 0.5 GB); shorter ones are grouped into products of at least that many
    /// rows through a small scratch buffer, so the embedding is not streamed once per short sequence.
    private func allPositionLogits(
        entries: [StepEntry], rowStart: [Int], hidden: UnsafePointer<Float>, workspace: StepWorkspace
    ) -> [Matrix] {
        let vocab = config.vocabularySize
        var result = [Matrix?](repeating: nil, count: entries.count)
        var group: [Int] = [], groupRows = 0
        func flushGroup() {
            guard !group.isEmpty else { return }
            let rows = group.flatMap { e in rowStart[e]..<(rowStart[e] + entries[e].tokens.count) }
            let buffer = workspace.buffer(.logits, rows.count * vocab)
            logits(rows: rows, hidden: hidden, workspace: workspace, into: buffer)
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
                let rows = Array(rowStart[e]..<(rowStart[e] + count))
                let values = [Float](unsafeUninitializedCapacity: count * vocab) { buffer, initialized in
                    logits(rows: rows, hidden: hidden, workspace: workspace, into: buffer.baseAddress!)
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
        let vocab = config.vocabularySize
        return Matrix(
            rows: rows.count, columns: vocab,
            values: Array(UnsafeBufferPointer(start: buffer + rows.lowerBound * vocab, count: rows.count * vocab)))
    }

    /// Final norm, tied head and final soft-cap for the given rows of the residual stream, written
    /// to `out` (`rows.count × vocab`).
    func logits(
        rows: [Int], hidden: UnsafePointer<Float>, workspace: StepWorkspace, into out: UnsafeMutablePointer<Float>
    ) {
        let d = config.hiddenSize, vocab = config.vocabularySize
        let normed = workspace.buffer(.logitRows, rows.count * d)
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: rows.count, columns: d))
        for (i, r) in rows.enumerated() { (normed + i * d).update(from: hidden + r * d, count: d) }
        rmsNorm(normed, rows: rows.count, weight: weights.finalNorm, into: normed)
        weights.embedding.apply(normed, count: rows.count, into: out, scratch: scratch)
        if let cap = config.finalSoftcap { Kernels.softcap(out, count: rows.count * vocab, cap: cap) }
    }

    /// Gemma RMSNorm: `x · rsqrt(mean(x²) + ε) · (1 + w)` in float32 (`weight` already holds `1 + w`);
    /// the mean of squares is accumulated in double. `input` and `output` may be the same buffer.
    private func rmsNorm(
        _ input: UnsafePointer<Float>, rows: Int, weight: [Float], into output: UnsafeMutablePointer<Float>
    ) {
        weight.withUnsafeBufferPointer { w in
            Kernels.rmsNorm(
                input, rows: rows, width: config.hiddenSize, weight: w.baseAddress!, epsilon: config.rmsNormEpsilon,
                into: output)
        }
    }

    /// Half-split rotary embedding in place on `rows × heads × head_dim`.
    private func rotate(
        _ data: UnsafeMutablePointer<Float>, rows: Int, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let headDim = config.headDimension, half = headDim / 2
        for r in 0..<rows {
            let c = cos + r * half, s = sin + r * half
            for h in 0..<heads {
                let base = data + (r * heads + h) * headDim
                for i in 0..<half {
                    let x1 = base[i], x2 = base[i + half]
                    base[i] = x1 * c[i] - x2 * s[i]
                    base[i + half] = x2 * c[i] + x1 * s[i]
                }
            }
        }
    }

}

/// Scratch memory of the engine: one buffer per role, grown on demand and reused by every step of
/// one call (so decoding allocates nothing per token).
final class StepWorkspace {
    enum Slot: Int, CaseIterable {
        case residual, normed, query, key, value, attention, blockOutput, gate, up, cosine, sine, scores, scratch,
            logitRows, logits
    }

    private var buffers = [UnsafeMutablePointer<Float>?](repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    /// At least `count` floats for `slot`, uninitialised: callers write before they read.
    func buffer(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if let existing = buffers[i], capacities[i] >= count { return existing }
        buffers[i]?.deallocate()
        let capacity = max(count, 16)
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        buffers[i] = fresh
        capacities[i] = capacity
        return fresh
    }

    deinit { for buffer in buffers { buffer?.deallocate() } }
}
