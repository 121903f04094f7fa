public import Crypto
import Foundation

/// A SHA-256 digest, written as 64 lowercase hex characters.
public struct ContentDigest: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Lowercase hex, 64 characters.
    public let hex: String

    /// Validates and wraps a hex string.
    public init?(hex: String) {
        let lower = hex.lowercased()
        guard lower.utf8.count == 64, lower.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { return nil }
        self.hex = lower
    }

    /// The digest of `bytes`.
    public init(of bytes: some Sequence<UInt8>) {
        var hasher = SHA256()
        let array = Array(bytes)
        hasher.update(data: array)
        self.init(hasher.finalize())
    }

    /// The digest of a raw buffer.
    public init(of buffer: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        hasher.update(bufferPointer: buffer)
        self.init(hasher.finalize())
    }

    /// The digest of a string's UTF-8 bytes.
    public init(ofString string: String) { self.init(of: Array(string.utf8)) }

    /// The digest of `values` as little-endian IEEE-754 float32.
    public init(ofFloats values: [Float]) {
        self = values.withUnsafeBytes { ContentDigest(of: $0) }
    }

    /// Wraps a finished hash.
    public init(_ digest: SHA256.Digest) {
        self.hex = digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The raw 32 bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        var iterator = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        while let hi = iterator.next(), let lo = iterator.next() { out.append(nibble(hi) << 4 | nibble(lo)) }
        return out
    }

    /// The first 12 hex characters, for display.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }
    public static func < (a: ContentDigest, b: ContentDigest) -> Bool { a.hex < b.hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "'\(text)' is not a 64-character SHA-256 hex digest"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Incremental SHA-256 over many pieces (file contents, tensor bytes, headers).
public struct DigestBuilder {
    private var hasher = SHA256()
    public init() {}
    /// Adds bytes.
    public mutating func update(_ bytes: some Sequence<UInt8>) { hasher.update(data: Array(bytes)) }
    /// Adds a raw buffer without copying.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) { hasher.update(bufferPointer: buffer) }
    /// Adds a string's UTF-8 bytes followed by a 0 separator, so adjacent strings cannot run together.
    public mutating func update(field: String) {
        hasher.update(data: Array(field.utf8))
        hasher.update(data: [0])
    }
    /// Finishes.
    public func finalize() -> ContentDigest { ContentDigest(hasher.finalize()) }
}
