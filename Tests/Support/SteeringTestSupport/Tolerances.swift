import Foundation
public import SteeringCore

/// Every numeric tolerance used by the parity tests, in one place. Each one is the bound a test
/// asserts, not a typical error.
public enum Tolerance {
    /// Logits vs Hugging Face transformers (f32, eager): max |Δ|.
    public static let logitsAbsolute: Float = 1e-4
    /// Residual stream vs transformers: max |Δ| / max |reference|.
    public static let residualRelative: Float = 1e-5
    /// SAE feature activations and reconstructions vs sae-lens: max |Δ|.
    public static let featureAbsolute: Float = 1e-5
    /// Strategy vectors vs numpy renderings of their formulas: cosine ≥ this.
    public static let strategyCosine: Float = 0.99999
}

/// Largest absolute difference between two equal-length arrays.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDifference: lengths \(a.count) and \(b.count) differ")
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

/// Max |a − b| divided by max |b| (0 when b is all zero and a equals it).
public func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    let scale = b.reduce(Float(0)) { max($0, abs($1)) }
    let diff = maxAbsDifference(a, b)
    return scale > 0 ? diff / scale : diff
}

/// A small, fast, seedable generator (SplitMix64) so tests are repeatable.
public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A `rows × columns` matrix of standard normal samples times `scale`.
    public mutating func matrix(rows: Int, columns: Int, scale: Float = 1) -> Matrix {
        Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in normal() * scale })
    }
}

/// The repository root, found from this source file's location.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `Tests/Fixtures/<relative>` in the repository.
public func fixturePath(_ relative: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
}

/// A fresh empty temporary directory, removed by the caller.
public func makeTemporaryDirectory(_ label: String = "steer-test") throws -> String {
    let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
