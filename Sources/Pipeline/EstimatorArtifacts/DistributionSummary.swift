/// Mean, extremes and quartiles of a set of numbers (quartiles by linear interpolation, as NumPy's
/// default `np.quantile`).
public struct DistributionSummary: Sendable, Codable, Equatable {
    /// Arithmetic mean.
    public var mean: Double
    /// Smallest value.
    public var min: Double
    /// 25th percentile.
    public var lowerQuartile: Double
    /// 50th percentile.
    public var median: Double
    /// 75th percentile.
    public var upperQuartile: Double
    /// Largest value.
    public var max: Double

    /// Summarises `values`; `nil` when there are none.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func quantile(_ q: Double) -> Double {
            let position = q * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = Swift.min(low + 1, sorted.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        mean = values.reduce(0, +) / Double(values.count)
        min = sorted[0]
        lowerQuartile = quantile(0.25)
        median = quantile(0.5)
        upperQuartile = quantile(0.75)
        max = sorted[sorted.count - 1]
    }
}
