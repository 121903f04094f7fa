/// Turns a row's tokens into text as they arrive: releases only text that is final (no partial
/// UTF-8 character, no possible beginning of a stop string), and cuts the text at the first stop string.
struct TextStream {
    let decode: ([Int32]) -> String
    let stops: [String]
    private(set) var tokens: [Int32] = []
    /// Characters of the text already released.
    private var released = 0
    /// Whether a stop string was found.
    private(set) var stopped = false
    /// The text so far (cut at the stop string once found).
    private(set) var text = ""

    init(stops: [String], decode: @escaping ([Int32]) -> String) {
        self.stops = stops
        self.decode = decode
    }

    /// Adds a token; returns the newly released text.
    mutating func add(_ token: Int32) -> String {
        guard !stopped else { return "" }
        tokens.append(token)
        var full = decode(tokens)
        for stop in stops {
            if let range = full.range(of: stop) {
                full = String(full[..<range.lowerBound])
                stopped = true
            }
        }
        text = full
        var end = full.count
        if !stopped {
            // Hold back a trailing replacement character (a character split across tokens) and any
            // suffix that could be the start of a stop string.
            if full.last == "\u{FFFD}" { end -= 1 }
            for stop in stops {
                for length in stride(from: min(stop.count - 1, full.count), to: 0, by: -1)
                where full.hasSuffix(stop.prefix(length)) {
                    end = min(end, full.count - length)
                    break
                }
            }
        }
        return take(upTo: end)
    }

    /// Releases whatever is held back (at the end of the row).
    mutating func flush() -> String { take(upTo: text.count) }

    private mutating func take(upTo end: Int) -> String {
        guard end > released else { return "" }
        let start = text.index(text.startIndex, offsetBy: released)
        let stop = text.index(text.startIndex, offsetBy: end)
        released = end
        return String(text[start..<stop])
    }
}
