/// The one JSON string writer: recipes' canonical JSON (whose bytes enter artifact keys) and the
/// safetensors headers we write both quote strings with it.
///
/// Escapes `"` and `\`, writes `\n`, `\r`, `\t` in their short forms and every other control character
/// below U+0020 as `\u00xx` (lowercase hex, so `\u0008` rather than `\b`), and everything else as UTF-8.
/// Changing it changes the key of every recipe holding such a character.
public enum JSONString {
    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        var out = ""
        write(text, into: &out)
        return out
    }

    /// Appends `text` as a JSON string literal to `out`.
    public static func write(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
