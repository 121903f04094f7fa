// The block arithmetic of transformers/models/gemma2/modeling_gemma2.py (Gemma2ForCausalLM, eager
// attention) in row-major float32; the TransformerRuntime drives it (batching, KV cache, hooks).
import Foundation
import SteeringCore
import SteeringNumerics
import TransformerRuntime

/// Gemma-2's embedding, blocks and head.
struct Gemma2Blocks: TransformerModel {
    let config: Gemma2Configuration
    let weights: Gemma2Weights
    let rotary: RotaryEmbedding
    let attention: AttentionShape
    let shape: TransformerShape

    init(config: Gemma2Configuration, weights: Gemma2Weights) {
        self.config = config
        self.weights = weights
        rotary = RotaryEmbedding(headDimension: config.headDimension, base: config.ropeTheta)
        attention = AttentionShape(
            headCount: config.headCount, keyValueHeadCount: config.keyValueHeadCount,
            headDimension: config.headDimension, scale: config.attentionScale, softcap: config.attentionSoftcap)
        let floatsPerToken =
            3 * config.hiddenSize + 2 * attention.queryWidth + 2 * attention.keyValueWidth + 2 * config.intermediateSize
        shape = TransformerShape(
            layerCount: config.layerCount, hiddenSize: config.hiddenSize, vocabularySize: config.vocabularySize,
            keyValueWidth: attention.keyValueWidth, maxPositions: config.maxPositions,
            eosTokenIds: config.eosTokenIds, scratchFloatsPerToken: floatsPerToken)
    }

    func prepare(_ layout: StepLayout, workspace: StepWorkspace) {
        let half = config.headDimension / 2
        rotary.tables(
            positions: layout.positions, cos: workspace.buffer(.cosine, layout.rowCount * half),
            sin: workspace.buffer(.sine, layout.rowCount * half))
    }

    /// Embedding × √d (the scale rounded to float32; the table itself stays unscaled for the head).
    func embed(_ token: Int32, into row: UnsafeMutablePointer<Float>) {
        weights.embedding.row(Int(token), into: row)
        let scale = config.embeddingScale
        for i in 0..<config.hiddenSize { row[i] *= scale }
    }

    func block(
        _ layer: Int, _ x: UnsafeMutablePointer<Float>, layout: StepLayout, cache: KVCache, workspace: StepWorkspace
    ) {
        let n = layout.rowCount, d = config.hiddenSize, f = config.intermediateSize
        let qWidth = attention.queryWidth, kvWidth = attention.keyValueWidth, half = config.headDimension / 2
        let a = workspace.buffer(.normed, n * d)
        let q = workspace.buffer(.query, n * qWidth), k = workspace.buffer(.key, n * kvWidth)
        let v = workspace.buffer(.value, n * kvWidth), o = workspace.buffer(.attention, n * qWidth)
        let y = workspace.buffer(.blockOutput, n * d)
        let g = workspace.buffer(.gate, n * f), u = workspace.buffer(.up, n * f)
        let cos = workspace.buffer(.cosine, n * half), sin = workspace.buffer(.sine, n * half)
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: n, columns: max(d, f, qWidth)))
        let w = weights.layers[layer]
        let epsilon = config.rmsNormEpsilon
        // Attention block.
        DecoderOps.rmsNorm(x, rows: n, weight: w.inputNorm, epsilon: epsilon, into: a)
        Kernels.multiply(
            a, count: n, columns: d,
            operands: [w.query.operand(into: q), w.key.operand(into: k), w.value.operand(into: v)], scratch: scratch)
        rotary.apply(q, rows: n, heads: config.headCount, cos: cos, sin: sin)
        rotary.apply(k, rows: n, heads: config.keyValueHeadCount, cos: cos, sin: sin)
        DecoderOps.attend(
            queries: q, keys: k, values: v, layer: layer, shape: attention,
            window: config.slidingLayers[layer] ? config.slidingWindow : nil, layout: layout, cache: cache,
            workspace: workspace, into: o)
        w.output.apply(o, count: n, into: y, scratch: scratch)
        DecoderOps.rmsNorm(y, rows: n, weight: w.postAttentionNorm, epsilon: epsilon, into: y)
        Kernels.add(y, into: x, count: n * d)
        // Feed-forward block.
        DecoderOps.rmsNorm(x, rows: n, weight: w.preFeedForwardNorm, epsilon: epsilon, into: a)
        Kernels.multiply(
            a, count: n, columns: d, operands: [w.gate.operand(into: g), w.up.operand(into: u)], scratch: scratch)
        Kernels.geluTanhMultiply(g, by: u, count: n * f)
        w.down.apply(g, count: n, into: y, scratch: scratch)
        DecoderOps.rmsNorm(y, rows: n, weight: w.postFeedForwardNorm, epsilon: epsilon, into: y)
        Kernels.add(y, into: x, count: n * d)
    }

    /// Final norm, tied head and final soft-cap.
    func logits(
        rows: [Int], hidden: UnsafePointer<Float>, workspace: StepWorkspace, into out: UnsafeMutablePointer<Float>
    ) {
        let d = config.hiddenSize
        let normed = workspace.buffer(.logitRows, rows.count * d)
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: rows.count, columns: d))
        for (i, r) in rows.enumerated() { (normed + i * d).update(from: hidden + r * d, count: d) }
        DecoderOps.rmsNorm(
            normed, rows: rows.count, weight: weights.finalNorm, epsilon: config.rmsNormEpsilon, into: normed)
        weights.embedding.apply(normed, count: rows.count, into: out, scratch: scratch)
        if let cap = config.finalSoftcap { Kernels.softcap(out, count: rows.count * config.vocabularySize, cap: cap) }
    }
}
