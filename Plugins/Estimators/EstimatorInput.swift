import SteeringCore

/// Checks and conversions shared by the estimators: row lists, batch shapes, finiteness and the
/// unit-length normalisation of inputs (x̂ = x/‖x‖, method.md §4).
enum EstimatorInput {
    /// Validates the rows an estimator was asked to fit on.
    ///
    /// - Throws: ``SteeringError`` when there are fewer than `minimum` rows, a row is out of range or
    ///   repeated, or the data source reports a non-positive width.
    static func validate(
        rows: [Int], of data: any EffectDataSource, estimator: String, minimum: Int
    ) throws(SteeringError) {
        guard data.inputWidth > 0, data.outputWidth > 0 else {
            throw .invalidArgument(
                what: "effect dataset",
                problem: "its widths must be positive, got inputs \(data.inputWidth) and effects \(data.outputWidth)")
        }
        guard rows.count >= minimum else {
            throw .invalidArgument(
                what: "training rows for '\(estimator)'",
                problem: "it needs at least \(minimum) rows, got \(rows.count); add data or shrink the validation split"
            )
        }
        var seen = Set<Int>()
        seen.reserveCapacity(rows.count)
        for row in rows {
            guard row >= 0, row < data.count else {
                throw .indexOutOfRange(what: "effect dataset row", index: row, validRange: 0..<data.count)
            }
            guard seen.insert(row).inserted else {
                throw .invalidArgument(
                    what: "training rows for '\(estimator)'", problem: "row \(row) is listed twice; pass each row once")
            }
        }
    }

    /// Reads `rows` (any order, no repeats) and returns them in that order, with the inputs normalised
    /// to unit length. Checks the widths the data source returned and that every value is finite.
    ///
    /// - Throws: ``SteeringError`` naming the dataset row for a non-finite value, a zero input vector
    ///   or a width that disagrees with the data source's declared widths; errors of the data source.
    static func readNormalized(_ data: any EffectDataSource, rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        let ascending = rows.indices.sorted { rows[$0] < rows[$1] }
        let sortedRows = ascending.map { rows[$0] }
        let (rawInputs, rawEffects) = try data.read(rows: sortedRows)
        try checkShapes(inputs: rawInputs, effects: rawEffects, rows: sortedRows, data: data)
        var isSorted = true
        for (position, index) in ascending.enumerated() where position != index {
            isSorted = false
            break
        }
        var inputs: Matrix
        var effects: Matrix
        if isSorted {
            inputs = rawInputs
            effects = rawEffects
        } else {
            inputs = Matrix(rows: rows.count, columns: rawInputs.columns)
            effects = Matrix(rows: rows.count, columns: rawEffects.columns)
            let d = rawInputs.columns, s = rawEffects.columns
            for (position, index) in ascending.enumerated() {
                inputs.values.replaceSubrange(
                    index * d..<(index + 1) * d, with: rawInputs.values[position * d..<(position + 1) * d])
                effects.values.replaceSubrange(
                    index * s..<(index + 1) * s, with: rawEffects.values[position * s..<(position + 1) * s])
            }
        }
        try checkFinite(inputs, rows: rows, what: "input vector")
        try checkFinite(effects, rows: rows, what: "effect vector")
        try normalizeRows(&inputs, rows: rows)
        return (inputs, effects)
    }

    /// Throws unless the matrices have `rows.count` rows and the data source's widths.
    static func checkShapes(
        inputs: Matrix, effects: Matrix, rows: [Int], data: any EffectDataSource
    ) throws(SteeringError) {
        guard inputs.rows == rows.count, inputs.columns == data.inputWidth else {
            throw .shapeMismatch(
                what: "inputs read from the effect dataset", expected: "[\(rows.count), \(data.inputWidth)]",
                got: "\(inputs.shape)")
        }
        guard effects.rows == rows.count, effects.columns == data.outputWidth else {
            throw .shapeMismatch(
                what: "effects read from the effect dataset", expected: "[\(rows.count), \(data.outputWidth)]",
                got: "\(effects.shape)")
        }
    }

    /// Throws ``SteeringError/nonFinite(what:index:)`` naming the dataset row; the index is the position
    /// inside that row's vector.
    static func checkFinite(_ matrix: Matrix, rows: [Int], what: String) throws(SteeringError) {
        let columns = matrix.columns
        let bad: Int? = matrix.values.withUnsafeBufferPointer { p in
            // An integer OR over "exponent all ones" vectorises; the position is searched only on failure.
            var flag: UInt32 = 0
            for value in p { flag |= (value.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0 }
            return flag == 0 ? nil : p.firstIndex { !$0.isFinite }
        }
        if let bad {
            throw .nonFinite(what: "the \(what) of dataset row \(rows[bad / columns])", index: bad % columns)
        }
    }

    /// Divides every row by its Euclidean norm (accumulated in Double).
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` for a zero row, naming its dataset row.
    static func normalizeRows(_ matrix: inout Matrix, rows: [Int]) throws(SteeringError) {
        let columns = matrix.columns
        var zeroRow: Int?
        matrix.values.withUnsafeMutableBufferPointer { p in
            for r in 0..<matrix.rows {
                let base = r * columns
                var sum = 0.0
                for c in 0..<columns { sum += Double(p[base + c]) * Double(p[base + c]) }
                guard sum > 0 else {
                    zeroRow = r
                    return
                }
                let norm = Float(sum.squareRoot())
                for c in 0..<columns { p[base + c] /= norm }
            }
        }
        if let zeroRow {
            throw .invalidArgument(
                what: "input vector of dataset row \(rows[zeroRow])",
                problem: "it is all zeros, so it has no direction to normalise; remove the row")
        }
    }
}
