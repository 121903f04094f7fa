import Foundation
import SteeringCore

/// An artifact to be written by ``ArtifactStore/putBatch(_:)``: a recipe, a typed shape and the payload.
public struct NewArtifact: Sendable, Equatable {
    /// Everything that determines the payload; its key is the artifact's key.
    public var recipe: Recipe
    /// Element type of the payload.
    public var dtype: ArtifactDType
    /// Dimensions, row-major; `[byteCount]` for `json` and `u8`.
    public var shape: [Int]
    /// Little-endian elements.
    public var payload: [UInt8]

    /// Wraps raw payload bytes; ``ArtifactStore/putBatch(_:)`` checks that `shape` and `dtype` describe them.
    public init(recipe: Recipe, dtype: ArtifactDType, shape: [Int], payload: [UInt8]) {
        self.recipe = recipe
        self.dtype = dtype
        self.shape = shape
        self.payload = payload
    }

    /// An `f32` artifact.
    public static func floats(recipe: Recipe, _ values: [Float], shape: [Int]) -> NewArtifact {
        #if _endian(big)
            let bytes = littleEndianBytes(values.map(\.bitPattern))
        #else
            let bytes = values.withUnsafeBytes { Array($0) }
        #endif
        return NewArtifact(recipe: recipe, dtype: .f32, shape: shape, payload: bytes)
    }

    /// An `i32` artifact.
    public static func int32s(recipe: Recipe, _ values: [Int32], shape: [Int]) -> NewArtifact {
        NewArtifact(recipe: recipe, dtype: .i32, shape: shape, payload: littleEndianBytes(values))
    }

    /// A `json` artifact: `value` encoded with sorted keys.
    /// - Throws: ``ArtifactStoreError/invalidArtifact(problem:)`` if `value` cannot be encoded.
    public static func json(recipe: Recipe, _ value: some Encodable) throws(ArtifactStoreError) -> NewArtifact {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw .invalidArtifact(problem: "the value cannot be encoded as JSON: \(error)")
        }
        return NewArtifact(recipe: recipe, dtype: .json, shape: [data.count], payload: Array(data))
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        #if _endian(big)
            return values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        #else
            return values.withUnsafeBytes { Array($0) }
        #endif
    }
}
