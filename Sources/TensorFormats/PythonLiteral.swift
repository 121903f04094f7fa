import SteeringCore

// A tolerant reader for the Python literal that forms a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2304, 16384), }
// It accepts any key order, any spacing, trailing commas, 1-tuples `(3,)`, empty tuples `()` and the
// Python 2 long suffix `3L`, and it works on raw bytes with explicit bounds.

/// A parsed Python literal.
indirect enum PythonLiteral {
    case dict([(key: PythonLiteral, value: PythonLiteral)])
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none

    /// A short description for messages.
    var kindName: String {
        switch self {
        case .dict: return "a dict"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .string: return "a string"
        case .integer: return "an integer"
        case .bool: return "a boolean"
        case .none: return "None"
        }
    }
}

/// Parses a Python literal from bytes; strings decode as Latin-1 or UTF-8.
struct PythonLiteralParser {
    private let bytes: UnsafeRawBufferPointer
    private let utf8: Bool
    private var position = 0

    /// Parses `bytes` (a whole header, trailing spaces and newline allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer, utf8: Bool) throws(JSONSyntaxError) -> PythonLiteral {
        var parser = PythonLiteralParser(bytes: bytes, utf8: utf8)
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        guard parser.position == bytes.count else {
            throw JSONSyntaxError(offset: parser.position, problem: "unexpected text after the header dict")
        }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer, utf8: Bool) {
        self.bytes = bytes
        self.utf8 = utf8
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func error(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, problem: problem) }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x00 {
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> PythonLiteral {
        guard depth < 32 else { throw error("nested too deeply") }
        guard let byte = current else { throw error("unexpected end of the header") }
        switch byte {
        case UInt8(ascii: "{"):
            position += 1
            var pairs: [(key: PythonLiteral, value: PythonLiteral)] = []
            while true {
                skipSpace()
                if current == UInt8(ascii: "}") {
                    position += 1
                    return .dict(pairs)
                }
                let key = try parseValue(depth: depth + 1)
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':' in the header dict") }
                position += 1
                skipSpace()
                pairs.append((key, try parseValue(depth: depth + 1)))
                try separator(closing: UInt8(ascii: "}"))
            }
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let closing = byte == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
            position += 1
            var items: [PythonLiteral] = []
            while true {
                skipSpace()
                if current == closing {
                    position += 1
                    return closing == UInt8(ascii: ")") ? .tuple(items) : .list(items)
                }
                items.append(try parseValue(depth: depth + 1))
                try separator(closing: closing)
            }
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString(quote: byte))
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try parseInteger())
        default:
            if try word("True") { return .bool(true) }
            if try word("False") { return .bool(false) }
            if try word("None") { return PythonLiteral.none }
            throw error("unexpected character in the header")
        }
    }

    /// After an item: a ',' (then maybe the closing bracket) or the closing bracket itself.
    private mutating func separator(closing: UInt8) throws(JSONSyntaxError) {
        skipSpace()
        if current == UInt8(ascii: ",") {
            position += 1
            return
        }
        guard current == closing else { throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
    }

    private mutating func word(_ text: StaticString) throws(JSONSyntaxError) -> Bool {
        let length = text.utf8CodeUnitCount
        guard position <= bytes.count - length else { return false }
        for offset in 0..<length where bytes[position + offset] != text.utf8Start[offset] { return false }
        position += length
        return true
    }

    private mutating func parseInteger() throws(JSONSyntaxError) -> Int {
        var negative = false
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
            negative = current == UInt8(ascii: "-")
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = times.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { throw error("integer too large") }
            value = next
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw error("expected digits") }
        if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }
        return negative ? -value : value
    }

    private mutating func parseString(quote: UInt8) throws(JSONSyntaxError) -> String {
        position += 1
        var decoded: [UInt8] = []
        while true {
            guard let byte = current else { throw error("unterminated string") }
            position += 1
            if byte == quote { break }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = current else { throw error("unterminated escape") }
                position += 1
                switch escaped {
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "0"): decoded.append(0x00)
                default: decoded.append(escaped)
                }
                continue
            }
            decoded.append(byte)
        }
        if !utf8 { return latin1String(decoded) }
        guard let text = validatedUTF8(decoded) else { throw error("string is not valid UTF-8") }
        return text
    }
}
