import Foundation

/// The kinds of artifact the store holds.
public enum ArtifactKind: String, Sendable, Hashable, Codable, CaseIterable {
    case activations, baseline, calibration, effect, dataset, estimator, vector, generations, scores, evaluation
}

/// A JSON-like value with one canonical byte encoding, used for recipe parameters.
///
/// Canonical form: objects with keys sorted by UTF-8 bytes, no whitespace, integers in decimal,
/// doubles in Swift's shortest round-tripping form (`1.0`, `0.1`, `1e-06`), strings JSON-escaped.
/// Two recipes are the same computation exactly when their canonical bytes are equal.
public indirect enum RecipeValue: Sendable, Hashable, Codable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([RecipeValue])
    case object([String: RecipeValue])
    case null

    /// Canonical JSON text.
    public var canonicalJSON: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .string(let s): JSONString.write(s, into: &out)
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN {
                out += "\"NaN\""
            } else if d.isInfinite {
                out += d > 0 ? "\"Infinity\"" : "\"-Infinity\""
            } else {
                out += "\(d)"
            }
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let dict):
            out += "{"
            let keys = dict.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                JSONString.write(key, into: &out)
                out += ":"
                dict[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([RecipeValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: RecipeValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }
}

extension RecipeValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: RecipeValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, RecipeValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// Everything that determines an artifact's content: the key of the artifact is the SHA-256 of
/// ``canonicalBytes``. Same recipe → same key, on any machine and in any process.
public struct Recipe: Sendable, Hashable, Codable {
    /// What kind of artifact this recipe produces.
    public var kind: ArtifactKind
    /// The algorithm that computes it (e.g. `effect-measurement`, `ridge`, `sae-ts`).
    public var algorithm: String
    /// Bumped whenever the algorithm's output changes for the same parameters.
    public var version: Int
    /// Every parameter that influences the output.
    public var parameters: [String: RecipeValue]
    /// Content digests of every input (model fingerprint, SAE fingerprint, vector digest, ...).
    public var inputs: [String: ContentDigest]

    public init(
        kind: ArtifactKind, algorithm: String, version: Int = 1, parameters: [String: RecipeValue] = [:],
        inputs: [String: ContentDigest] = [:]
    ) {
        self.kind = kind
        self.algorithm = algorithm
        self.version = version
        self.parameters = parameters
        self.inputs = inputs
    }

    /// The canonical encoding whose SHA-256 is the artifact key.
    public var canonicalValue: RecipeValue {
        .object([
            "kind": .string(kind.rawValue),
            "algorithm": .string(algorithm),
            "version": .int(version),
            "parameters": .object(parameters),
            "inputs": .object(inputs.mapValues { .string($0.hex) }),
        ])
    }

    /// UTF-8 bytes of the canonical JSON.
    public var canonicalBytes: [UInt8] { Array(canonicalValue.canonicalJSON.utf8) }

    /// The artifact key: SHA-256 of ``canonicalBytes``.
    public var key: ContentDigest { ContentDigest(of: canonicalBytes) }
}
