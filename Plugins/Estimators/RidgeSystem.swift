import SteeringCore

/// The centred ridge problem of a training set, built from ``RidgeStatistics`` of all rows minus those
/// of a held-out fold (or of all rows, without a fold).
///
/// With training means `μx`, `μy` and `n` training rows: `Gc = Σ x̂ᵀx̂ − n·μxμxᵀ`,
/// `Bc = Σ x̂ᵀy − n·μxμyᵀ`. The ridge solution is `W = (Gc + λI)⁻¹·Bc` and `b = μy − μx·W`, i.e. the
/// bias is unpenalised.
struct RidgeSystem {
    let inputWidth: Int
    let outputWidth: Int
    /// Training rows.
    let count: Int
    /// `μx`, `d` values.
    let inputMean: [Double]
    /// `μy`, `s` values.
    let effectMean: [Double]
    /// `Gc`, row-major `d × d`.
    let gram: [Double]
    private let total: RidgeStatistics
    private let excluded: RidgeStatistics?

    /// The training set `total − excluded`.
    init(total: RidgeStatistics, excluding excluded: RidgeStatistics? = nil) {
        let d = total.inputWidth, s = total.outputWidth, a = d + 1
        self.inputWidth = d
        self.outputWidth = s
        self.total = total
        self.excluded = excluded
        let n = total.count - (excluded?.count ?? 0)
        count = n
        var mx = [Double](repeating: 0, count: d)
        var my = [Double](repeating: 0, count: s)
        if n > 0 {
            for i in 0..<d { mx[i] = (total.gram[d * a + i] - (excluded?.gram[d * a + i] ?? 0)) / Double(n) }
            for j in 0..<s {
                my[j] = (total.cross[d * s + j] - (excluded?.cross[d * s + j] ?? 0)) / Double(n)
            }
        }
        inputMean = mx
        effectMean = my
        var g = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for k in 0..<d {
                let raw = total.gram[i * a + k] - (excluded?.gram[i * a + k] ?? 0)
                g[i * d + k] = raw - Double(n) * mx[i] * mx[k]
            }
        }
        gram = g
    }

    /// `Bc[i, j]` for the columns `columns`, written row-major `d × columns.count` through `store`.
    func centredCross(columns: Range<Int>, _ store: (_ index: Int, _ value: Double) -> Void) {
        let d = inputWidth, s = outputWidth, width = columns.count
        let n = Double(count)
        total.cross.withUnsafeBufferPointer { t in
            for i in 0..<d {
                let scaled = n * inputMean[i]
                for (offset, j) in columns.enumerated() {
                    let raw = t[i * s + j] - (excluded?.cross[i * s + j] ?? 0)
                    store(i * width + offset, raw - scaled * effectMean[j])
                }
            }
        }
    }

    /// The held-out terms of a fold under this system's means: `K = Σ x̃ᵀx̃` (`d × d`), the constant
    /// `Σ‖ỹ‖²`, and `H = Σ x̃ᵀỹ` delivered through `storeCross` (`d × s`), with `x̃ = x̂ − μx`, `ỹ = y − μy`.
    func heldOutTerms(
        _ fold: RidgeStatistics, storeCross: (_ index: Int, _ value: Double) -> Void
    ) -> (gram: [Double], effectEnergy: Double) {
        let d = inputWidth, s = outputWidth, a = d + 1
        let nf = Double(fold.count)
        let sx = Array(fold.inputSums), sy = Array(fold.effectSums)
        var k = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for c in 0..<d {
                k[i * d + c] =
                    fold.gram[i * a + c] - inputMean[i] * sx[c] - sx[i] * inputMean[c] + nf * inputMean[i]
                    * inputMean[c]
            }
        }
        fold.cross.withUnsafeBufferPointer { f in
            for i in 0..<d {
                let mxi = inputMean[i], sxi = sx[i]
                for j in 0..<s {
                    let value = f[i * s + j] - mxi * sy[j] - sxi * effectMean[j] + nf * mxi * effectMean[j]
                    storeCross(i * s + j, value)
                }
            }
        }
        var energy = 0.0
        for j in 0..<s {
            energy += fold.effectSquares[j] - 2 * effectMean[j] * sy[j] + nf * effectMean[j] * effectMean[j]
        }
        return (k, energy)
    }

    /// `Gc + λI`, row-major.
    func regularisedGram(_ lambda: Double) -> [Double] {
        var g = gram
        for i in 0..<inputWidth { g[i * inputWidth + i] += lambda }
        return g
    }
}
