import Foundation
import SteeringNumerics
import SteeringTestSupport
import TensorFormats
import Testing

/// The quantised row kernels against the GGUF reader's float32 dequantisation (bit-identical to
/// gguf-py) of the same random blocks, written to a GGUF file by ``GGUFWriter``.
@Suite("Quantised GGUF row kernels", .serialized)
struct QuantizedKernelTests {
    /// A random `rows × columns` tensor of `format`: random bytes with finite scales (normal,
    /// subnormal, zero and negative float16), read back through ``GGUFFile``.
    struct Tensor {
        let format: QuantizedFormat
        let rows: Int
        let columns: Int
        let bytes: [UInt8]
        /// The reader's dequantisation, row-major.
        let values: [Float]
    }

    static func randomTensor(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) throws -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let blocks = rows * columns / format.blockElements
        var bytes = (0..<(blocks * format.blockBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        func half(_ value: Float) -> [UInt8] {
            var bits: UInt16 = 0
            withUnsafeMutableBytes(of: &bits) { Kernels.narrow([value], count: 1, to: .f16, into: $0.baseAddress!) }
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        func scale() -> Float {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: return 0
            case 1: return 3e-6 * Float.random(in: -1...1, using: &rng)  // float16 subnormal
            default: return Float.random(in: -0.05...0.05, using: &rng)
            }
        }
        for b in 0..<blocks {
            let base = b * format.blockBytes
            switch format {
            case .q6_k: bytes.replaceSubrange((base + 208)..<(base + 210), with: half(scale()))
            case .q8_k:
                let bits = scale().bitPattern
                bytes.replaceSubrange(base..<(base + 4), with: (0..<4).map { UInt8((bits >> (8 * $0)) & 0xFF) })
            case .q4_1, .q5_1, .q4_k, .q5_k:
                bytes.replaceSubrange(base..<(base + 4), with: half(scale()) + half(scale()))
            case .q4_0, .q5_0, .q8_0: bytes.replaceSubrange(base..<(base + 2), with: half(scale()))
            }
        }
        var writer = GGUFWriter()
        let type = try #require(GGUFTensorType(rawValue: format.rawValue))
        try writer.addTensor("w", type: type, shape: [rows, columns], bytes: bytes)
        let file = try GGUFFile(mapping: MappedFile(copying: try writer.serialized(), path: "random \(format)"))
        return Tensor(format: format, rows: rows, columns: columns, bytes: bytes, values: try file.floats("w"))
    }

    /// Shapes per format: a single block, a few blocks, and the widths of Gemma-3-270m's matrices.
    static func columns(_ format: QuantizedFormat) -> [Int] {
        format.blockElements == 32 ? [32, 96, 640] : [256, 768, 1024]
    }

    @Test("block dequantisation is bit-identical to the GGUF reader's", arguments: QuantizedFormat.allCases)
    func dequantize(format: QuantizedFormat) throws {
        for columns in Self.columns(format) {
            let tensor = try Self.randomTensor(format, rows: 7, columns: columns, seed: UInt64(columns))
            var out = [Float](repeating: .nan, count: tensor.values.count)
            tensor.bytes.withUnsafeBytes {
                Kernels.dequantize(format, $0.baseAddress!, blocks: out.count / format.blockElements, into: &out)
            }
            #expect(out.map(\.bitPattern) == tensor.values.map(\.bitPattern), "\(format) columns \(columns)")
        }
    }

    /// Products of 1 to 9 and 16 input rows over row ranges (whole, inner, single rows) agree with
    /// the double-precision product of the dequantised rows, and with the float32 row kernel over
    /// them, within 1e-5 of Σ|w·x| (float32 summation in another order; observed ≲ 3e-7).
    @Test("row products match the dequantised product at every level", arguments: QuantizedFormat.allCases)
    func rows(format: QuantizedFormat) throws {
        let rows = 13
        for columns in Self.columns(format) {
            let tensor = try Self.randomTensor(format, rows: rows, columns: columns, seed: 100 + UInt64(columns))
            var rng = SeededGenerator(seed: 7)
            let maxInputs = 16
            let x = (0..<(maxInputs * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
            var scratch = [Float](repeating: 0, count: Kernels.scratchFloats(count: maxInputs, columns: columns))
            KernelTests.atEveryLevel { level in
                for n in Array(1...9) + [16] {
                    var floatProduct = [Float](repeating: .nan, count: n * rows)
                    tensor.values.withUnsafeBytes { w in
                        Kernels.multiply(
                            x, count: n, weights: w.baseAddress!, element: .f32, rows: rows, columns: columns,
                            into: &floatProduct, scratch: &scratch)
                    }
                    for range in [0..<rows, 3..<11, 5..<6, 12..<13] {
                        var y = [Float](repeating: .nan, count: n * rows)
                        tensor.bytes.withUnsafeBytes { w in
                            Kernels.multiply(
                                x, count: n, columns: columns,
                                quantized: QuantizedRows(format: format, base: w.baseAddress!), rows: range, into: &y,
                                outputStride: rows)
                        }
                        for i in 0..<n {
                            for r in 0..<rows {
                                let got = y[i * rows + r]
                                guard range.contains(r) else {
                                    #expect(got.isNaN, "\(format) wrote row \(r) outside \(range)")
                                    continue
                                }
                                var exact = 0.0, magnitude = 0.0
                                for j in 0..<columns {
                                    let term = Double(tensor.values[r * columns + j]) * Double(x[i * columns + j])
                                    exact += term
                                    magnitude += abs(term)
                                }
                                let bound = 1e-5 * magnitude + 1e-30
                                #expect(
                                    abs(Double(got) - exact) <= bound,
                                    "level \(level) \(format) k \(columns) n \(n) rows \(range): \(got) vs \(exact)")
                                #expect(
                                    abs(Double(got) - Double(floatProduct[i * rows + r])) <= bound,
                                    "level \(level) \(format) k \(columns) n \(n): \(got) vs f32 \(floatProduct[i * rows + r])"
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    /// Several operands in one parallel product (as q/k/v are), quantised or not, read their own
    /// blocks for small batches (their float32 rows are NaN there, so using them would show): up to
    /// the streaming limit beside a float32 operand, up to the quantised limit when all are
    /// quantised; larger batches use the float32 rows.
    @Test("mixed and all-quantised operands in one product, small and large batches", arguments: [true, false])
    func operands(mixed: Bool) throws {
        let columns = 640
        let a = try Self.randomTensor(.q8_0, rows: 300, columns: columns, seed: 1)
        let b = try Self.randomTensor(.q5_0, rows: 70, columns: columns, seed: 2)
        var rng = SeededGenerator(seed: 3)
        let plain = (0..<(50 * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
        for n in [1, 3, 8, 9, 16, 17, 40] {
            let x = (0..<(n * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
            var ya = [Float](repeating: .nan, count: n * a.rows), yb = [Float](repeating: .nan, count: n * b.rows)
            var yc = [Float](repeating: .nan, count: n * 50)
            var scratch = [Float](repeating: 0, count: Kernels.scratchFloats(count: n, columns: columns))
            let limit = mixed ? Kernels.streamingBatchLimit : Kernels.quantizedBatchLimit
            let quantisedOnly = n <= limit && Kernels.usesQuantizedRows
            let floatA = quantisedOnly ? [Float](repeating: .nan, count: a.values.count) : a.values
            let floatB = quantisedOnly ? [Float](repeating: .nan, count: b.values.count) : b.values
            floatA.withUnsafeBytes { av in
                floatB.withUnsafeBytes { bv in
                    plain.withUnsafeBytes { cv in
                        a.bytes.withUnsafeBytes { aq in
                            b.bytes.withUnsafeBytes { bq in
                                var operands = [
                                    WeightOperand(
                                        weights: av.baseAddress!, element: .f32, rows: a.rows, output: &ya,
                                        quantized: QuantizedRows(format: .q8_0, base: aq.baseAddress!)),
                                    WeightOperand(
                                        weights: bv.baseAddress!, element: .f32, rows: b.rows, output: &yb,
                                        quantized: QuantizedRows(format: .q5_0, base: bq.baseAddress!)),
                                ]
                                if mixed {
                                    operands.insert(
                                        WeightOperand(weights: cv.baseAddress!, element: .f32, rows: 50, output: &yc),
                                        at: 1)
                                }
                                Kernels.multiply(x, count: n, columns: columns, operands: operands, scratch: &scratch)
                            }
                        }
                    }
                }
            }
            var products = [(a.values, a.rows, ya, "q8_0"), (b.values, b.rows, yb, "q5_0")]
            if mixed { products.append((plain, 50, yc, "f32")) }
            for (values, rows, y, name) in products {
                for i in 0..<n {
                    for r in 0..<rows {
                        var exact = 0.0, magnitude = 0.0
                        for j in 0..<columns {
                            let term = Double(values[r * columns + j]) * Double(x[i * columns + j])
                            exact += term
                            magnitude += abs(term)
                        }
                        #expect(
                            abs(Double(y[i * rows + r]) - exact) <= 1e-5 * magnitude + 1e-30,
                            "\(name) mixed \(mixed) n \(n) row \(r)")
                    }
                }
            }
        }
    }
}
