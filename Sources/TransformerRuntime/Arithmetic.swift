import Foundation
import SteeringNumerics

/// Half-split ("NeoX") rotary position embedding with a base and optional linear scaling, computed
/// as transformers does: `inv_freq[i] = 1 / base^(2i/d)` in float32, divided by the scaling factor.
public struct RotaryEmbedding: Sendable, Hashable {
    /// Rotated width (the head dimension).
    public let headDimension: Int
    /// `inv_freq`, `headDimension / 2` values.
    public let inverseFrequencies: [Float]

    public init(headDimension: Int, base: Double, linearScaling factor: Double = 1) {
        self.headDimension = headDimension
        inverseFrequencies = (0..<(headDimension / 2)).map { i in
            let exponent = Float(2 * i) / Float(headDimension)
            let power = Float(Foundation.pow(base, Double(exponent)))
            let frequency = 1 / power
            return factor == 1 ? frequency : frequency / Float(factor)
        }
    }

    /// Cosine and sine tables for every row of `layout` (`rowCount × headDimension / 2` each).
    public func tables(
        positions: [Int], cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>
    ) {
        let half = headDimension / 2
        for (r, position) in positions.enumerated() {
            let p = Float(position)
            for i in 0..<half {
                let theta = p * inverseFrequencies[i]
                cos[r * half + i] = Float(Foundation.cos(Double(theta)))
                sin[r * half + i] = Float(Foundation.sin(Double(theta)))
            }
        }
    }

    /// Rotates `rows × heads × headDimension` values in place with tables from ``tables(positions:cos:sin:)``.
    public func apply(
        _ data: UnsafeMutablePointer<Float>, rows: Int, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let half = headDimension / 2
        for r in 0..<rows {
            let c = cos + r * half, s = sin + r * half
            for h in 0..<heads {
                let base = data + (r * heads + h) * headDimension
                for i in 0..<half {
                    let x1 = base[i], x2 = base[i + half]
                    base[i] = x1 * c[i] - x2 * s[i]
                    base[i + half] = x2 * c[i] + x1 * s[i]
                }
            }
        }
    }
}

/// Shapes of grouped-query attention in one layer.
public struct AttentionShape: Sendable, Hashable {
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    /// Scores are multiplied by this (`query_pre_attn_scalar^-½`).
    public var scale: Float
    /// `tanh` soft-cap of the scores, if any.
    public var softcap: Float?

    public init(headCount: Int, keyValueHeadCount: Int, headDimension: Int, scale: Float, softcap: Float?) {
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDimension = headDimension
        self.scale = scale
        self.softcap = softcap
    }

    /// Query width of one row.
    public var queryWidth: Int { headCount * headDimension }
    /// Key (and value) width of one row.
    public var keyValueWidth: Int { keyValueHeadCount * headDimension }
}

/// Building blocks shared by decoder arithmetic.
public enum DecoderOps {
    /// Gemma-style RMSNorm of `rows × weight.count` values (`weight` already holds `1 + w`), in float32
    /// with the mean of squares accumulated in double; `input` and `output` may alias.
    public static func rmsNorm(
        _ input: UnsafePointer<Float>, rows: Int, weight: [Float], epsilon: Float,
        into output: UnsafeMutablePointer<Float>
    ) {
        weight.withUnsafeBufferPointer { w in
            Kernels.rmsNorm(
                input, rows: rows, width: w.count, weight: w.baseAddress!, epsilon: epsilon, into: output)
        }
    }

    /// Appends the step's keys and values (`rowCount × keyValueWidth`, after RoPE) to layer `layer` of
    /// `cache`, then computes causal attention of every query row over its sequence's cache into `output`
    /// (`rowCount × queryWidth`), one parallel unit per (entry, head). `window` limits each query to the
    /// last `window` positions (sliding-window layers).
    public static func attend(
        queries q: UnsafePointer<Float>, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, layer: Int,
        shape: AttentionShape, window: Int?, layout: StepLayout, cache: KVCache, workspace: StepWorkspace,
        into output: UnsafeMutablePointer<Float>
    ) {
        let kvWidth = shape.keyValueWidth, qWidth = shape.queryWidth, headDim = shape.headDimension
        let entries = layout.entries
        for (e, entry) in entries.enumerated() {
            let offset = cache.lengths[entry.sequence] * kvWidth
            let count = entry.tokens.count * kvWidth
            (cache.keys[layer][entry.sequence] + offset).update(from: k + layout.rowStart[e] * kvWidth, count: count)
            (cache.values[layer][entry.sequence] + offset).update(from: v + layout.rowStart[e] * kvWidth, count: count)
        }
        let units = entries.count * shape.headCount
        let longest = layout.longest
        let scores = workspace.buffer(.scores, units * longest)
        let groupSize = shape.headCount / shape.keyValueHeadCount
        Parallel.forEach(count: units, grain: 1) { range in
            for unit in range {
                let e = unit / shape.headCount, head = unit % shape.headCount
                let entry = entries[e]
                let kvOffset = (head / groupSize) * headDim
                Kernels.attention(
                    queries: q + layout.rowStart[e] * qWidth + head * headDim, queryStride: qWidth,
                    count: entry.tokens.count, start: cache.lengths[entry.sequence],
                    keys: cache.keys[layer][entry.sequence] + kvOffset,
                    values: cache.values[layer][entry.sequence] + kvOffset, cacheStride: kvWidth,
                    headDimension: headDim, scale: shape.scale, softcap: shape.softcap, window: window,
                    scratch: scores + unit * longest,
                    into: output + layout.rowStart[e] * qWidth + head * headDim, outputStride: qWidth)
            }
        }
    }
}
