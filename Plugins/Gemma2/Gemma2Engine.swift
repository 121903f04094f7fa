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

    func step(_ entries: [StepEntry], cache: KVCache, options: StepOptions) -> StepOutput {
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

        let x = Buffer(n * d), a = Buffer(n * d), q = Buffer(n * qWidth), k = Buffer(n * kvWidth)
        let v = Buffer(n * kvWidth), o = Buffer(n * qWidth), y = Buffer(n * d)
        let g = Buffer(n * f), u = Buffer(n * f)
        let cosTable = Buffer(n * half), sinTable = Buffer(n * half)
        defer { for b in [x, a, q, k, v, o, y, g, u, cosTable, sinTable] { b.free() } }

        // Embedding × √d (the scale rounded to float32; the table itself stays unscaled for the head).
        let scale = config.embeddingScale
        let table = weights.embedding.pointer
        for (e, entry) in entries.enumerated() {
            for (t, token) in entry.tokens.enumerated() {
                let source = table + Int(token) * d
                let target = x.p + (rowStart[e] + t) * d
                for i in 0..<d { target[i] = source[i] * scale }
            }
        }
        // Rotary tables per row.
        for r in 0..<n {
            let p = Float(positions[r])
            for i in 0..<half {
                let theta = p * inverseFrequencies[i]
                cosTable.p[r * half + i] = Float(Foundation.cos(Double(theta)))
                sinTable.p[r * half + i] = Float(Foundation.sin(Double(theta)))
            }
        }

        var output = StepOutput()
        for layer in 0...options.lastLayer {
            let w = weights.layers[layer]
            // Attention block.
            rmsNorm(x.p, rows: n, weight: w.inputNorm, into: a.p)
            w.query.apply(a.p, count: n, into: q.p)
            w.key.apply(a.p, count: n, into: k.p)
            w.value.apply(a.p, count: n, into: v.p)
            rotate(q.p, rows: n, heads: config.headCount, cos: cosTable.p, sin: sinTable.p)
            rotate(k.p, rows: n, heads: config.keyValueHeadCount, cos: cosTable.p, sin: sinTable.p)
            for (e, entry) in entries.enumerated() {
                let offset = cache.lengths[entry.sequence] * kvWidth
                let count = entry.tokens.count * kvWidth
                (cache.keys[layer][entry.sequence] + offset).update(from: k.p + rowStart[e] * kvWidth, count: count)
                (cache.values[layer][entry.sequence] + offset).update(from: v.p + rowStart[e] * kvWidth, count: count)
            }
            for (e, entry) in entries.enumerated() {
                attend(
                    layer: layer, sequence: entry.sequence, start: cache.lengths[entry.sequence],
                    count: entry.tokens.count, queries: q.p + rowStart[e] * qWidth, cache: cache,
                    into: o.p + rowStart[e] * qWidth)
            }
            w.output.apply(o.p, count: n, into: y.p)
            rmsNorm(y.p, rows: n, weight: w.postAttentionNorm, into: y.p)
            add(y.p, into: x.p, count: n * d)
            // Feed-forward block.
            rmsNorm(x.p, rows: n, weight: w.preFeedForwardNorm, into: a.p)
            w.gate.apply(a.p, count: n, into: g.p)
            w.up.apply(a.p, count: n, into: u.p)
            geluTanhGate(g.p, times: u.p, count: n * f)
            w.down.apply(g.p, count: n, into: y.p)
            rmsNorm(y.p, rows: n, weight: w.postFeedForwardNorm, into: y.p)
            add(y.p, into: x.p, count: n * d)
            // Hooks: steering, then capture (captures see the steered residual, as a TL hook would).
            for intervention in options.interventions[layer] ?? [] {
                let added = intervention.scaledVector
                for r in 0..<n {
                    let sequence = entries[rowEntry[r]].sequence
                    guard
                        intervention.positions.applies(
                            position: positions[r], promptLength: options.promptLengths[sequence])
                    else { continue }
                    let row = x.p + r * d
                    for i in 0..<d { row[i] += added[i] }
                }
            }
            if options.captureLayers.contains(layer) {
                output.captures[layer] = entries.enumerated().map { e, entry in
                    Matrix(
                        rows: entry.tokens.count, columns: d,
                        values: Array(UnsafeBufferPointer(start: x.p + rowStart[e] * d, count: entry.tokens.count * d)))
                }
            }
        }
        for entry in entries { cache.lengths[entry.sequence] += entry.tokens.count }

        switch options.logits {
        case .none: break
        case .last:
            let rows = entries.indices.map { rowStart[$0] + entries[$0].tokens.count - 1 }
            let all = logits(rows: rows, hidden: x.p)
            output.logits = (0..<entries.count).map { all.rows($0..<($0 + 1)) }
        case .all:
            output.logits = entries.indices.map { e in
                logits(rows: Array(rowStart[e]..<(rowStart[e] + entries[e].tokens.count)), hidden: x.p)
            }
        }
        return output
    }

    /// Final norm, tied head and final soft-cap for the given rows of the residual stream.
    func logits(rows: [Int], hidden: UnsafePointer<Float>) -> Matrix {
        let d = config.hiddenSize, vocab = config.vocabularySize
        let normed = Buffer(rows.count * d)
        defer { normed.free() }
        for (i, r) in rows.enumerated() { (normed.p + i * d).update(from: hidden + r * d, count: d) }
        rmsNorm(normed.p, rows: rows.count, weight: weights.finalNorm, into: normed.p)
        var out = Matrix(rows: rows.count, columns: vocab)
        out.values.withUnsafeMutableBufferPointer { buffer in
            weights.embedding.apply(normed.p, count: rows.count, into: buffer.baseAddress!)
            if let cap = config.finalSoftcap {
                for i in 0..<buffer.count { buffer[i] = Foundation.tanh(buffer[i] / cap) * cap }
            }
        }
        return out
    }

    /// Causal (and, on sliding layers, windowed) attention of `count` new queries of one sequence
    /// against its cache, written head-major into `into` (row stride `heads × head_dim`).
    private func attend(
        layer: Int, sequence: Int, start: Int, count: Int, queries: UnsafePointer<Float>, cache: KVCache,
        into out: UnsafeMutablePointer<Float>
    ) {
        let headDim = config.headDimension
        let qWidth = config.headCount * headDim, kvWidth = config.keyValueHeadCount * headDim
        let total = start + count
        let window = config.slidingLayers[layer] ? config.slidingWindow : nil
        let scores = Buffer(count * total)
        defer { scores.free() }
        let keys = cache.keys[layer][sequence], values = cache.values[layer][sequence]
        for head in 0..<config.headCount {
            let kvHead = head / config.groupSize
            // scores[t, j] = (q_t · k_j) · scale
            sgemm(
                .none, .transpose, m: count, n: total, k: headDim, alpha: config.attentionScale,
                a: queries + head * headDim, lda: qWidth, b: keys + kvHead * headDim, ldb: kvWidth,
                c: scores.p, ldc: total)
            for t in 0..<count {
                let i = start + t
                let row = scores.p + t * total
                let low = window.map { max(0, i - $0 + 1) } ?? 0
                if let cap = config.attentionSoftcap {
                    for j in low...i { row[j] = Foundation.tanh(row[j] / cap) * cap }
                }
                var maximum = -Float.infinity
                for j in low...i where row[j] > maximum { maximum = row[j] }
                var sum: Float = 0
                for j in low...i {
                    let e = Foundation.exp(row[j] - maximum)
                    row[j] = e
                    sum += e
                }
                for j in low...i { row[j] /= sum }
                for j in 0..<low { row[j] = 0 }
                for j in (i + 1)..<total { row[j] = 0 }
            }
            sgemm(
                .none, .none, m: count, n: headDim, k: total, a: scores.p, lda: total, b: values + kvHead * headDim,
                ldb: kvWidth, c: out + head * headDim, ldc: qWidth)
        }
    }

    /// Gemma RMSNorm: `x · rsqrt(mean(x²) + ε) · (1 + w)` in float32 (`weight` already holds `1 + w`).
    /// `input` and `output` may be the same buffer.
    private func rmsNorm(
        _ input: UnsafePointer<Float>, rows: Int, weight: [Float], into output: UnsafeMutablePointer<Float>
    ) {
        let d = config.hiddenSize
        let eps = config.rmsNormEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                let row = input + r * d
                var sum: Double = 0
                for i in 0..<d { sum += Double(row[i]) * Double(row[i]) }
                let variance = Float(sum / Double(d))
                let inverse = 1 / (variance + eps).squareRoot()
                let target = output + r * d
                for i in 0..<d { target[i] = (row[i] * inverse) * w[i] }
            }
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

    /// `gate ← gelu_tanh(gate) · up`.
    private func geluTanhGate(_ gate: UnsafeMutablePointer<Float>, times up: UnsafePointer<Float>, count: Int) {
        let beta: Float = 0.7978845608028654  // √(2/π)
        let kappa: Float = 0.044715
        for i in 0..<count {
            let x = gate[i]
            let inner = beta * (x + kappa * (x * x * x))
            gate[i] = 0.5 * x * (1 + Foundation.tanh(inner)) * up[i]
        }
    }

    private func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { target[i] += source[i] }
    }
}

/// A scratch float buffer, freed explicitly by its owner.
struct Buffer {
    let p: UnsafeMutablePointer<Float>

    /// Uninitialised memory: every user writes a buffer in full before reading it.
    init(_ count: Int) {
        p = .allocate(capacity: max(count, 1))
    }

    func free() { p.deallocate() }
}
