import SteeringNumerics
import SteeringCore

/// Solves a ``RidgeSystem`` for one λ in double precision by Cholesky factorisation.
enum RidgeSolver {
    /// Right-hand sides solved per factorisation; bounds the Double work buffers to about
    /// `d × columnBlock × 8` bytes each.
    static let columnBlock = 2048

    /// `W = (Gc + λI)⁻¹·Bc` as Double, row-major `d × columns.count`.
    static func solveBlock(_ system: RidgeSystem, lambda: Double, columns: Range<Int>) throws(SteeringError)
        -> [Double]
    {
        let d = system.inputWidth
        var rhs = [Double](repeating: 0, count: d * columns.count)
        rhs.withUnsafeMutableBufferPointer { b in system.centredCross(columns: columns) { b[$0] = $1 } }
        do {
            return try LinearSolve.choleskySolve(
                system.regularisedGram(lambda), n: d, rhs, rightHandSides: columns.count)
        } catch {
            throw .invalidArgument(
                what: "ridge λ = \(lambda)",
                problem:
                    "\(error) The centred Gram matrix of the \(system.count) training inputs is singular at this λ "
                    + "(for example fewer rows than input dimensions with λ = 0); use a positive λ.")
        }
    }

    /// The fitted model `ŷ = x̂·W + b` with `b = μy − μx·W`.
    static func solve(_ system: RidgeSystem, lambda: Double) throws(SteeringError) -> LinearEffectModel {
        let d = system.inputWidth, s = system.outputWidth
        var weight = Matrix(rows: d, columns: s)
        var bias = [Float](repeating: 0, count: s)
        var start = 0
        while start < s {
            let end = min(s, start + columnBlock)
            let block = try solveBlock(system, lambda: lambda, columns: start..<end)
            let width = end - start
            for j in 0..<width {
                var offset = 0.0
                for i in 0..<d { offset += system.inputMean[i] * block[i * width + j] }
                bias[start + j] = Float(system.effectMean[start + j] - offset)
            }
            weight.values.withUnsafeMutableBufferPointer { w in
                for i in 0..<d {
                    for j in 0..<width { w[i * s + start + j] = Float(block[i * width + j]) }
                }
            }
            start = end
        }
        return LinearEffectModel(weight: weight, bias: bias)
    }
}
