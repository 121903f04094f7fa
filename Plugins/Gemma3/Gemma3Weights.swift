import Foundation
import SteeringCore
import SteeringNumerics
import TransformerRuntime

/// The weights of one Gemma-3 decoder block. Norm weights are stored as `1 + w` (Gemma's offset
/// convention), computed in float32 exactly as transformers does.
struct Gemma3LayerWeights: Sendable {
    let inputNorm: [Float]
    let query: WeightMatrix
    let key: WeightMatrix
    let value: WeightMatrix
    let output: WeightMatrix
    /// Per-head RMSNorm of queries and keys (`head_dim` values each).
    let queryNorm: [Float]
    let keyNorm: [Float]
    let postAttentionNorm: [Float]
    let preFeedForwardNorm: [Float]
    let gate: WeightMatrix
    let up: WeightMatrix
    let down: WeightMatrix
    let postFeedForwardNorm: [Float]
}

/// All weights of a Gemma-3 text model.
struct Gemma3Weights: Sendable {
    /// `[vocab, hidden]`, unscaled; also the head when tied.
    let embedding: WeightMatrix
    let layers: [Gemma3LayerWeights]
    /// `1 + w` of the final norm.
    let finalNorm: [Float]
    /// A separate head when the checkpoint does not tie it (`lm_head.weight` / GGUF `output.weight`).
    var head: WeightMatrix? = nil
    /// Whether some matrix is resident in another precision than its file's (its values differ).
    var changedPrecision = false

    /// Every weight matrix, embedding first.
    var matrices: [WeightMatrix] {
        var matrices = [embedding]
        for l in layers { matrices += [l.query, l.key, l.value, l.output, l.gate, l.up, l.down] }
        if let head { matrices.append(head) }
        return matrices
    }

    /// Number of weights borrowed from file mappings without a copy.
    var borrowedCount: Int { matrices.filter { $0.storage.isBorrowed }.count }

    /// Bytes of all weight matrices as resident.
    var residentBytes: Int { matrices.reduce(0) { $0 + $1.storage.byteCount } }

    /// Expected tensors, named relative to the text model (`layers.N.self_attn.q_proj.weight`,
    /// `embed_tokens.weight`, `norm.weight`), with their shapes.
    static func expectedTensors(_ c: Gemma3Configuration) -> [(name: String, shape: [Int])] {
        let q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        let d = c.hiddenSize, f = c.intermediateSize
        var out: [(String, [Int])] = [("embed_tokens.weight", [c.vocabularySize, d])]
        for i in 0..<c.layerCount {
            let p = "layers.\(i)."
            out += [
                (p + "input_layernorm.weight", [d]), (p + "self_attn.q_proj.weight", [q, d]),
                (p + "self_attn.k_proj.weight", [kv, d]), (p + "self_attn.v_proj.weight", [kv, d]),
                (p + "self_attn.o_proj.weight", [d, q]), (p + "self_attn.q_norm.weight", [c.headDimension]),
                (p + "self_attn.k_norm.weight", [c.headDimension]), (p + "post_attention_layernorm.weight", [d]),
                (p + "pre_feedforward_layernorm.weight", [d]), (p + "mlp.gate_proj.weight", [f, d]),
                (p + "mlp.up_proj.weight", [f, d]), (p + "mlp.down_proj.weight", [d, f]),
                (p + "post_feedforward_layernorm.weight", [d]),
            ]
        }
        out.append(("norm.weight", [d]))
        return out
    }

