import Foundation
import SteeringNumerics

/// Next-token cross-entropies of many logit rows at once: `logsumexp(row) − row[target]`, with the
/// exponentials in float32 (a vectorised `exp`, relative error below 2e-7) and every sum in double.
/// Rows run in parallel.
public enum CrossEntropy {
    /// The cross-entropy of each of `count` rows of `width` logits at `logits` against `targets`.
    public static func rows(_ logits: UnsafePointer<Float>, count: Int, width: Int, targets: [Int]) -> [Double] {
        precondition(targets.count == count, "\(targets.count) targets for \(count) rows")
        var out = [Double](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(count: count, grain: 1) { range in
                for r in range {
                    let row = logits + r * width
                    out[r] = logSumExp(row, count: width) - Double(row[targets[r]])
                }
            }
        }
        return out
    }

    /// `log Σ exp(x)` of `count` floats, shifted by their maximum.
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Double {
        // Four lanes: SIMD4<Float> is one SSE register on the baseline x86-64 target, so every
        // operation below compiles to vector instructions (wider types fall back to lane loops).
        typealias V = SIMD4<Float>
        let whole = count / 4 * 4
        var peak = -Float.infinity
        var i = 0
        if whole > 0 {
            var m = V(repeating: -.infinity)
            while i < whole {
                m = pointwiseMax(m, UnsafeRawPointer(x + i).loadUnaligned(as: V.self))
                i += 4
            }
            peak = Swift.max(Swift.max(m[0], m[1]), Swift.max(m[2], m[3]))
        }
        while i < count {
            peak = Swift.max(peak, x[i])
            i += 1
        }
        guard peak.isFinite else { return Double(peak) }
        var total = 0.0
        i = 0
        let shift = V(repeating: peak)
        // Float partial sums over at most 1,024 values, then into the double total.
        while i < whole {
            let end = Swift.min(whole, i + 1024)
            var partial = V()
            while i < end {
                partial += exp(UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - shift)
                i += 4
            }
            total += Double(partial[0]) + Double(partial[1]) + Double(partial[2]) + Double(partial[3])
        }
        while i < count {
            total += Foundation.exp(Double(x[i] - peak))
            i += 1
        }
        return Foundation.log(total) + Double(peak)
    }

    /// `exp` of four non-positive floats (Cephes' `expf`: Cody–Waite reduction by ln 2, degree-6
    /// polynomial; relative error below 2e-7). Inputs below −87.3 give about 2⁻¹²⁶ instead of their
    /// smaller true value, which no sum that holds exp(0) = 1 can notice.
    @inline(__always)
    static func exp(_ input: SIMD4<Float>) -> SIMD4<Float> {
        typealias V = SIMD4<Float>
        let x = pointwiseMax(input, V(repeating: -87.33654))
        // n = round(x / ln 2) with the 1.5·2²³ trick: t's low mantissa bits hold n.
        let magic = V(repeating: 12_582_912)
        let t = x * V(repeating: 1.442_695_04) + magic
        let n = t - magic
        var r = x - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_59e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        p = p * r * r + r + V(repeating: 1)
        // 2ⁿ from n's bits: (n + 127) << 23.
        let bits = unsafeBitCast(t, to: SIMD4<Int32>.self) &- unsafeBitCast(magic, to: SIMD4<Int32>.self)
        return p * unsafeBitCast((bits &+ 127) &<< 23, to: V.self)
    }
}
