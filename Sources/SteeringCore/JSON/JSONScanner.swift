/// Why a JSON text was not accepted, with the byte offset where it was found.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    /// Offset of the offending byte from the start of the text.
    public let offset: Int
    /// What is wrong there.
    public let problem: String

    /// An error at `offset`.
    public init(offset: Int, problem: String) {
        self.offset = offset
        self.problem = problem
    }

    /// "`problem` at byte `offset`".
    public var description: String { "\(problem) at byte \(offset)" }
}

/// The one JSON reader: a strict, pull-style scanner over UTF-8 bytes (RFC 8259) with explicit bounds and a
/// nesting limit, so no input can crash it.
///
/// Small documents (safetensors headers, checkpoint indexes, recipes) are read whole with
/// ``parse(_:)``; large ones (a `tokenizer.json` with 256,000 vocabulary entries and 580,604 merges) are
/// walked member by member with ``beginObject()``/``nextKey(into:first:)`` into reused byte buffers, reading
/// only the small sections as ``JSONValue``. The bytes must outlive the scanner.
public struct JSONScanner {
    /// The whole text.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the next unread byte.
    public var position = 0
    /// Values nested deeper than this are refused rather than risking the stack.
    public static let maximumDepth = 256
    /// Whether ``readValue(depth:)`` refuses an object that names a key twice (RFC 8259 leaves it open;
    /// safetensors headers and recipes refuse it, `tokenizer.json` readers take the last).
    public var refusesRepeatedKeys: Bool

    /// A scanner at the start of `bytes`.
    public init(bytes: UnsafeRawBufferPointer, refusesRepeatedKeys: Bool = false) {
        self.bytes = bytes
        self.refusesRepeatedKeys = refusesRepeatedKeys
    }

