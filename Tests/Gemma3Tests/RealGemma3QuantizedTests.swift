import Foundation
import SteeringCore
import SteeringNumerics
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Gemma3

/// Decoding google/gemma-3-270m from the GGUF's quantised blocks (the default) against the same model
/// decoding from its float32 dequantisation (`quantizedRows: false`) and against transformers
/// (Tests/Fixtures/gemma3/real-270m, see RealGemma3Tests).
@Suite("google/gemma-3-270m decoding from quantised blocks", .enabled(if: RealGemma3.enabled), .serialized)
struct RealGemma3QuantizedTests {
    static let floatRows: Result<Gemma3Backend, any Error> = Result {
        try Gemma3Backend(path: RealGemma3.requirePath(), quantizedRows: false)
    }

    @Test("every matrix keeps its blocks (Q8_0, Q5_0, Q4_K, Q6_K), the float32 rows stay exact")
    func attached() throws {
        let model = try RealGemma3Tests.loaded.get(), plain = try Self.floatRows.get()
        let matrices = model.weightMatrices
        #expect(matrices.count == 1 + 18 * 7 && matrices.allSatisfy { $0.quantized != nil })
        #expect(plain.weightMatrices.allSatisfy { $0.quantized == nil })
        let formats = Set(matrices.compactMap { $0.quantized?.rows.format })
        #expect(formats == [.q8_0, .q5_0, .q4_k, .q6_k], "\(formats)")
        #expect(matrices[0].quantized?.rows.format == .q8_0, "the tied embedding / head")
        // The quantised bytes are about a quarter of the float32 ones (246 MB per token, as llama.cpp reads).
        let bytes = matrices.reduce(0) { $0 + $1.quantized!.byteCount }
        #expect((240_000_000...250_000_000).contains(bytes), "\(bytes) quantised bytes")
        // The embedding lookup reads the float32 rows: the reader's dequantisation, bit for bit.
        let file = try GGUFFile(path: RealGemma3.requirePath())
        var expected = [Float](repeating: 0, count: 640), row = [Float](repeating: 0, count: 640)
        for token in [0, 2, 1234, 262_143] {
            try expected.withUnsafeMutableBufferPointer {
                try file.dequantize("token_embd.weight", rows: token..<(token + 1), into: $0)
            }
            matrices[0].row(token, into: &row)
            #expect(row.map(\.bitPattern) == expected.map(\.bitPattern), "embedding row \(token)")
        }
    }

    /// Forward passes of 1 and 8 tokens (products of at most 8 rows, so the quantised kernels run,
    /// head included): logits within 2e-4 of the float32 path (summation order only; observed values
    /// are printed) and within 1e-3 of transformers, like the 64-token passes of RealGemma3Tests.
    @Test("logits of short passes: ≤ 2e-4 from the float32 rows, ≤ 1e-3 from transformers")
    func shortPassLogits() throws {
        let model = try RealGemma3Tests.loaded.get(), plain = try Self.floatRows.get()
        let (reference, _) = try RealGemma3Tests.reference()
        let columns = try reference.int32s("sampled_columns").map(Int.init)
        let vocab = model.configuration.vocabularySize
        var worstFloat: Float = 0, worstReference: Float = 0
        for p in 0..<8 {
            let tokens = try reference.int32s("tokens.\(p)")
            let sampled = try reference.floats("sampled_logits.\(p)")
            for length in [1, 8] {
                let request = ForwardRequest(sequences: [Array(tokens.prefix(length))], logits: .all)
                let quantized = try model.forward(request).logits[0].values
                let float = try plain.forward(request).logits[0].values
                #expect(quantized.count == length * vocab)
                for i in quantized.indices { worstFloat = max(worstFloat, abs(quantized[i] - float[i])) }
                for t in 0..<length {
                    for (j, column) in columns.enumerated() {
                        worstReference = max(
                            worstReference,
                            abs(quantized[t * vocab + column] - sampled[t * columns.count + j]))
                    }
                }
            }
        }
        print(
            "gemma-3-270m quantised decoding: logits max |Δ| \(worstFloat) vs float32 rows, \(worstReference) vs transformers"
        )
        #expect(worstFloat <= 2e-4, "quantised vs float32 rows: max |Δ| = \(worstFloat)")
        #expect(worstReference <= 1e-3, "quantised vs transformers: max |Δ| = \(worstReference)")
    }

    @Test("batch-1 greedy 32-token continuations equal transformers' and the float32 path's")
    func batchOneGreedy() throws {
        let model = try RealGemma3Tests.loaded.get(), plain = try Self.floatRows.get()
        let (reference, settings) = try RealGemma3Tests.reference()
        let records = settings["greedy"] as! [[String: Any]]
        let sampling = SamplingConfig.greedy(maxNewTokens: settings["greedy_new_tokens"] as! Int)
        for p in 0..<8 {
            let prompt = try reference.int32s("tokens.\(p)")
            let output = try model.generate(prompts: [prompt], sampling: sampling, interventions: [])[0]
            let float = try plain.generate(prompts: [prompt], sampling: sampling, interventions: [])[0]
            let expected = try reference.int32s("greedy.\(p).output")
            let binding = (records[p]["greedy"] as! [String: Any])["compare_new_tokens"] as! Int
            #expect(Array(output.prefix(prompt.count + binding)) == Array(expected.prefix(prompt.count + binding)))
            #expect(output == float, "prompt \(p): quantised and float32 decoding differ")
        }
    }
}
