import Dispatch
import Foundation

/// The per-step constants of PyTorch's Adam (`torch.optim.Adam`, single-tensor path, no weight decay,
/// no AMSGrad), computed in Double as Python does and rounded to Float where PyTorch rounds them.
struct AdamStepScalars {
    /// `1 − β₁`, the `lerp` weight of the first moment.
    let oneMinusBeta1: Float
    /// `β₂`.
    let beta2: Float
    /// `1 − β₂`, the `addcmul` value of the second moment.
    let oneMinusBeta2: Float
    /// `−lr / (1 − β₁ᵗ)`.
    let negativeStepSize: Float
    /// `√(1 − β₂ᵗ)`.
    let biasCorrection2Sqrt: Float
    /// `ε`.
    let epsilon: Float

    /// Constants for optimiser step `step` (1-based) at learning rate `learningRate`.
    init(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double, step: Int) {
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        oneMinusBeta1 = Float(1 - beta1)
        self.beta2 = Float(beta2)
        oneMinusBeta2 = Float(1 - beta2)
        negativeStepSize = Float(-(learningRate / biasCorrection1))
        biasCorrection2Sqrt = Float(biasCorrection2.squareRoot())
        self.epsilon = Float(epsilon)
    }
}

/// The element-wise Adam update in PyTorch's order of operations:
///
/// ```
/// m ← m + (1−β₁)·(g − m)                      (lerp_)
/// v ← β₂·v + (1−β₂)·g·g                       (mul_ then addcmul_)
/// p ← p + (−lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε) (addcdiv_)
/// ```
enum AdamKernel {
    /// Below this many elements the update runs on the calling thread.
    static let parallelThreshold = 1 << 16

    /// Updates `count` parameters in place, splitting large ranges across the machine's cores.
    static func update(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
        firstMoments: UnsafeMutablePointer<Float>, secondMoments: UnsafeMutablePointer<Float>, count: Int,
        scalars: AdamStepScalars, threads: Int
    ) {
        guard count >= parallelThreshold, threads > 1 else {
            updateRange(parameters, gradients, firstMoments, secondMoments, 0..<count, scalars)
            return
        }
        // Pointers are passed as bit patterns: each worker touches a disjoint range only.
        let p = Int(bitPattern: parameters), g = Int(bitPattern: gradients)
        let m = Int(bitPattern: firstMoments), v = Int(bitPattern: secondMoments)
        let share = (count + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            let start = worker * share, end = min(count, start + share)
            guard start < end else { return }
            updateRange(
                UnsafeMutablePointer(bitPattern: p)!, UnsafePointer(bitPattern: g)!,
                UnsafeMutablePointer(bitPattern: m)!, UnsafeMutablePointer(bitPattern: v)!, start..<end, scalars)
        }
    }

    @inline(__always)
    static func updateRange(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ s: AdamStepScalars
    ) {
        let w1 = s.oneMinusBeta1, b2 = s.beta2, w2 = s.oneMinusBeta2
        let step = s.negativeStepSize, correction = s.biasCorrection2Sqrt, eps = s.epsilon
        for i in range {
            let gradient = g[i]
            let first = m[i] + w1 * (gradient - m[i])
            let second = v[i] * b2 + w2 * gradient * gradient
            m[i] = first
            v[i] = second
            // v ≥ 0 always, so `magnitude` changes nothing; it lets LLVM use the vector square root instead of
            // a libm call that must set errno for negative inputs (3–4× faster, and the loop vectorises).
            let denominator = second.magnitude.squareRoot() / correction + eps
            p[i] += step * first / denominator
        }
    }
}
