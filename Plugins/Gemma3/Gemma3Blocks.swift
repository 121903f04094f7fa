// The block arithmetic of transformers/models/gemma3/modeling_gemma3.py (Gemma3ForCausalLM, text,
// eager attention) in row-major float32; the TransformerRuntime drives it.
import Foundation
import SteeringNumerics
import SteeringCore
import TransformerRuntime

/// Gemma-3's embedding, blocks and head: Gemma-2's block with per-head RMSNorm on queries and keys,
/// per-layer-type attention (sliding window or full) and RoPE bases (local / global with linear scaling).
struct Gemma3Blocks: TransformerModel {
    let config: Gemma3Configuration
    let weights: Gemma3Weights
    let localRotary: RotaryEmbedding
    let globalRotary: RotaryEmbedding
    let attention: AttentionShape
    let shape: TransformerShape

    init(config: Gemma3Configuration, weights: Gemma3Weights) {
        self.config = config
        self.weights = weights
        localRotary = RotaryEmbedding(
            headDimension: config.headDimension, base: config.localRopeBase, linearScaling: config.localRopeScaling)
        globalRotary = RotaryEmbedding(
            headDimension: config.headDimension, base: config.globalRopeBase, linearScaling: config.globalRopeScaling)
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

    /// Rotary tables for both layer types: local in `cosine`/`sine`, global in `extra0`/`extra1`.
    func prepare(_ layout: StepLayout, workspace: StepWorkspace) {
        let count = layout.rowCount * config.headDimension / 2
        localRotary.tables(
            positions: layout.positions, cos: workspace.buffer(.cosine, count), sin: workspace.buffer(.sine, count))
        globalRotary.tables(
            positions: layout.positions, cos: workspace.buffer(.extra0, count), sin: workspace.buffer(.extra1, count))
    }

    /// Embedding × √d in float32.
    func embed(_ token: Int32, into row: UnsafeMutablePointer<Float>) {
        weights.embedding.row(Int(token), into: row)
        let scale = config.embeddingScale
        for i in 0..<config.hiddenSize { row[i] *= scale }
    }

    func block(
        _ layer: Int, _ x: UnsafeMutablePointer<Float>, layout: StepLayout, cache: KVCache, workspace: StepWorkspace
    ) {
        let n = layout.rowCount, d = config.hiddenSize, f = config.intermediateSize
        let headDim = config.headDimension
        let qWidth = attention.queryWidth, kvWidth = attention.keyValueWidth, half = headDim / 2
        let a = workspace.buffer(.normed, n * d)
        let q = workspace.buffer(.query, n * qWidth), k = workspace.buffer(.key, n * kvWidth)
        let v = workspace.buffer(.value, n * kvWidth), o = workspace.buffer(.attention, n * qWidth)
        let y = workspace.buffer(.blockOutput, n * d)
        let g = workspace.buffer(.gate, n * f), u = workspace.buffer(.up, n * f)
        let sliding = config.slidingLayers[layer]
        let cos = workspace.buffer(sliding ? .cosine : .extra0, n * half)
        let sin = workspace.buffer(sliding ? .sine : .extra1, n * half)
        let rotary = sliding ? localRotary : globalRotary
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: n, columns: max(d, f, qWidth)))
        let w = weights.layers[layer]
        let epsilon = config.rmsNormEpsilon
        // Attention block: projections, per-head q/k norms, RoPE of the layer's type, attention.
        DecoderOps.rmsNorm(x, rows: n, weight: w.inputNorm, epsilon: epsilon, into: a)
        Kernels.multiply(
            a, count: n, columns: d,
            operands: [w.query.operand(into: q), w.key.operand(into: k), w.value.operand(into: v)], scratch: scratch)
        DecoderOps.rmsNorm(q, rows: n * config.headCount, weight: w.queryNorm, epsilon: epsilon, into: q)
        DecoderOps.rmsNorm(k, rows: n * config.keyValueHeadCount, weight: w.keyNorm, epsilon: epsilon, into: k)
        rotary.apply(q, rows: n, heads: config.headCount, cos: cos, sin: sin)
        rotary.apply(k, rows: n, heads: config.keyValueHeadCount, cos: cos, sin: sin)
        DecoderOps.attend(
            queries: q, keys: k, values: v, layer: layer, shape: attention,
            window: sliding ? config.slidingWindow : nil, layout: layout, cache: cache, workspace: workspace, into: o)
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

    /// Final norm, head (tied unless the checkpoint has its own) and final soft-cap when configured.
    func logits(
        rows: [Int], hidden: UnsafePointer<Float>, workspace: StepWorkspace, into out: UnsafeMutablePointer<Float>
    ) {
        let d = config.hiddenSize
        let normed = workspace.buffer(.logitRows, rows.count * d)
        let scratch = workspace.buffer(.scratch, Kernels.scratchFloats(count: rows.count, columns: d))
        for (i, r) in rows.enumerated() { (normed + i * d).update(from: hidden + r * d, count: d) }
        DecoderOps.rmsNorm(
            normed, rows: rows.count, weight: weights.finalNorm, epsilon: config.rmsNormEpsilon, into: normed)
        (weights.head ?? weights.embedding).apply(normed, count: rows.count, into: out, scratch: scratch)
        if let cap = config.finalSoftcap { Kernels.softcap(out, count: rows.count * config.vocabularySize, cap: cap) }
    }
}