    /// Parses `bytes` as one JSON value surrounded only by whitespace.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, refusingRepeatedKeys: Bool = true
    ) throws(JSONSyntaxError) -> JSONValue {
        var scanner = JSONScanner(bytes: bytes, refusesRepeatedKeys: refusingRepeatedKeys)
        let value = try scanner.readValue()
        try scanner.expectEnd()
        return value
    }

    /// Parses `bytes` as one JSON value surrounded only by whitespace.
    public static func parse(
        _ bytes: some Collection<UInt8>, refusingRepeatedKeys: Bool = true
    ) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = Array(bytes).withUnsafeBytes { raw in
            do throws(JSONSyntaxError) {
                return .success(try parse(raw, refusingRepeatedKeys: refusingRepeatedKeys))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// An error at the current offset.
    public func error(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, problem: problem) }

    /// Skips spaces, tabs, newlines and carriage returns.
    @inline(__always)
    public mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    public mutating func peek() throws(JSONSyntaxError) -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of file") }
        return bytes[position]
    }

    /// Consumes `byte` (after whitespace), or fails saying `what` was expected.
    public mutating func consume(_ byte: UInt8, expecting what: String) throws(JSONSyntaxError) {
        guard try peek() == byte else { throw error("expected \(what), found \(describeNext())") }
        position += 1
    }

    /// Checks that only whitespace is left.
    public mutating func expectEnd() throws(JSONSyntaxError) {
        skipWhitespace()
        if position < bytes.count { throw error("unexpected \(describeNext()) after the JSON value") }
    }

    // MARK: Objects and arrays

    /// Consumes `{`.
    public mutating func beginObject() throws(JSONSyntaxError) { try consume(0x7B, expecting: "'{'") }

    /// Reads the next member's key into `key` and consumes the `:`; returns false (consuming `}`) at the end.
    /// `first` must start true for each object.
    public mutating func nextKey(into key: inout [UInt8], first: inout Bool) throws(JSONSyntaxError) -> Bool {
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
    public mutating func beginArray() throws(JSONSyntaxError) { try consume(0x5B, expecting: "'['") }

    /// Returns true when another element follows (consuming the `,`), false at the end (consuming `]`).
    /// `first` must start true for each array.
    public mutating func nextElement(first: inout Bool) throws(JSONSyntaxError) -> Bool {
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
    public mutating func readString(into out: inout [UInt8]) throws(JSONSyntaxError) {
        try consume(0x22, expecting: "a string")
        out.removeAll(keepingCapacity: true)
        while true {
            let runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
                position += 1
            }
            if position > runStart { out.append(contentsOf: bytes[runStart..<position]) }
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
            default:
                position -= 1
                throw error("invalid escape '\\\(printable(escape))'")
            }
        }
    }

    /// Reads a string value as bytes.
    public mutating func readString() throws(JSONSyntaxError) -> [UInt8] {
        var out: [UInt8] = []
        try readString(into: &out)
        return out
    }

    /// Reads a number written as an integer (no fraction or exponent) that fits in `Int`, without building
    /// its literal text (the tokenizer reads 256,000 vocabulary ids this way).
    public mutating func readInteger() throws(JSONSyntaxError) -> Int {
        guard (try? peek()).map({ $0 == 0x2D || isDigit($0) }) == true else {
            throw error("expected an integer, found \(describeNext())")
        }
        let start = position
        guard try scanNumber() else {
            let literal = String(decoding: bytes[start..<position], as: UTF8.self)
            throw error("expected an integer, found \(literal)")
        }
        func tooLarge() -> JSONSyntaxError {
            error("integer \(String(decoding: bytes[start..<position], as: UTF8.self)) is too large")
        }
        // Accumulate negatively so that Int.min fits.
        let negative = bytes[start] == 0x2D
        var negated = 0
        for byte in bytes[(negative ? start + 1 : start)..<position] {
            let (times, overflowA) = negated.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = times.subtractingReportingOverflow(Int(byte - 0x30))
            guard !overflowA && !overflowB else { throw tooLarge() }
            negated = next
        }
        if negative { return negated }
        guard negated != Int.min else { throw tooLarge() }
        return -negated
    }

    // MARK: Whole values

    /// Reads any value.
    public mutating func readValue(depth: Int = 0) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("values nested deeper than \(Self.maximumDepth) levels") }
        switch try peek() {
        case 0x7B:
            try beginObject()
            var members: [JSONMember] = []
            var first = true
            var key: [UInt8] = []
            var seen = Set<[UInt8]>()
            while true {
                let keyOffset = position
                guard try nextKey(into: &key, first: &first) else { break }
                if refusesRepeatedKeys && !seen.insert(key).inserted {
                    throw JSONSyntaxError(
                        offset: keyOffset, problem: "duplicate key \"\(String(decoding: key, as: UTF8.self))\"")
                }
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
    public mutating func skipValue(depth: Int = 0) throws(JSONSyntaxError) {
        guard depth < Self.maximumDepth else { throw error("values nested deeper than \(Self.maximumDepth) levels") }
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

    private mutating func readLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let start = position
        for expected in UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard position < bytes.count, bytes[position] == expected else {
                position = start
                throw error("invalid literal, expected '\(literal)'")
            }
            position += 1
        }
    }

    /// Reads a number with its literal text.
    private mutating func readNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = position
        let isInteger = try scanNumber()
        return JSONNumber(
            literal: String(decoding: bytes[start..<position], as: UTF8.self), isIntegerLiteral: isInteger)
    }

    /// Moves past a number with the RFC 8259 grammar (no leading zeros, digits after '.' and in the
    /// exponent); returns whether it was written without fraction or exponent.
    private mutating func scanNumber() throws(JSONSyntaxError) -> Bool {
        if bytes[position] == 0x2D { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit") }
        if bytes[position] == 0x30 {
            position += 1
        } else {
            skipDigits()
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == 0x2E {
            isInteger = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit after '.'") }
            skipDigits()
        }
        if position < bytes.count, bytes[position] == 0x65 || bytes[position] == 0x45 {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == 0x2B || bytes[position] == 0x2D { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw error("expected a digit in an exponent")
            }
            skipDigits()
        }
        return isInteger
    }

    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Reads the 4 hex digits after `\u` (and a following low surrogate escape) and appends the scalar's UTF-8.
    private mutating func appendUnicodeEscape(to out: inout [UInt8]) throws(JSONSyntaxError) {
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

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// A short description of the next byte, for messages.
    private func describeNext() -> String {
        guard position < bytes.count else { return "end of file" }
        return "'\(printable(bytes[position]))'"
    }

    private func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
