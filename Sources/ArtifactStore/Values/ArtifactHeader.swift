import Foundation
import SteeringCore

/// The typed header stored in front of every artifact's payload (see Docs/Artifacts.md, "Value layout").
///
/// It is stored as canonical JSON (``canonicalJSON``) so that tools in any language can read it and
/// the embedded recipe reproduces the artifact's key byte for byte.
public struct ArtifactHeader: Sendable, Hashable, Codable {
    /// The artifact's kind; always equal to `recipe.kind`.
    public var kind: ArtifactKind
    /// Element type of the payload.
    public var dtype: ArtifactDType
    /// Dimensions of the payload, row-major; `[byteCount]` for `json` and `u8`.
    public var shape: [Int]
    /// The recipe whose ``Recipe/key`` is the artifact's key.
    public var recipe: Recipe
    /// SHA-256 of the payload bytes.
    public var payloadDigest: ContentDigest
    /// Length of the payload in bytes.
    public var payloadSize: Int
    /// When the artifact was first written (ISO 8601, UTC). Informational: not part of the key.
    public var createdAt: String

    /// Creates a header.
    public init(
        recipe: Recipe, dtype: ArtifactDType, shape: [Int], payloadDigest: ContentDigest, payloadSize: Int,
        createdAt: String
    ) {
        self.kind = recipe.kind
        self.dtype = dtype
        self.shape = shape
        self.recipe = recipe
        self.payloadDigest = payloadDigest
        self.payloadSize = payloadSize
        self.createdAt = createdAt
    }

    /// The artifact key, `recipe.key`.
    public var key: ContentDigest { recipe.key }

    /// Number of elements, the product of ``shape``.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The header as canonical JSON: keys sorted, no whitespace, the recipe in its canonical form.
    public var canonicalJSON: String { canonicalValue.canonicalJSON }

    /// The header as a ``RecipeValue`` object (the value whose canonical JSON is stored).
    public var canonicalValue: RecipeValue {
        .object([
            "kind": .string(kind.rawValue),
            "dtype": .string(dtype.rawValue),
            "shape": .array(shape.map { .int($0) }),
            "recipe": recipe.canonicalValue,
            "payloadDigest": .string(payloadDigest.hex),
            "payloadSize": .int(payloadSize),
            "createdAt": .string(createdAt),
        ])
    }

    /// The current time in the ``createdAt`` format.
    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    /// Checks that `shape` and `dtype` describe exactly `payloadSize` bytes; returns the problem if not.
    static func shapeProblem(dtype: ArtifactDType, shape: [Int], payloadSize: Int) -> String? {
        if shape.contains(where: { $0 < 0 }) { return "shape \(shape) has a negative dimension" }
        if dtype == .json || dtype == .u8, shape.count != 1 {
            return "a \(dtype.rawValue) payload needs the shape [byteCount], got \(shape)"
        }
        var bytes = dtype.elementSize
        for dimension in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            if overflow { return "shape \(shape) is too large" }
            bytes = product
        }
        if bytes != payloadSize {
            return "shape \(shape) of \(dtype.rawValue) needs \(bytes) bytes but the payload has \(payloadSize)"
        }
        return nil
    }
}

extension ArtifactHeader {
    /// Parses a stored header.
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)`` naming `key` and the first field
    ///   that is missing or malformed.
    static func parse(_ bytes: some Collection<UInt8>, key: String) throws(ArtifactStoreError) -> ArtifactHeader {
        func corrupt(_ problem: String) -> ArtifactStoreError { .corruptArtifact(key: key, problem: problem) }
        let value: RecipeValue
        do {
            value = try CanonicalJSONParser.parse(bytes)
        } catch {
            throw corrupt("the header is not valid JSON (\(error))")
        }
        guard case .object(let fields) = value else { throw corrupt("the header is not a JSON object") }
        guard case .string(let dtypeText)? = fields["dtype"], let dtype = ArtifactDType(rawValue: dtypeText) else {
            throw corrupt("the header's dtype is missing or unknown")
        }
        guard case .array(let dims)? = fields["shape"] else { throw corrupt("the header has no shape") }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let n) = dim else { throw corrupt("the shape holds a non-integer") }
            shape.append(n)
        }
        guard case .string(let digestText)? = fields["payloadDigest"], let digest = ContentDigest(hex: digestText)
        else { throw corrupt("the header's payloadDigest is missing or malformed") }
        guard case .int(let size)? = fields["payloadSize"], size >= 0 else {
            throw corrupt("the header's payloadSize is missing or negative")
        }
        guard let recipeValue = fields["recipe"] else { throw corrupt("the header has no recipe") }
        let recipe = try Recipe.parse(recipeValue, key: key)
        guard case .string(let kindText)? = fields["kind"], kindText == recipe.kind.rawValue else {
            throw corrupt("the header's kind is missing or differs from its recipe's kind")
        }
        var createdAt = ""
        if case .string(let text)? = fields["createdAt"] { createdAt = text }
        return ArtifactHeader(
            recipe: recipe, dtype: dtype, shape: shape, payloadDigest: digest, payloadSize: size,
            createdAt: createdAt)
    }
}

extension Recipe {
    /// Rebuilds a recipe from its canonical value (the inverse of ``Recipe/canonicalValue``).
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)`` naming `key`.
    static func parse(_ value: RecipeValue, key: String) throws(ArtifactStoreError) -> Recipe {
        func corrupt(_ problem: String) -> ArtifactStoreError { .corruptArtifact(key: key, problem: problem) }
        guard case .object(let fields) = value else { throw corrupt("the recipe is not a JSON object") }
        guard case .string(let kindText)? = fields["kind"], let kind = ArtifactKind(rawValue: kindText) else {
            throw corrupt("the recipe's kind is missing or unknown")
        }
        guard case .string(let algorithm)? = fields["algorithm"] else {
            throw corrupt("the recipe has no algorithm")
        }
        guard case .int(let version)? = fields["version"] else { throw corrupt("the recipe has no version") }
        guard case .object(let parameters)? = fields["parameters"] else {
            throw corrupt("the recipe has no parameters object")
        }
        guard case .object(let inputValues)? = fields["inputs"] else {
            throw corrupt("the recipe has no inputs object")
        }
        var inputs: [String: ContentDigest] = [:]
        for (name, input) in inputValues {
            guard case .string(let hex) = input, let digest = ContentDigest(hex: hex) else {
                throw corrupt("the recipe input '\(name)' is not a 64-character hex digest")
            }
            inputs[name] = digest
        }
        guard fields.count == 5 else { throw corrupt("the recipe has unexpected fields") }
        return Recipe(kind: kind, algorithm: algorithm, version: version, parameters: parameters, inputs: inputs)
    }
}
