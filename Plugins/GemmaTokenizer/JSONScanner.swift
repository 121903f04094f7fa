/// A JSON value, for the small sections of a `tokenizer.json` (normalizer, added tokens, …).
///
/// Strings stay UTF-8 bytes and objects stay ordered lists of members, so no text is ever compared or hashed
/// as a Swift `String` (which would identify canonically equivalent tokens, gemma2.md §4.5).
indirect enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case array([JSONValue])
    case object([JSONMember])

    /// The member named `key` of an object (the last one, if repeated), or nil.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let wanted = Array(key.utf8)
        return members.last(where: { $0.key == wanted })?.value
    }

    /// The bytes of a string value.
    var stringBytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// A string value as text (for messages and type names).
    var text: String? { stringBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// A boolean value.
    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number value that is an integer.
    var integer: Int? {
        if case .number(let value) = self, value == value.rounded(), abs(value) < 9e15 { return Int(value) }
        return nil
    }

    /// The elements of an array value.
    var elements: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether the value is `null`.
    var isNull: Bool { self == .null }
}

/// One member of a JSON object.
struct JSONMember: Equatable {
    var key: [UInt8]
    var value: JSONValue
}

/// A hand-written, pull-style JSON scanner over UTF-8 bytes (RFC 8259).
///
/// Large sections (the 256,000-entry vocab and 580,604 merges of Gemma) are read member by member into reused
/// byte buffers, without building values; small sections are read as ``JSONValue``. Every error names the file
/// and the byte offset.
struct JSONScanner {
    /// The whole document.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The file, for error messages.
    let path: String
    /// Offset of the next unread byte.
    var position = 0

    /// Values nested deeper than this are rejected rather than risking the stack.
    static let maximumDepth = 256

    init(bytes: UnsafeBufferPointer<UInt8>, path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// A ``TokenizerError`` naming the file, the current offset and `message`.
    func error(_ message: String) -> TokenizerError {
        TokenizerError(path: path, "invalid JSON at byte \(position): \(message)")
    }

    /// Skips spaces, tabs, newlines and carriage returns.
    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    mutating func peek() throws -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of file") }
        return bytes[position]
    }

    /// Consumes `byte` (after whitespace), or throws naming `what` was expected.
    mutating func consume(_ byte: UInt8, expecting what: String) throws {
        guard try peek() == byte else { throw error("expected \(what), found \(describeNext())") }
        position += 1
    }

    /// Checks that only whitespace is left.
    mutating func expectEnd() throws {
        skipWhitespace()
        if position < bytes.count { throw error("unexpected \(describeNext()) after the top-level value") }
    }

    // MARK: Objects and arrays

    /// Consumes `{`.
    mutating func beginObject() throws { try consume(0x7B, expecting: "'{'") }

    /// Reads the next member's key into `key` and consumes the `:`; returns false (consuming `}`) at the end.
    /// `first` must start true for each object.
    mutating func nextKey(into key: inout [UInt8], first: inout Bool) throws -> Bool {
        if try peek() == 0x7D {
            position += 1
            return false
        }
        if !first { try consume(0x2C, expecting: "',' or '}'") }
        first = false
        guard try peek() == 0x22 else { throw error("expected a member name, found \(describeNext())") }
        try readString(into: &key)
        try consume(0x3A, expecting: "':'")
        return true
    }

    /// Consumes `[`.
    mutating func beginArray() throws { try consume(0x5B, expecting: "'['") }

    /// Returns true when another element follows (consuming the `,`), false at the end (consuming `]`).
    /// `first` must start true for each array.
    mutating func nextElement(first: inout Bool) throws -> Bool {
        if try peek() == 0x5D {
            position += 1
            return false
        }
        if !first { try consume(0x2C, expecting: "',' or ']'") }
        first = false
        return true
    }

    // MARK: Scalars

