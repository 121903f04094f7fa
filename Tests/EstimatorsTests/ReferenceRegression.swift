import Foundation
import SteeringCore

/// An independent Double-precision ridge/OLS solver for the tests: it builds the centred normal equations
/// row by row and solves them by Gaussian elimination with partial pivoting (no BLAS, no Cholesky).
enum ReferenceRegression {
    /// Unit-length rows.
    static func normalised(_ inputs: Matrix) -> [[Double]] {
        (0..<inputs.rows).map { r in
            let row = inputs.row(r).map(Double.init)
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
    }

    /// Ridge with an unpenalised bias on rows `rows`: returns `W` `[d][s]` and `b`.
    static func ridge(inputs: Matrix, effects: Matrix, rows: [Int], lambda: Double) -> (w: [[Double]], b: [Double]) {
        let x = normalised(inputs)
        let d = inputs.columns, s = effects.columns, n = Double(rows.count)
        var mx = [Double](repeating: 0, count: d), my = [Double](repeating: 0, count: s)
        for r in rows {
            for c in 0..<d { mx[c] += x[r][c] / n }
            for j in 0..<s { my[j] += Double(effects[r, j]) / n }
        }
        var a = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        var rhs = [[Double]](repeating: [Double](repeating: 0, count: s), count: d)
        for r in rows {
            for i in 0..<d {
                let xi = x[r][i] - mx[i]
                for k in 0..<d { a[i][k] += xi * (x[r][k] - mx[k]) }
                for j in 0..<s { rhs[i][j] += xi * (Double(effects[r, j]) - my[j]) }
            }
        }
        for i in 0..<d { a[i][i] += lambda }
        let w = solve(a, rhs)
        let b = (0..<s).map { j in my[j] - (0..<d).reduce(0) { $0 + mx[$1] * w[$1][j] } }
        return (w, b)
    }

    /// Mean squared error of `(w, b)` on `rows`.
    static func meanSquaredError(
        inputs: Matrix, effects: Matrix, rows: [Int], w: [[Double]], b: [Double]
    ) -> (sse: Double, count: Int) {
        let x = normalised(inputs)
        var sse = 0.0
        for r in rows {
            for j in 0..<effects.columns {
                var prediction = b[j]
                for c in 0..<inputs.columns { prediction += x[r][c] * w[c][j] }
                let e = prediction - Double(effects[r, j])
                sse += e * e
            }
        }
        return (sse, rows.count * effects.columns)
    }

    /// Solves `A·X = B` by Gaussian elimination with partial pivoting.
    static func solve(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        var a = a, b = b
        let n = a.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            b.swapAt(col, pivot)
            for row in (col + 1)..<n where a[row][col] != 0 {
                let f = a[row][col] / a[col][col]
                for k in col..<n { a[row][k] -= f * a[col][k] }
                for k in 0..<b[row].count { b[row][k] -= f * b[col][k] }
            }
        }
        var x = b
        for row in stride(from: n - 1, through: 0, by: -1) {
            for k in 0..<b[row].count {
                var sum = b[row][k]
                for c in (row + 1)..<n { sum -= a[row][c] * x[c][k] }
                x[row][k] = sum / a[row][row]
            }
        }
        return x
    }

    static func flat(_ w: [[Double]]) -> [Float] { w.flatMap { $0.map(Float.init) } }
}
