import Foundation
import SteeringCore
import Testing

/// Checks the ``FeatureDictionary`` contract every dictionary plugin must satisfy:
/// shapes, determinism, row independence (encoding a batch equals encoding rows one by one),
/// decode linearity in the features, `decoderRows` equal to decoding one-hot features minus the
/// decoding of zero, clear errors for wrong widths and out-of-range features, and a descriptor
/// consistent with the behaviour.
public func checkFeatureDictionary(
    _ dictionary: any FeatureDictionary, seed: UInt64 = 1, rows: Int = 5, tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let d = dictionary.descriptor.inputWidth, s = dictionary.descriptor.featureCount
    #expect(d > 0 && s > 0, "descriptor widths must be positive", sourceLocation: sourceLocation)
    var rng = SeededGenerator(seed: seed)
    let x = rng.matrix(rows: rows, columns: d, scale: 3)
    let f = try dictionary.encode(x)
    #expect(f.shape == [rows, s], "encode shape \(f.shape)", sourceLocation: sourceLocation)
    #expect(try dictionary.encode(x) == f, "encode must be deterministic", sourceLocation: sourceLocation)
    for r in 0..<rows {
        let single = try dictionary.encode(x.rows(r..<(r + 1)))
        #expect(
            maxAbsDifference(single.values, f.row(r)) <= tolerance, "row \(r) encodes differently alone",
            sourceLocation: sourceLocation)
    }
    let reconstruction = try dictionary.decode(f)
    #expect(reconstruction.shape == [rows, d], "decode shape \(reconstruction.shape)", sourceLocation: sourceLocation)
    // decode(a·f) − decode(0) = a·(decode(f) − decode(0)).
    let zero = try dictionary.decode(Matrix(rows: 1, columns: s))
    var doubled = f
    for i in 0..<doubled.values.count { doubled.values[i] *= 2 }
    let decodedDouble = try dictionary.decode(doubled)
    for r in 0..<rows {
        for c in 0..<d {
            let lhs = decodedDouble[r, c] - zero[0, c]
            let rhs = 2 * (reconstruction[r, c] - zero[0, c])
            #expect(abs(lhs - rhs) <= tolerance * max(1, abs(rhs)), sourceLocation: sourceLocation)
        }
    }
    let probe = [0, s / 2, s - 1]
    let rowsOut = try dictionary.decoderRows(probe)
    #expect(rowsOut.shape == [probe.count, d], sourceLocation: sourceLocation)
    for (i, feature) in probe.enumerated() {
        var oneHot = Matrix(rows: 1, columns: s)
        oneHot[0, feature] = 1
        let decoded = try dictionary.decode(oneHot)
        let direction = (0..<d).map { decoded[0, $0] - zero[0, $0] }
        #expect(maxAbsDifference(direction, rowsOut.row(i)) <= tolerance, sourceLocation: sourceLocation)
    }
    #expect(throws: (any Error).self, "a wrong input width must throw", sourceLocation: sourceLocation) {
        try dictionary.encode(Matrix(rows: 1, columns: d + 1))
    }
    #expect(throws: (any Error).self, "a wrong feature width must throw", sourceLocation: sourceLocation) {
        try dictionary.decode(Matrix(rows: 1, columns: s + 1))
    }
    #expect(throws: (any Error).self, "an out-of-range feature must throw", sourceLocation: sourceLocation) {
        try dictionary.decoderRows([s])
    }
}
