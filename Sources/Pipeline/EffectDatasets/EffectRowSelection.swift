import SteeringCore

/// Checks shared by the data sources' `read(rows:)`: rows ascending and in range.
enum EffectRowSelection {
    /// Throws unless `rows` is non-decreasing and every row is in `0..<count`.
    static func validate(_ rows: [Int], count: Int, source: String) throws(SteeringError) {
        var previous = -1
        for row in rows {
            guard row >= 0, row < count else {
                throw .indexOutOfRange(what: "row of \(source)", index: row, validRange: 0..<count)
            }
            guard row >= previous else {
                throw .invalidArgument(
                    what: "rows requested from \(source)", problem: "they must be ascending; \(row) follows \(previous)"
                )
            }
            previous = row
        }
    }
}
