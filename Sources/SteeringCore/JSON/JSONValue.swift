/// A JSON value as the bytes said it: strings stay UTF-8 bytes, objects stay ordered member lists (repeated
/// keys kept), numbers keep their literal text.
///
/// Nothing is lost, so each reader decides for itself: the tokenizer compares token strings as bytes (a Swift
/// `String` would identify canonically equivalent tokens, gemma2.md §4.5), safetensors headers refuse
/// repeated keys and fractional sizes, recipes tell `1` from `1.0` so their canonical bytes (and keys) survive
/// a round trip. Produced by ``JSONScanner``.
public indirect enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, with its literal text.
    case number(JSONNumber)
    /// A string's UTF-8 bytes, escapes resolved.
    case string([UInt8])
    /// An array.
    case array([JSONValue])
    /// An object's members in file order.
    case object([JSONMember])

    /// The member named `key` of an object (the last one, if repeated), or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let wanted = Array(key.utf8)
        return members.last(where: { $0.key == wanted })?.value
    }

    /// The bytes of a string value.
    public var stringBytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// A string value as text, invalid UTF-8 replaced by U+FFFD (for messages and names).
    public var text: String? { stringBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// A string value as text when its bytes are valid UTF-8, else nil.
    public var validText: String? { stringBytes.flatMap { String(validating: $0, as: UTF8.self) } }

    /// A boolean value.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number written as an integer (no fraction or exponent) that fits in `Int`.
    public var exactInteger: Int? {
        if case .number(let number) = self { return number.integer }
        return nil
    }

    /// A number whose value is a whole number of magnitude below 9e15, however it is written (`3`, `3.0`, `3e0`).
    public var integer: Int? {
        guard case .number(let number) = self else { return nil }
        if let exact = number.integer { return exact }
        let value = number.double
        return value == value.rounded() && abs(value) < 9e15 ? Int(value) : nil
    }

    /// A number's value as a `Double` (±infinity when out of range).
    public var double: Double? {
        if case .number(let number) = self { return number.double }
        return nil
    }

    /// The elements of an array value.
    public var elements: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The members of an object value.
    public var members: [JSONMember]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// Whether the value is `null`.
    public var isNull: Bool { self == .null }

    /// A short description of the value's kind, for messages ("an object", "a number", …).
    public var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Equatable {
    /// The key's UTF-8 bytes.
    public var key: [UInt8]
    /// The value.
    public var value: JSONValue

    /// A member.
    public init(key: [UInt8], value: JSONValue) {
        self.key = key
        self.value = value
    }

    /// The key as text, invalid UTF-8 replaced by U+FFFD.
    public var keyText: String { String(decoding: key, as: UTF8.self) }
}

/// A JSON number as written.
public struct JSONNumber: Sendable, Equatable {
    /// The literal text (RFC 8259 grammar, already checked).
    public let literal: String
    /// Whether it was written without fraction or exponent.
    public let isIntegerLiteral: Bool

    /// A number with its literal text.
    public init(literal: String, isIntegerLiteral: Bool) {
        self.literal = literal
        self.isIntegerLiteral = isIntegerLiteral
    }

    /// The value when written as an integer that fits in `Int`, else nil.
    public var integer: Int? { isIntegerLiteral ? Int(literal) : nil }

    /// The value as the nearest `Double` (±infinity when beyond its range).
    public var double: Double { Double(literal) ?? (literal.hasPrefix("-") ? -.infinity : .infinity) }
}
