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
        typealias V = SIMD16<Float>
        let lanes = V.scalarCount
        let whole = count / lanes * lanes
        var peak = -Float.infinity
        var i = 0
        if whole > 0 {
            var m = V(repeating: -.infinity)
            while i < whole {
                m = pointwiseMax(m, UnsafeRawPointer(x + i).loadUnaligned(as: V.self))
                i += lanes
            }
            peak = m.max()
        }
        while i < count {
            peak = Swift.max(peak, x[i])
            i += 1
        }
        guard peak.isFinite else { return Double(peak) }
        var total = 0.0
        i = 0
        let shift = V(repeating: peak)
        // Float partial sums over at most 1,024 values (64 vectors), then into the double total.
        while i < whole {
            let end = Swift.min(whole, i + 1024)
            var partial = V()
            while i < end {
                partial += exp(UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - shift)
                i += lanes
            }
            total += Double(partial.sum())
        }
        while i < count {
            total += Foundation.exp(Double(x[i] - peak))
            i += 1
        }
        return Foundation.log(total) + Double(peak)
    }

    /// `exp` of 16 floats (Cephes' `expf`: Cody–Waite reduction by ln 2, degree-6 polynomial); inputs
    /// below −87.3 give 0 and above 88.7 give +∞.
    @inline(__always)
    static func exp(_ input: SIMD16<Float>) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        let x = input.clamped(lowerBound: V(repeating: -87.33654), upperBound: V(repeating: 88.72283))
        // n = round(x / ln 2) with the 1.5·2²³ trick: its low mantissa bits hold n.
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
        // 2ⁿ from n's bits: (n + 127) << 23, with n taken from t's mantissa.
        let bits = unsafeBitCast(t, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
        let exponent = (bits &+ 127) &<< 23
        var result = p * unsafeBitCast(exponent, to: V.self)
        // Below the clamp the true value is under 2⁻¹²⁶: flush to 0 (2ⁿ would wrap).
        result.replace(with: 0, where: input .< V(repeating: -87.33654))
        return result
    }
}
