/// The element type of an artifact's payload. All numbers are little-endian.
public enum ArtifactDType: String, Sendable, Hashable, Codable, CaseIterable {
    /// IEEE-754 binary32.
    case f32
    /// Two's-complement 32-bit integers.
    case i32
    /// Raw bytes.
    case u8
    /// UTF-8 JSON text; the shape is `[byteCount]`.
    case json

    /// Bytes per element.
    public var elementSize: Int {
        switch self {
        case .f32, .i32: 4
        case .u8, .json: 1
        }
    }

    /// The NumPy dtype string of one element (`"<f4"`, `"<i4"`, `"|u1"`), as written by `read_store.py`.
    public var numpyDescriptor: String {
        switch self {
        case .f32: "<f4"
        case .i32: "<i4"
        case .u8, .json: "|u1"
        }
    }
}
