import Foundation
import SteeringCore
import TensorFormats
import TransformerRuntime

extension Gemma2Weights {
    /// Loads and strictly checks every tensor of a Gemma-2 checkpoint from `source` (a Hugging Face
    /// directory or a GGUF file). From safetensors without a resident precision, matrices stay in the
    /// file's precision and are used in place from the file mapping (no copy: the fastest start); with
    /// one, each is converted once into owned huge-page memory, which batch-1 decoding streams faster.
    /// GGUF tensors are dequantised to float32 (or the precision asked for).
    /// - Throws: ``Gemma2Error/weightProblems(directory:problems:)`` listing every missing,
    ///   unexpected, mis-shaped or unreadable tensor at once.
    static func load(from source: some CheckpointTensorSource, config: Gemma2Configuration) throws -> Gemma2Weights {
        let problems = source.problems(
            expected: config.expectedTensors, headShape: [config.vocabularySize, config.hiddenSize])
        guard problems.isEmpty else { throw Gemma2Error.weightProblems(directory: source.path, problems: problems) }
        var layers = [Gemma2LayerWeights]()
        for i in 0..<config.layerCount {
            let p = "layers.\(i)."
            layers.append(
                Gemma2LayerWeights(
                    inputNorm: try source.norm(p + "input_layernorm.weight"),
                    query: try source.matrix(p + "self_attn.q_proj.weight"),
                    key: try source.matrix(p + "self_attn.k_proj.weight"),
                    value: try source.matrix(p + "self_attn.v_proj.weight"),
                    output: try source.matrix(p + "self_attn.o_proj.weight"),
                    postAttentionNorm: try source.norm(p + "post_attention_layernorm.weight"),
                    preFeedForwardNorm: try source.norm(p + "pre_feedforward_layernorm.weight"),
                    gate: try source.matrix(p + "mlp.gate_proj.weight"),
                    up: try source.matrix(p + "mlp.up_proj.weight"),
                    down: try source.matrix(p + "mlp.down_proj.weight"),
                    postFeedForwardNorm: try source.norm(p + "post_feedforward_layernorm.weight")))
        }
        let embedding = try source.matrix("embed_tokens.weight")
        return Gemma2Weights(
            embedding: embedding, layers: layers, finalNorm: try source.norm("norm.weight"),
            changedPrecision: source.changedPrecision)
    }
}
