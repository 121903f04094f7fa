import CKernels
import Foundation
import SteeringCore
import SteeringNumerics
import SteeringTestSupport
import Synchronization
import Testing

/// The vectorised kernels against double-precision renderings of their formulas. Lengths include
/// tails that are not multiples of eight, so both the vector bodies and the scalar tails run.
@Suite("Vectorised kernels", .serialized)
struct KernelTests {
    /// Runs `body` with this test's kernels held to each level the CPU has (portable C, AVX2,
    /// AVX-512); suites running meanwhile keep the default level.
    static func atEveryLevel(_ body: (Int) -> Void) {
        for level in [0, 1, 2] { Kernels.withLevel(level) { body(level) } }
    }

    /// Inputs spanning the polynomial branch, the exp branch, saturation, signs and zero.
    static let probes: [Float] = {
        var values: [Float] = [
            0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 0.3, -0.3, 0.6249, 0.625, -0.625, 1, -1, 8.99, 9.01, -20, 50, 1e4, -1e4,
        ]
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<5000 { values.append(Float.random(in: -12...12, using: &rng)) }
        for _ in 0..<1000 { values.append(Float.random(in: -1...1, using: &rng)) }
        return values + [3.5, -2.25, 0.001]
    }()

    @Test("soft-cap cap·tanh(x/cap) within 2e-7 relative (plus 1e-37) of double tanh")
    func softcap() {
        Self.atEveryLevel { level in
            for cap: Float in [1, 30, 50] {
                var x = Self.probes.map { $0 * cap }
                Kernels.softcap(&x, count: x.count, cap: cap)
                for (i, input) in Self.probes.enumerated() {
                    let expected = Foundation.tanh(Double(input)) * Double(cap)
                    let error = abs(Double(x[i]) - expected)
                    #expect(
                        error <= 2.5e-7 * abs(expected) + 1e-37,
                        "level \(level) cap \(cap) x \(input): \(x[i]) vs \(expected)")
                }
            }
        }
    }

    @Test("gelu_tanh(x)·up within 1e-6 relative (plus float32 cancellation) of the double-precision formula")
    func gelu() {
        var gate = Self.probes
        let up = Self.probes.indices.map { Float(1 + $0 % 3) }
        Kernels.geluTanhMultiply(&gate, by: up, count: gate.count)
        for (i, x) in Self.probes.enumerated() {
            let xd = Double(x)
            let expected =
                0.5 * xd * (1 + Foundation.tanh(0.7978845608028654 * (xd + 0.044715 * xd * xd * xd))) * Double(up[i])
            // 1 + tanh cancels for negative x in float32, exactly as in transformers' formula: the
            // float32 evaluation itself carries an error of about ε·|x|·up, whatever the tanh.
            let bound = 1e-6 * abs(expected) + 2.4e-7 * abs(xd) * Double(up[i]) + 1e-30
            #expect(abs(Double(gate[i]) - expected) <= bound, "x \(x)")
        }
    }

    @Test("RMSNorm matches the double-precision formula on odd widths")
    func rmsNorm() {
        var rng = SeededGenerator(seed: 9)
        for width in [1, 7, 8, 37, 2304] {
            let rows = 3
            let x = (0..<(rows * width)).map { _ in Float.random(in: -4...4, using: &rng) }
            let w = (0..<width).map { _ in Float.random(in: 0.5...1.5, using: &rng) }
            var y = [Float](repeating: .nan, count: x.count)
            Kernels.rmsNorm(x, rows: rows, width: width, weight: w, epsilon: 1e-6, into: &y)
            for r in 0..<rows {
                let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
                let inverse = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(width) + 1e-6).squareRoot()
                for i in 0..<width {
                    let expected = row[i] * inverse * Double(w[i])
                    #expect(abs(Double(y[r * width + i]) - expected) <= 1e-6 * max(1, abs(expected)))
                }
            }
        }
    }

    @Test(
        "attention equals a double-precision softmax(q·k)·v with causal and sliding masks",
        arguments: [(1, 0, 0, 16), (5, 0, 0, 20), (3, 9, 4, 256), (6, 2, 3, 9), (1, 40, 0, 64)])
    func attention(shape: (count: Int, start: Int, window: Int, headDim: Int)) {
        Self.atEveryLevel { _ in attention(shape: shape, checked: ()) }
    }

    private func attention(shape: (count: Int, start: Int, window: Int, headDim: Int), checked: Void) {
        var rng = SeededGenerator(seed: UInt64(shape.count * 100 + shape.start))
        let total = shape.start + shape.count
        let stride = shape.headDim + 3  // rows of a wider buffer, as heads sit inside a row
        let q = (0..<(shape.count * stride)).map { _ in Float.random(in: -2...2, using: &rng) }
        let k = (0..<(total * stride)).map { _ in Float.random(in: -2...2, using: &rng) }
        let v = (0..<(total * stride)).map { _ in Float.random(in: -2...2, using: &rng) }
        var out = [Float](repeating: .nan, count: shape.count * stride)
        var scratch = [Float](repeating: 0, count: total)
        let scale: Float = 0.3, cap: Float = 5
        Kernels.attention(
            queries: q, queryStride: stride, count: shape.count, start: shape.start, keys: k, values: v,
            cacheStride: stride, headDimension: shape.headDim, scale: scale, softcap: cap,
            window: shape.window > 0 ? shape.window : nil, scratch: &scratch, into: &out, outputStride: stride)
        for t in 0..<shape.count {
            let position = shape.start + t
            let low = shape.window > 0 ? max(0, position - shape.window + 1) : 0
            var scores = [Double]()
            for j in low...position {
                var dot = 0.0
                for i in 0..<shape.headDim { dot += Double(q[t * stride + i]) * Double(k[j * stride + i]) }
                scores.append(Foundation.tanh(dot * Double(scale) / Double(cap)) * Double(cap))
            }
            let maximum = scores.max()!
            let weights = scores.map { Foundation.exp($0 - maximum) }
            let sum = weights.reduce(0, +)
            for i in 0..<shape.headDim {
                var expected = 0.0
                for (n, j) in (low...position).enumerated() { expected += weights[n] / sum * Double(v[j * stride + i]) }
                #expect(abs(Double(out[t * stride + i]) - expected) <= 2e-5, "t \(t) i \(i)")
            }
        }
    }

    @Test("every float16 pattern widens exactly; narrowing rounds like HalfPrecision")
    func halfConversions() {
        let patterns = (0...UInt16.max).map { $0 }
        var widened = [Float](repeating: 0, count: patterns.count)
        patterns.withUnsafeBytes { Kernels.widen(.f16, $0.baseAddress!, count: patterns.count, into: &widened) }
        for (bits, value) in zip(patterns, widened) {
            let expected = HalfPrecision.float16ToFloat(bits)
            #expect(value.bitPattern == expected.bitPattern || (value.isNaN && expected.isNaN), "f16 \(bits)")
        }
        var bfWidened = [Float](repeating: 0, count: patterns.count)
        patterns.withUnsafeBytes { Kernels.widen(.bf16, $0.baseAddress!, count: patterns.count, into: &bfWidened) }
        #expect(zip(patterns, bfWidened).allSatisfy { $1.bitPattern == HalfPrecision.bfloat16ToFloat($0).bitPattern })

        // Narrowing: halfway cases, subnormals, overflow and random values; 8-wide bodies and tails.
        var rng = SeededGenerator(seed: 3)
        var inputs: [Float] = [
            0, -0, 65504, 65519.99, 65520, -70000, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, .infinity, -.infinity,
        ]
        inputs += widened.filter { $0.isFinite }.flatMap { [$0, $0.nextUp, $0.nextDown] }
        for _ in 0..<20000 { inputs.append(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))) }
        inputs = inputs.filter { !$0.isNaN } + [1.5]
        Self.atEveryLevel { level in
            for element in [WeightElement.f16, .bf16] {
                var narrowed = [UInt16](repeating: 0, count: inputs.count)
                narrowed.withUnsafeMutableBytes {
                    Kernels.narrow(inputs, count: inputs.count, to: element, into: $0.baseAddress!)
                }
                for (value, bits) in zip(inputs, narrowed) {
                    let expected =
                        element == .f16 ? HalfPrecision.floatToFloat16(value) : HalfPrecision.floatToBFloat16(value)
                    #expect(bits == expected, "level \(level) \(element) \(value): \(bits) vs \(expected)")
                }
            }
        }
    }

    @Test(
        "weight products in f32, f16 and bf16 match a double-precision product for 1 to 33 rows",
        arguments: WeightElement.allCases)
    func multiply(element: WeightElement) {
        Self.atEveryLevel { level in multiply(element: element, level: level) }
    }

    private func multiply(element: WeightElement, level: Int) {
        var rng = SeededGenerator(seed: 17)
        let rows = 37, columns = 75
        let full = (0..<(rows * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
        // The weights as stored, and the exact float32 values they represent.
        var stored = [UInt8](repeating: 0, count: full.count * element.byteWidth)
        stored.withUnsafeMutableBytes { Kernels.narrow(full, count: full.count, to: element, into: $0.baseAddress!) }
        var exact = [Float](repeating: 0, count: full.count)
        stored.withUnsafeBytes { Kernels.widen(element, $0.baseAddress!, count: full.count, into: &exact) }
        var scratch = [Float](repeating: 0, count: Kernels.scratchFloats(count: 100, columns: columns))
        for n in [1, 2, 3, 4, 5, 8, 9, 33, 64, 100] {
            let x = (0..<(n * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
            var y = [Float](repeating: .nan, count: n * rows)
            stored.withUnsafeBytes { w in
                Kernels.multiply(
                    x, count: n, weights: w.baseAddress!, element: element, rows: rows, columns: columns, into: &y,
                    scratch: &scratch)
            }
            for i in 0..<n {
                for r in 0..<rows {
                    var expected = 0.0
                    for j in 0..<columns { expected += Double(x[i * columns + j]) * Double(exact[r * columns + j]) }
                    #expect(
                        abs(Double(y[i * rows + r]) - expected) <= 1e-5,
                        "level \(level) \(element) n \(n) row \(i) col \(r)")
                }
            }
        }
    }

    /// Products on the edges of the packed kernels' blocking (AVX-512: 12 weight rows × 32 inputs;
    /// AVX2: 6 × 16, k in blocks of 256, rows in blocks of 96, inputs in groups of 128), at every
    /// level, against a double-precision product of the exact stored weights. Tolerance: 1e-6 ×
    /// Σ_j |x_j·w_j| + 1e-6 (float32 sums of 529 terms in any order stay far inside it; an element
    /// from a wrong row, input or k block does not).
    @Test(
        "weight products on the blocking edges (103 × 529 weights, 1 to 150 inputs) match a double-precision product",
        arguments: WeightElement.allCases)
    func multiplyBlockEdges(element: WeightElement) {
        var rng = SeededGenerator(seed: 23)
        let rows = 103, columns = 529
        let full = (0..<(rows * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
        var stored = [UInt8](repeating: 0, count: full.count * element.byteWidth)
        stored.withUnsafeMutableBytes { Kernels.narrow(full, count: full.count, to: element, into: $0.baseAddress!) }
        var exact = [Float](repeating: 0, count: full.count)
        stored.withUnsafeBytes { Kernels.widen(element, $0.baseAddress!, count: full.count, into: &exact) }
        var scratch = [Float](repeating: 0, count: Kernels.scratchFloats(count: 150, columns: columns))
        for n in [1, 7, 9, 16, 17, 32, 47, 150] {
            let x = (0..<(n * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
            var expected = [Double](repeating: 0, count: n * rows), bound = expected
            for i in 0..<n {
                for r in 0..<rows {
                    var sum = 0.0, magnitude = 0.0
                    for j in 0..<columns {
                        let term = Double(x[i * columns + j]) * Double(exact[r * columns + j])
                        sum += term
                        magnitude += abs(term)
                    }
                    expected[i * rows + r] = sum
                    bound[i * rows + r] = 1e-6 * magnitude + 1e-6
                }
            }
            Self.atEveryLevel { level in
                var y = [Float](repeating: .nan, count: n * rows)
                stored.withUnsafeBytes { w in
                    Kernels.multiply(
                        x, count: n, weights: w.baseAddress!, element: element, rows: rows, columns: columns,
                        into: &y, scratch: &scratch)
                }
                let worst = (0..<(n * rows)).first { !(abs(Double(y[$0]) - expected[$0]) <= bound[$0]) }
                #expect(
                    worst == nil,
                    "level \(level) \(element) n \(n): element \(worst ?? -1) is \(worst.map { y[$0] } ?? 0), expected \(worst.map { expected[$0] } ?? 0)"
                )
            }
        }
    }

    @Test(
        "the packed product at the AVX2 and AVX-512 levels is, bit for bit, each output's fused sum in k order",
        arguments: [(45, 100, 333), (70, 203, 600), (33, 13, 1000)])
    func packedProductIsSequentialFusedSum(shape: (m: Int, n: Int, k: Int)) {
        // Blocking over rows, inputs and k reorders which outputs are computed when, never the order
        // in which one output's terms are added: results do not depend on the loop nest.
        let (m, n, k) = shape
        var rng = SeededGenerator(seed: UInt64(m * n + k))
        let x = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        let w = (0..<(n * k)).map { _ in Float.random(in: -1...1, using: &rng) }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for r in 0..<n {
                var sum: Float = 0
                for j in 0..<k { sum = sum.addingProduct(x[i * k + j], w[r * k + j]) }
                expected[i * n + r] = sum
            }
        }
        var packed = [Float](repeating: 0, count: Int(ck_packed_input_floats(m, k)))
        ck_pack_input(x, m, k, k, &packed)
        for level in [1, 2] where level <= Kernels.level {
            Kernels.withLevel(level) {
                var y = [Float](repeating: .nan, count: m * n)
                ck_gemm_packed(CK_F32, w, k, 0, n, packed, m, &y, n, nil)
                let wrong = (0..<(m * n)).first { y[$0].bitPattern != expected[$0].bitPattern }
                #expect(wrong == nil, "level \(level), \(shape): output \(wrong ?? -1)")
            }
        }
    }

    @Test("packing puts every input row k-major in blocks of 32, zero-padded, at every level and row stride")
    func packingLayout() {
        for (m, k, stride) in [(1, 1, 1), (7, 13, 20), (32, 8, 8), (45, 64, 70), (96, 257, 257), (100, 3, 9)] {
            let x = (0..<(m * stride)).map { Float($0) + 0.25 }
            let blocks = (m + 31) / 32
            Self.atEveryLevel { level in
                var packed = [Float](repeating: .nan, count: Int(ck_packed_input_floats(m, k)))
                ck_pack_input(x, m, k, stride, &packed)
                #expect(packed.count == blocks * 32 * k)
                let wrong = (0..<(blocks * 32 * k)).first { index in
                    let block = index / (32 * k), j = (index % (32 * k)) / 32, row = block * 32 + index % 32
                    return packed[index] != (row < m ? x[row * stride + j] : 0)
                }
                #expect(wrong == nil, "level \(level), m \(m), k \(k), stride \(stride): packed element \(wrong ?? -1)")
            }
        }
    }

    /// `ck_gemm_packed` on a row range that starts inside a tile and spans several AVX2 row blocks
    /// (96 rows) and k blocks (256), for 16 inputs (one unblocked pass) and 150 (two input groups),
    /// at every level: each result within 1e-6 × Σ_j |x_j·w_j| + 1e-6 of a double-precision product,
    /// and nothing outside the range written.
    @Test(
        "the packed product over rows 5..<203 of 210 matches a double-precision product",
        arguments: WeightElement.allCases)
    func packedRowRange(element: WeightElement) {
        var rng = SeededGenerator(seed: 31)
        let rows = 210, columns = 529, range = 5..<203
        let full = (0..<(rows * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
        var stored = [UInt8](repeating: 0, count: full.count * element.byteWidth)
        stored.withUnsafeMutableBytes { Kernels.narrow(full, count: full.count, to: element, into: $0.baseAddress!) }
        var exact = [Float](repeating: 0, count: full.count)
        stored.withUnsafeBytes { Kernels.widen(element, $0.baseAddress!, count: full.count, into: &exact) }
        var widened = [Float](repeating: 0, count: Int(ck_packed_widened_floats(columns)))
        for n in [16, 150] {
            let x = (0..<(n * columns)).map { _ in Float.random(in: -1...1, using: &rng) }
            var packed = [Float](repeating: .nan, count: Int(ck_packed_input_floats(n, columns)))
            ck_pack_input(x, n, columns, columns, &packed)
            var expected = [Double](repeating: 0, count: n * rows), bound = expected
            for i in 0..<n {
                for r in range {
                    var sum = 0.0, magnitude = 0.0
                    for j in 0..<columns {
                        let term = Double(x[i * columns + j]) * Double(exact[r * columns + j])
                        sum += term
                        magnitude += abs(term)
                    }
                    expected[i * rows + r] = sum
                    bound[i * rows + r] = 1e-6 * magnitude + 1e-6
                }
            }
            Self.atEveryLevel { level in
                var y = [Float](repeating: .nan, count: n * rows)
                stored.withUnsafeBytes { w in
                    ck_gemm_packed(
                        element.kernelTypeForTests, w.baseAddress!, columns, range.lowerBound, range.upperBound, packed,
                        n, &y, rows, &widened)
                }
                let wrong = (0..<(n * rows)).first {
                    range.contains($0 % rows) ? !(abs(Double(y[$0]) - expected[$0]) <= bound[$0]) : !y[$0].isNaN
                }
                #expect(
                    wrong == nil,
                    "level \(level) \(element) n \(n): element \(wrong ?? -1) (row \((wrong ?? 0) % rows)) is \(wrong.map { y[$0] } ?? 0), expected \(wrong.map { expected[$0] } ?? 0)"
                )
            }
        }
    }

    @Test(
        "each level picks its product kernel: AVX-512 or AVX2 packed, BLAS beyond the AVX2 crossover and without vectors"
    )
    func productKernelChoice() {
        #expect(Kernels.productKernel(count: 8) == "rows")
        guard !Kernels.forcesBLAS else { return }
        Self.atEveryLevel { level in
            switch Kernels.level {
            case 2:
                #expect(Kernels.productKernel(count: 9) == "packed AVX-512")
                #expect(Kernels.productKernel(count: 4096) == "packed AVX-512")
            case 1:
                #expect(Kernels.productKernel(count: 9) == "packed AVX2")
                #expect(Kernels.productKernel(count: Kernels.avx2BLASCrossover - 1) == "packed AVX2")
                #expect(Kernels.productKernel(count: Kernels.avx2BLASCrossover) == "BLAS")
            default:
                #expect(Kernels.productKernel(count: 9) == "BLAS")
            }
            #expect(Kernels.level <= level, "asked for \(level), got \(Kernels.level)")
        }
    }

    @Test("a level limit holds on the calling thread and its parallel pieces, not on other threads")
    func levelLimitIsScoped() throws {
        let top = Kernels.level
        let levels = Mutex([Int]())
        let elsewhere = Mutex([Int]())
        let other = Thread {
            for _ in 0..<200 { elsewhere.withLock { $0.append(Kernels.level) } }
        }
        Kernels.withLevel(0) {
            other.start()
            for _ in 0..<20 {
                Parallel.forEach(count: 64, grain: 1) { _ in
                    let level = Kernels.level
                    levels.withLock { $0.append(level) }
                }
            }
        }
        while !other.isFinished { Thread.sleep(forTimeInterval: 0.001) }
        #expect(levels.withLock { $0.count } > 0)
        #expect(levels.withLock { $0.allSatisfy { $0 == 0 } }, "every piece ran portable")
        #expect(elsewhere.withLock { $0 } == [Int](repeating: top, count: 200), "another thread kept level \(top)")
        #expect(Kernels.level == top, "the limit ends with withLevel")
        // Nested limits restore the outer one.
        Kernels.withLevel(1) {
            Kernels.withLevel(0) { #expect(Kernels.level == 0) }
            #expect(Kernels.level == min(1, top))
        }
    }

    @Test("parallel pieces cover every index once, aligned, for many sizes")
    func parallelCoverage() {
        for count in [1, 2, 7, 64, 65, 1000, 4097] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            Parallel.forEach(count: count, grain: 4, alignment: 2) { range in
                #expect(range.lowerBound % 2 == 0)
                for i in range { hits[i] += 1 }
            }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count)")
        }
    }

    /// Runs `regions` parallel regions of varied sizes; true when each index was hit exactly once.
    static func regions(_ regions: Int, nested: Bool, pauseEvery: Int) -> Bool {
        var ok = true
        for region in 0..<regions {
            let count = 1 + (region * 37) % 300
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            Parallel.forEach(count: count, grain: 8) { range in
                if nested {
                    // A region inside a region: the pool is busy, so this one goes through GCD.
                    Parallel.forEach(count: range.count, grain: 2) { inner in
                        for i in inner { hits[range.lowerBound + i] += 1 }
                    }
                } else {
                    for i in range { hits[i] += 1 }
                }
            }
            ok = ok && (0..<count).allSatisfy { hits[$0] == 1 }
            // Long enough for idle workers to stop spinning and sleep.
            if pauseEvery > 0, region % pauseEvery == 0 { usleep(3000) }
        }
        return ok
    }

    @Test("the worker pool runs every piece once across many regions, idle gaps, nesting and concurrent callers")
    func poolUnderLoad() {
        #expect(Self.regions(5000, nested: false, pauseEvery: 0))
        #expect(Self.regions(40, nested: false, pauseEvery: 1))
        #expect(Self.regions(500, nested: true, pauseEvery: 50))
        let results = Mutex([Bool](repeating: false, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            let ok = Self.regions(1000, nested: caller == 0, pauseEvery: 97)
            results.withLock { $0[caller] = ok }
        }
        #expect(results.withLock { $0 } == [true, true, true, true])
    }
}

extension WeightElement {
    /// The C kernels' element type.
    var kernelTypeForTests: ck_weight_type {
        switch self {
        case .f32: CK_F32
        case .f16: CK_F16
        case .bf16: CK_BF16
        }
    }
}
