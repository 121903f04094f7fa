/// Small UTF-8 helpers shared by encoding (scalar boundaries) and decoding (strict validation).
enum UTF8Scalars {
    /// Byte length of the scalar starting with `byte` (1 for a stray continuation byte).
    @inline(__always)
    static func length(ofLeadByte byte: UInt8) -> Int {
        if byte < 0xC0 { return 1 }
        if byte < 0xE0 { return 2 }
        if byte < 0xF0 { return 3 }
        return 4
    }

    /// Whether `bytes` is well-formed UTF-8 in the strict sense of Rust's `String::from_utf8` and the Unicode
    /// standard: no overlong forms, no surrogates (U+D800–U+DFFF), nothing above U+10FFFF, no truncation.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isValid($0) }
    }

    /// Whether `bytes` is well-formed UTF-8 (see ``isValid(_:)-([UInt8])``).
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        var i = 0
        while i < count {
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let trailing: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; upper = 0x9F
            case 0xF0: trailing = 3; lower = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; upper = 0x8F
            default: return false
            }
            guard i + trailing < count else { return false }
            // Only the first continuation byte has the narrowed range.
            let first = bytes[i + 1]
            if first < lower || first > upper { return false }
            var k = 2
            while k <= trailing {
                let byte = bytes[i + k]
                if byte < 0x80 || byte > 0xBF { return false }
                k += 1
            }
            i += trailing + 1
        }
        return true
    }
}
