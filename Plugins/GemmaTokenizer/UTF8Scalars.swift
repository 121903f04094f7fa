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
    static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var iterator = bytes.makeIterator()
        while let lead = iterator.next() {
            if lead < 0x80 { continue }
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
            // Only the first continuation byte has the narrowed range.
            for index in 0..<trailing {
                guard let byte = iterator.next() else { return false }
                if index == 0 {
                    if byte < lower || byte > upper { return false }
                } else if byte < 0x80 || byte > 0xBF {
                    return false
                }
            }
        }
        return true
    }
}