    /// Builds the weights from a source of named tensors (names as in ``expectedTensors(_:)``).
    static func load(from source: some CheckpointTensorSource, config: Gemma3Configuration) throws -> Gemma3Weights {
        let problems = source.problems(
            expected: expectedTensors(config), headShape: [config.vocabularySize, config.hiddenSize])
        guard problems.isEmpty else { throw Gemma3Error.weightProblems(path: source.path, problems: problems) }
        let untiedHead = source.shape(of: "lm_head.weight")

        var layers = [Gemma3LayerWeights]()
        for i in 0..<config.layerCount {
            let p = "layers.\(i)."
            layers.append(
                Gemma3LayerWeights(
                    inputNorm: try source.norm(p + "input_layernorm.weight"),
                    query: try source.matrix(p + "self_attn.q_proj.weight"),
                    key: try source.matrix(p + "self_attn.k_proj.weight"),
                    value: try source.matrix(p + "self_attn.v_proj.weight"),
                    output: try source.matrix(p + "self_attn.o_proj.weight"),
                    queryNorm: try source.norm(p + "self_attn.q_norm.weight"),
                    keyNorm: try source.norm(p + "self_attn.k_norm.weight"),
                    postAttentionNorm: try source.norm(p + "post_attention_layernorm.weight"),
                    preFeedForwardNorm: try source.norm(p + "pre_feedforward_layernorm.weight"),
                    gate: try source.matrix(p + "mlp.gate_proj.weight"),
                    up: try source.matrix(p + "mlp.up_proj.weight"),
                    down: try source.matrix(p + "mlp.down_proj.weight"),
                    postFeedForwardNorm: try source.norm(p + "post_feedforward_layernorm.weight")))
        }
        let embedding = try source.matrix("embed_tokens.weight")
        let head = config.tieWordEmbeddings || untiedHead == nil ? nil : try source.matrix("lm_head.weight")
        return Gemma3Weights(
            embedding: embedding, layers: layers, finalNorm: try source.norm("norm.weight"), head: head,
            changedPrecision: source.changedPrecision)
    }

    /// Random weights with the shapes of `config`, resident as `element` (benchmarks and tests):
    /// linear weights uniform with standard deviation `std`, norm offsets with 0.1, embeddings with 1.
    static func random(config: Gemma3Configuration, seed: UInt64, std: Float = 0.02, element: WeightElement = .f32)
        -> Gemma3Weights
    {
        var stream: UInt64 = 0
        let block = 1 << 20
        func uniform(_ range: Range<Int>, _ deviation: Float, stream: UInt64, into target: UnsafeMutablePointer<Float>)
        {
            let halfWidth = deviation * Float(3).squareRoot()
            var generator = SplitMix64(seed: seed &+ stream &* 0x9E37_79B9_7F4A_7C15, row: range.lowerBound / block)
            for i in 0..<range.count {
                target[i] = (Float(generator.next() >> 40) * 0x1p-23 - 1) * halfWidth
            }
        }
        func matrix(_ rows: Int, _ columns: Int, _ deviation: Float = std) -> WeightMatrix {
            stream += 1
            let current = stream
            let storage = WeightStorage(count: rows * columns, element: element, block: block) { range, target in
                uniform(range, deviation, stream: current, into: target)
            }
            return WeightMatrix(rows: rows, columns: columns, storage: storage)
        }
        func norm(_ width: Int) -> [Float] {
            stream += 1
            var values = [Float](repeating: 0, count: width)
            values.withUnsafeMutableBufferPointer { uniform(0..<width, 0.1, stream: stream, into: $0.baseAddress!) }
            return values.map { 1 + $0 }
        }
        let d = config.hiddenSize, q = config.headCount * config.headDimension
        let kv = config.keyValueHeadCount * config.headDimension, f = config.intermediateSize
        let layers = (0..<config.layerCount).map { _ in
            Gemma3LayerWeights(
                inputNorm: norm(d), query: matrix(q, d), key: matrix(kv, d), value: matrix(kv, d), output: matrix(d, q),
                queryNorm: norm(config.headDimension), keyNorm: norm(config.headDimension),
                postAttentionNorm: norm(d), preFeedForwardNorm: norm(d), gate: matrix(f, d), up: matrix(f, d),
                down: matrix(d, f), postFeedForwardNorm: norm(d))
        }
        return Gemma3Weights(embedding: matrix(config.vocabularySize, d, 1), layers: layers, finalNorm: norm(d))
    }
}
