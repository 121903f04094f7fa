/// A dense row-major matrix of `Float`, the value type exchanged between the core protocols.
///
/// `values[r * columns + c]` is element `(r, c)`. Copy-on-write through the underlying array.
public struct Matrix: Sendable, Equatable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// Row-major elements, `rows * columns` of them.
    public var values: [Float]

    /// A matrix of `rows × columns` filled with `value`.
    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = [Float](repeating: value, count: rows * columns)
    }

    /// Wraps `values` (row-major) as a `rows × columns` matrix.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(
            rows >= 0 && columns >= 0 && values.count == rows * columns,
            "Matrix(\(rows)×\(columns)) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Stacks equal-length rows.
    public init(stacking rowArrays: [[Float]], columns: Int? = nil) {
        let width = columns ?? rowArrays.first?.count ?? 0
        var flat = [Float]()
        flat.reserveCapacity(rowArrays.count * width)
        for (index, row) in rowArrays.enumerated() {
            precondition(row.count == width, "row \(index) has \(row.count) values, expected \(width)")
            flat.append(contentsOf: row)
        }
        self.init(rows: rowArrays.count, columns: width, values: flat)
    }

    /// `[rows, columns]`.
    public var shape: [Int] { [rows, columns] }

    /// Element `(row, column)`.
    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// A copy of row `index`.
    public func row(_ index: Int) -> [Float] {
        precondition(index >= 0 && index < rows, "row \(index) out of range 0..<\(rows)")
        return Array(values[index * columns..<(index + 1) * columns])
    }

    /// Replaces row `index` with `newValues`.
    public mutating func setRow(_ index: Int, to newValues: [Float]) {
        precondition(newValues.count == columns, "setRow: expected \(columns) values, got \(newValues.count)")
        values.replaceSubrange(index * columns..<(index + 1) * columns, with: newValues)
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) out of 0..<\(rows)")
        return Matrix(
            rows: range.count, columns: columns,
            values: Array(values[range.lowerBound * columns..<range.upperBound * columns]))
    }

    /// The transpose.
    public func transposed() -> Matrix {
        var out = Matrix(rows: columns, columns: rows)
        for r in 0..<rows {
            for c in 0..<columns { out.values[c * rows + r] = values[r * columns + c] }
        }
        return out
    }

    /// Throws ``SteeringError/nonFinite(what:index:)`` if any element is NaN or infinite.
    public func checkFinite(_ what: String) throws(SteeringError) {
        try Vector.checkFinite(values, what)
    }
}

/// Small helpers on plain `[Float]` vectors (no BLAS; used for short vectors).
public enum Vector {
    /// Euclidean norm, accumulated in Double.
    public static func norm(_ v: [Float]) -> Float {
        var sum = 0.0
        for x in v { sum += Double(x) * Double(x) }
        return Float(sum.squareRoot())
    }

    /// `v / ‖v‖`; the zero vector is returned unchanged.
    public static func normalized(_ v: [Float]) -> [Float] {
        let n = norm(v)
        guard n > 0 else { return v }
        return v.map { $0 / n }
    }

    /// Dot product accumulated in Double.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "dot: lengths \(a.count) and \(b.count) differ")
        var sum = 0.0
        for i in 0..<a.count { sum += Double(a[i]) * Double(b[i]) }
        return Float(sum)
    }

    /// Cosine similarity; 0 when either vector is zero.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let d = norm(a) * norm(b)
        return d > 0 ? dot(a, b) / d : 0
    }

    /// Throws ``SteeringError/nonFinite(what:index:)`` at the first NaN or infinity.
    public static func checkFinite(_ v: [Float], _ what: String) throws(SteeringError) {
        if let index = v.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(what: what, index: index) }
    }
}
