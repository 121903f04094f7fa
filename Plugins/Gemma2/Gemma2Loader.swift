import Foundation
import SteeringNumerics
import SteeringCore
import TensorFormats
import TransformerRuntime

extension Gemma2Weights {
    /// Loads and strictly checks every tensor of a Hugging Face Gemma-2 checkpoint. Without
    /// `resident`, weight matrices stay in the file's precision and are used in place from the file
    /// mapping (no copy: the fastest start). With it, each is converted (or copied) once into owned
    /// memory on transparent huge pages, which batch-1 decoding streams faster than a file mapping
    /// whose page cache sits on 4 KiB pages (Docs/Benchmarks.md); file pages are released as they are
    /// read, so the process never holds both copies of more than a slice of one tensor.
    /// - Throws: ``Gemma2Error/weightProblems(directory:problems:)`` listing every missing,
    ///   unexpected or mis-shaped tensor at once.
    static func load(
        checkpoint: SafetensorsCheckpoint, config: Gemma2Configuration, resident: WeightElement? = nil
    ) throws -> Gemma2Weights {
        var changedPrecision = false
        let expected = config.expectedTensors
        var problems = [String]()
        let present = Set(checkpoint.tensorNames)
        for (name, shape) in expected {
            guard present.contains(name) else {
                problems.append("missing tensor '\(name)' (expected shape \(shape))")
                continue
            }
            let info = try checkpoint.info(name)
            if info.shape != shape {
                problems.append("tensor '\(name)' has shape \(info.shape), config.json implies \(shape)")
            }
            if ![.f32, .bf16, .f16].contains(info.dtype) {
                problems.append(
                    "tensor '\(name)' has dtype \(info.dtype.rawValue); only F32, BF16 and F16 are supported")
            }
        }
        let expectedNames = Set(expected.map(\.name))
        for name in checkpoint.tensorNames.sorted() where !expectedNames.contains(name) {
            if name == "lm_head.weight" {
                // Tied head: a copy of the embedding that some exporters write. Only its shape is checked.
                let info = try checkpoint.info(name)
                if info.shape != [config.vocabularySize, config.hiddenSize] {
                    problems.append("tensor 'lm_head.weight' has shape \(info.shape), expected the embedding's shape")
                }
                continue
            }
            problems.append("unexpected tensor '\(name)'")
        }
        guard problems.isEmpty else {
            throw Gemma2Error.weightProblems(directory: checkpoint.directory, problems: problems)
        }

        func matrix(_ name: String) throws -> WeightMatrix {
            let info = try checkpoint.info(name)
            let file = try checkpoint.file(containing: name)
            let stored: WeightElement = info.dtype == .f32 ? .f32 : info.dtype == .f16 ? .f16 : .bf16
            let target = resident ?? stored
            changedPrecision = changedPrecision || target != stored
            let bytes = try file.rawBytes(name)
            let rows = info.shape[0], columns = info.shape[1], count = info.elementCount
            // An explicit resident precision means owned memory (huge pages), even in the file's own
            // precision: it loads slower but streams much faster when decoding.
            if resident == nil, let base = bytes.baseAddress, Int(bitPattern: base) % stored.byteWidth == 0 {
                return WeightMatrix(
                    rows: rows, columns: columns,
                    storage: WeightStorage(borrowing: base, count: count, element: stored, owner: file))
            }
            defer { file.mapping.releasePages(of: bytes) }
            if let view = try file.float32Pointer(name), let base = view.baseAddress {
                // Pages of the file are released as they are converted: the process never holds a
                // large tensor twice (peak memory stays near the resident size).
                let storage = WeightStorage(converting: base, count: count, to: target) { piece in
                    file.mapping.releasePages(
                        of: UnsafeRawBufferPointer(start: base + piece.lowerBound, count: piece.count * 4))
                }
                return WeightMatrix(rows: rows, columns: columns, storage: storage)
            }
            return WeightMatrix(rows: rows, columns: columns, values: try file.floats(name), element: target)
        }
        func norm(_ name: String) throws -> [Float] {
            let values = try checkpoint.floats(name)
            try Vector.checkFinite(values, "tensor '\(name)'")
            return values.map { 1 + $0 }
        }
        var layers = [Gemma2LayerWeights]()
        for i in 0..<config.layerCount {
            let p = "model.layers.\(i)."
            layers.append(
                Gemma2LayerWeights(
                    inputNorm: try norm(p + "input_layernorm.weight"),
                    query: try matrix(p + "self_attn.q_proj.weight"),
                    key: try matrix(p + "self_attn.k_proj.weight"),
                    value: try matrix(p + "self_attn.v_proj.weight"),
                    output: try matrix(p + "self_attn.o_proj.weight"),
                    postAttentionNorm: try norm(p + "post_attention_layernorm.weight"),
                    preFeedForwardNorm: try norm(p + "pre_feedforward_layernorm.weight"),
                    gate: try matrix(p + "mlp.gate_proj.weight"),
                    up: try matrix(p + "mlp.up_proj.weight"),
                    down: try matrix(p + "mlp.down_proj.weight"),
                    postFeedForwardNorm: try norm(p + "post_feedforward_layernorm.weight")))
        }
        let embedding = try matrix("model.embed_tokens.weight")
        return Gemma2Weights(
            embedding: embedding, layers: layers, finalNorm: try norm("model.norm.weight"),
            changedPrecision: changedPrecision)
    }
}
