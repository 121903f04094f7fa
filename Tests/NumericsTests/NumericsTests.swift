import SteeringCore
import SteeringNumerics
import SteeringTestSupport
import Testing

@Suite("BLAS matrix products")
struct BLASTests {
    @Test("gemm matches a hand-computed product, with and without transposes")
    func gemmKnownValues() {
        let a = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
        let b = Matrix(rows: 3, columns: 2, values: [7, 8, 9, 10, 11, 12])
        #expect(a.matmul(b).values == [58, 64, 139, 154])
        #expect(b.matmul(a, transposeSelf: true, transposeOther: true).values == [58, 139, 64, 154])
        #expect(a.matmul(a, transposeOther: true).values == [14, 32, 32, 77])
    }

    @Test("an OpenBLAS kernel family below the CPU's level gets the OPENBLAS_CORETYPE to set; others none")
    func suggestedCoreType() {
        #expect(suggestedBLASCoreType(core: "Prescott", cpuHasAVX2: true, cpuHasAVX512: true) == "SkylakeX")
        #expect(suggestedBLASCoreType(core: "Sandybridge", cpuHasAVX2: true, cpuHasAVX512: false) == "Haswell")
        #expect(suggestedBLASCoreType(core: "Prescott", cpuHasAVX2: false, cpuHasAVX512: false) == nil)
        #expect(suggestedBLASCoreType(core: "Haswell", cpuHasAVX2: true, cpuHasAVX512: true) == nil)
        #expect(suggestedBLASCoreType(core: "Zen", cpuHasAVX2: true, cpuHasAVX512: false) == nil)
        #expect(suggestedBLASCoreType(core: "SkylakeX", cpuHasAVX2: true, cpuHasAVX512: true) == nil)
        #expect(!blasCoreName.isEmpty)
    }

    @Test(
        "gemm agrees with a naive double-precision product on random shapes",
        arguments: [(1, 1, 1), (5, 7, 3), (33, 17, 65)])
    func gemmRandom(shape: (Int, Int, Int)) {
        var rng = SeededGenerator(seed: 42)
        let a = rng.matrix(rows: shape.0, columns: shape.1)
        let b = rng.matrix(rows: shape.1, columns: shape.2)
        let c = a.matmul(b)
        var naive = [Float]()
        for i in 0..<shape.0 {
            for j in 0..<shape.2 {
                var sum = 0.0
                for k in 0..<shape.1 { sum += Double(a[i, k]) * Double(b[k, j]) }
                naive.append(Float(sum))
            }
        }
        #expect(maxAbsDifference(c.values, naive) < 1e-4)
    }

    @Test("gemv and addProduct")
    func gemvAndAccumulate() {
        let a = Matrix(rows: 2, columns: 3, values: [1, 2, 3, 4, 5, 6])
        #expect(a.multiply([1, 0, -1]) == [-2, -2])
        #expect(a.multiply([1, 1], transpose: true) == [5, 7, 9])
        var c = Matrix(rows: 2, columns: 2, repeating: 1)
        c.addProduct(a, a, transposeB: true, alpha: 2, beta: 1)
        #expect(c.values == [29, 65, 65, 155])
    }
}

@Suite("Half precision")
struct HalfPrecisionTests {
    @Test("bf16 known bit patterns")
    func bfloat16() {
        #expect(HalfPrecision.bfloat16ToFloat(0x3F80) == 1)
        #expect(HalfPrecision.bfloat16ToFloat(0xC000) == -2)
        #expect(HalfPrecision.floatToBFloat16(1) == 0x3F80)
        // 1 + 2^-8 is exactly halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even → 1.
        #expect(HalfPrecision.floatToBFloat16(1 + 0x1p-8) == 0x3F80)
        #expect(HalfPrecision.floatToBFloat16(1 + 0x1p-8 + 0x1p-16) == 0x3F81)
        #expect(HalfPrecision.bfloat16ToFloat(HalfPrecision.floatToBFloat16(.nan)).isNaN)
    }

