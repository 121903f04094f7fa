import Foundation

/// Mean activation of every feature over any number of token positions, accumulated chunk by
/// chunk so `[tokens × features]` never exists for the whole set (sums are kept in double precision).
public struct StreamingFeatureMean: Sendable {
    /// Per-feature sums.
    public private(set) var sums: [Double]
    /// Number of positions accumulated.
    public private(set) var count: Int = 0
    /// Largest number of rows encoded at once.
    public let chunkRows: Int

    public init(featureCount: Int, chunkRows: Int = 256) {
        precondition(chunkRows > 0, "chunkRows must be positive")
        sums = [Double](repeating: 0, count: featureCount)
        self.chunkRows = chunkRows
    }

    /// Encodes `activations` through `dictionary` in chunks and adds every row's features.
    public mutating func add(_ activations: Matrix, through dictionary: any FeatureDictionary) throws {
        var start = 0
        while start < activations.rows {
            let end = min(start + chunkRows, activations.rows)
            let features = try dictionary.encode(activations.rows(start..<end))
            add(features: features)
            start = end
        }
    }

    /// Adds already-encoded feature rows.
    public mutating func add(features: Matrix) {
        precondition(features.columns == sums.count, "feature width \(features.columns) ≠ \(sums.count)")
        let width = sums.count
        features.values.withUnsafeBufferPointer { values in
            sums.withUnsafeMutableBufferPointer { sums in
                for r in 0..<features.rows {
                    let base = r * width
                    for j in 0..<width where values[base + j] != 0 { sums[j] += Double(values[base + j]) }
                }
            }
        }
        count += features.rows
    }

    /// Merges another accumulator (e.g. from another worker).
    public mutating func merge(_ other: StreamingFeatureMean) {
        precondition(other.sums.count == sums.count, "merging accumulators of different widths")
        for j in 0..<sums.count { sums[j] += other.sums[j] }
        count += other.count
    }

    /// The mean per feature (zeros when nothing was added).
    public var mean: [Float] {
        guard count > 0 else { return [Float](repeating: 0, count: sums.count) }
        return sums.map { Float($0 / Double(count)) }
    }
}

/// Quality of a dictionary on a sample of activations.
public struct DictionaryDiagnostics: Sendable, Equatable {
    /// Positions measured.
    public var positions: Int
    /// Mean number of active (non-zero) features per position.
    public var meanL0: Double
    /// Mean over positions of ‖x − x̂‖ / ‖x‖.
    public var relativeReconstructionError: Double
    /// 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖².
    public var fractionOfVarianceExplained: Double
    /// Features that never fired on the sample.
    public var deadFeatures: Int

    /// Measures `dictionary` on `activations` (rows are positions), in chunks.
    public static func measure(
        _ dictionary: any FeatureDictionary, on activations: Matrix, chunkRows: Int = 256
    ) throws -> DictionaryDiagnostics {
        let d = activations.columns, n = activations.rows
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for c in 0..<d { mean[c] += Double(activations[r, c]) } }
        mean = mean.map { $0 / Double(max(n, 1)) }
        var active = [Bool](repeating: false, count: dictionary.descriptor.featureCount)
        var l0 = 0.0, relative = 0.0, residual = 0.0, total = 0.0
        var start = 0
        while start < n {
            let chunk = activations.rows(start..<min(start + chunkRows, n))
            let features = try dictionary.encode(chunk)
            let reconstruction = try dictionary.decode(features)
            for r in 0..<chunk.rows {
                for j in 0..<features.columns where features[r, j] != 0 {
                    l0 += 1
                    active[j] = true
                }
                var err = 0.0, norm = 0.0
                for c in 0..<d {
                    let x = Double(chunk[r, c])
                    let delta = x - Double(reconstruction[r, c])
                    err += delta * delta
                    norm += x * x
                    total += (x - mean[c]) * (x - mean[c])
                }
                residual += err
                relative += norm > 0 ? (err / norm).squareRoot() : 0
            }
            start += chunk.rows
        }
        return DictionaryDiagnostics(
            positions: n, meanL0: l0 / Double(max(n, 1)), relativeReconstructionError: relative / Double(max(n, 1)),
            fractionOfVarianceExplained: total > 0 ? 1 - residual / total : 0,
            deadFeatures: active.filter { !$0 }.count)
    }
}