    /// Reads a string value into `out` (replacing its contents) as UTF-8 bytes, resolving escapes.
    mutating func readString(into out: inout [UInt8]) throws {
        try consume(0x22, expecting: "a string")
        out.removeAll(keepingCapacity: true)
        while true {
            let runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
                position += 1
            }
            if position > runStart {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            }
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            if byte == 0x22 {
                position += 1
                return
            }
            if byte < 0x20 { throw error("control character 0x\(String(byte, radix: 16)) inside a string") }
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case 0x22, 0x5C, 0x2F: out.append(escape)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75: try appendUnicodeEscape(to: &out)
            default: throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
        }
    }

    /// Reads a string value as bytes.
    mutating func readString() throws -> [UInt8] {
        var out: [UInt8] = []
        try readString(into: &out)
        return out
    }

    /// Reads an integer number (no fraction or exponent).
    mutating func readInteger() throws -> Int {
        skipWhitespace()
        let start = position
        var negative = false
        if position < bytes.count && bytes[position] == 0x2D {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(Int(bytes[position] - 0x30))
            if overflow1 || overflow2 { throw error("integer too large") }
            value = sum
            digits += 1
            position += 1
        }
        if digits == 0 {
            position = start
            throw error("expected an integer, found \(describeNext())")
        }
        if position < bytes.count, [0x2E, 0x65, 0x45].contains(bytes[position]) {
            throw error("expected an integer, found a fraction or exponent")
        }
        return negative ? -value : value
    }

    // MARK: Whole values

    /// Reads any value.
    mutating func readValue(depth: Int = 0) throws -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("values nested deeper than \(Self.maximumDepth)") }
        switch try peek() {
        case 0x7B:
            try beginObject()
            var members: [JSONMember] = []
            var first = true
            var key: [UInt8] = []
            while try nextKey(into: &key, first: &first) {
                members.append(JSONMember(key: key, value: try readValue(depth: depth + 1)))
            }
            return .object(members)
        case 0x5B:
            try beginArray()
            var elements: [JSONValue] = []
            var first = true
            while try nextElement(first: &first) { elements.append(try readValue(depth: depth + 1)) }
            return .array(elements)
        case 0x22:
            return .string(try readString())
        case 0x74:
            try readLiteral("true")
            return .bool(true)
        case 0x66:
            try readLiteral("false")
            return .bool(false)
        case 0x6E:
            try readLiteral("null")
            return .null
        case 0x2D, 0x30...0x39:
            return .number(try readNumber())
        default:
            throw error("expected a value, found \(describeNext())")
        }
    }

    /// Skips any value without building it.
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < Self.maximumDepth else { throw error("values nested deeper than \(Self.maximumDepth)") }
        switch try peek() {
        case 0x7B:
            try beginObject()
            var first = true
            var key: [UInt8] = []
            while try nextKey(into: &key, first: &first) { try skipValue(depth: depth + 1) }
        case 0x5B:
            try beginArray()
            var first = true
            while try nextElement(first: &first) { try skipValue(depth: depth + 1) }
        default:
            _ = try readValue(depth: depth)
        }
    }

    // MARK: Helpers

    private mutating func readLiteral(_ literal: String) throws {
        for expected in literal.utf8 {
            guard position < bytes.count, bytes[position] == expected else {
                throw error("invalid literal, expected '\(literal)'")
            }
            position += 1
        }
    }

    /// Reads a number with the RFC 8259 grammar.
    private mutating func readNumber() throws -> Double {
        let start = position
        if bytes[position] == 0x2D { position += 1 }
        func digits(_ scanner: inout JSONScanner) -> Int {
            let from = scanner.position
            while scanner.position < scanner.bytes.count, scanner.bytes[scanner.position] >= 0x30,
                scanner.bytes[scanner.position] <= 0x39
            {
                scanner.position += 1
            }
            return scanner.position - from
        }
        guard digits(&self) > 0 else { throw error("invalid number") }
        if position < bytes.count, bytes[position] == 0x2E {
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number: no digits after '.'") }
        }
        if position < bytes.count, bytes[position] == 0x65 || bytes[position] == 0x45 {
            position += 1
            if position < bytes.count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
            guard digits(&self) > 0 else { throw error("invalid number: no exponent digits") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number '\(text)'") }
        return value
    }

    /// Reads the 4 hex digits after `\u` (and a following low surrogate escape) and appends the scalar's UTF-8.
    private mutating func appendUnicodeEscape(to out: inout [UInt8]) throws {
        var code = try readHex4()
        if (0xD800...0xDBFF).contains(code) {
            guard position + 1 < bytes.count, bytes[position] == 0x5C, bytes[position + 1] == 0x75 else {
                throw error("unpaired surrogate \\u\(String(code, radix: 16))")
            }
            position += 2
            let low = try readHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw error("invalid low surrogate \\u\(String(low, radix: 16))")
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(code) {
            throw error("unpaired surrogate \\u\(String(code, radix: 16))")
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("invalid code point") }
        UTF8.encode(scalar) { out.append($0) }
    }

    private mutating func readHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// A short description of the next byte, for messages.
    private func describeNext() -> String {
        guard position < bytes.count else { return "end of file" }
        let byte = bytes[position]
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }
}