    @Test("f16 known bit patterns, subnormals, infinities")
    func float16() {
        #expect(HalfPrecision.float16ToFloat(0x3C00) == 1)
        #expect(HalfPrecision.float16ToFloat(0xC000) == -2)
        #expect(HalfPrecision.float16ToFloat(0x7BFF) == 65504)
        #expect(HalfPrecision.float16ToFloat(0x0001) == 0x1p-24)
        #expect(HalfPrecision.float16ToFloat(0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.float16ToFloat(0x7C00) == .infinity)
        #expect(HalfPrecision.float16ToFloat(0xFC00) == -.infinity)
        #expect(HalfPrecision.float16ToFloat(0x7E00).isNaN)
        #expect(HalfPrecision.floatToFloat16(65504) == 0x7BFF)
        #expect(HalfPrecision.floatToFloat16(1e6) == 0x7C00)
        #expect(HalfPrecision.floatToFloat16(0x1p-24) == 0x0001)
        #expect(HalfPrecision.floatToFloat16(-0.0) == 0x8000)
    }

    @Test("every f16 bit pattern survives f16 → f32 → f16")
    func float16RoundTrip() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float16ToFloat(bits)
            if value.isNaN { continue }
            #expect(HalfPrecision.floatToFloat16(value) == bits, "bits \(bits)")
        }
    }
}

@Suite("Dense solvers")
struct LinearSolveTests {
    @Test("Cholesky solve of a known SPD system")
    func choleskyKnown() throws {
        // A = [[4, 2], [2, 3]], x = [1, -1] → b = [2, -1].
        let x = try LinearSolve.choleskySolve([4, 2, 2, 3], n: 2, [2, -1], rightHandSides: 1)
        #expect(abs(x[0] - 1) < 1e-12 && abs(x[1] + 1) < 1e-12)
    }

    @Test("Cholesky with several right-hand sides recovers X from A·X on random SPD matrices")
    func choleskyRandom() throws {
        var rng = SeededGenerator(seed: 7)
        let n = 12, r = 5
        let g = rng.matrix(rows: n, columns: n)
        var a = g.matmul(g, transposeOther: true)
        for i in 0..<n { a[i, i] += Float(n) }
        let x = rng.matrix(rows: n, columns: r)
        let b = a.matmul(x)
        let solved = try LinearSolve.choleskySolve(a, b)
        #expect(maxAbsDifference(solved.values, x.values) < 1e-4)
    }

    @Test("Cholesky refuses an indefinite matrix with a clear error")
    func choleskyIndefinite() {
        #expect(throws: NumericsError.notPositiveDefinite(minor: 2)) {
            try LinearSolve.choleskySolve([1, 2, 2, 1], n: 2, [1, 1], rightHandSides: 1)
        }
    }

    @Test("SVD reconstructs the matrix and has orthonormal factors", arguments: [(6, 4), (4, 6), (5, 5)])
    func svdRandom(shape: (Int, Int)) throws {
        var rng = SeededGenerator(seed: 3)
        let a = rng.matrix(rows: shape.0, columns: shape.1)
        let (u, s, vt) = try LinearSolve.svd(a)
        var us = u
        for i in 0..<u.rows { for j in 0..<s.count { us[i, j] *= s[j] } }
        #expect(maxAbsDifference(us.matmul(vt).values, a.values) < 1e-4)
        let k = min(shape.0, shape.1)
        let identity = (0..<(k * k)).map { Float($0 / k == $0 % k ? 1 : 0) }
        #expect(maxAbsDifference(u.matmul(u, transposeSelf: true).values, identity) < 1e-5)
        #expect(maxAbsDifference(vt.matmul(vt, transposeOther: true).values, identity) < 1e-5)
        #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test("SVD of a known diagonal matrix")
    func svdKnown() throws {
        let a = Matrix(rows: 2, columns: 2, values: [0, 2, 3, 0])
        let (_, s, _) = try LinearSolve.svd(a)
        #expect(s == [3, 2])
    }

    @Test("pseudoinverse satisfies A·A⁺·A = A")
    func pseudoinverse() throws {
        var rng = SeededGenerator(seed: 11)
        let a = rng.matrix(rows: 4, columns: 9)
        let p = try LinearSolve.pseudoinverse(a)
        #expect(p.shape == [9, 4])
        #expect(maxAbsDifference(a.matmul(p).matmul(a).values, a.values) < 1e-4)
    }
}
