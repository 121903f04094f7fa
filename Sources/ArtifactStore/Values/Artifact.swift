import Foundation
import SteeringCore

/// An artifact read from the store: its key, header and a copy of its payload bytes.
public struct Artifact: Sendable, Equatable {
    /// The artifact key (`header.recipe.key`).
    public let key: ContentDigest
    /// The typed header.
    public let header: ArtifactHeader
    /// The payload bytes, little-endian elements, row-major.
    public let payload: [UInt8]

    /// Wraps a key, header and payload.
    public init(key: ContentDigest, header: ArtifactHeader, payload: [UInt8]) {
        self.key = key
        self.header = header
        self.payload = payload
    }

    /// The recipe that produced this artifact.
    public var recipe: Recipe { header.recipe }

    /// The payload as `Float` values.
    /// - Throws: ``ArtifactStoreError/wrongType(key:expected:actual:)`` unless the dtype is `f32`.
    public func floats() throws(ArtifactStoreError) -> [Float] {
        try requireDType(.f32)
        var values: [Float] = Self.copyElements(payload)
        #if _endian(big)
            for i in values.indices { values[i] = Float(bitPattern: values[i].bitPattern.byteSwapped) }
        #endif
        return values
    }

    /// The payload as `Int32` values.
    /// - Throws: ``ArtifactStoreError/wrongType(key:expected:actual:)`` unless the dtype is `i32`.
    public func int32s() throws(ArtifactStoreError) -> [Int32] {
        try requireDType(.i32)
        var values: [Int32] = Self.copyElements(payload)
        #if _endian(big)
            for i in values.indices { values[i] = values[i].byteSwapped }
        #endif
        return values
    }

    /// Decodes a `json` payload.
    /// - Throws: ``ArtifactStoreError/wrongType(key:expected:actual:)`` unless the dtype is `json` and
    ///   the text decodes as `T`.
    public func decodeJSON<T: Decodable>(_ type: T.Type = T.self) throws(ArtifactStoreError) -> T {
        try requireDType(.json)
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload))
        } catch {
            throw .wrongType(key: key.hex, expected: "JSON decodable as \(T.self)", actual: "JSON that fails: \(error)")
        }
    }

    /// A 2-D `f32` payload as a ``Matrix``.
    /// - Throws: ``ArtifactStoreError/wrongType(key:expected:actual:)`` unless the dtype is `f32` and
    ///   the shape has two dimensions.
    public func matrix() throws(ArtifactStoreError) -> Matrix {
        guard header.shape.count == 2 else {
            throw .wrongType(key: key.hex, expected: "a 2-D f32 matrix", actual: "shape \(header.shape)")
        }
        return Matrix(rows: header.shape[0], columns: header.shape[1], values: try floats())
    }

    private func requireDType(_ dtype: ArtifactDType) throws(ArtifactStoreError) {
        guard header.dtype == dtype else {
            throw .wrongType(key: key.hex, expected: dtype.rawValue, actual: header.dtype.rawValue)
        }
    }

    /// Copies `bytes` into an array of `T` (trailing bytes that do not fill an element are ignored).
    static func copyElements<T: BitwiseCopyable & Numeric>(_ bytes: [UInt8]) -> [T] {
        let count = bytes.count / MemoryLayout<T>.size
        var out = [T](repeating: 0, count: count)
        out.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[..<destination.count]))
            }
        }
        return out
    }
}
