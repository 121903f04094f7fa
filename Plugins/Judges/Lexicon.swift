import Foundation
import SteeringCore

/// A task's word list, matched case-insensitively against the words of a text.
///
/// Text is lowercased and split into words: maximal runs of letters and digits, so punctuation,
/// apostrophes and hyphens separate words (`London's` → `london`, `s`). Entries are normalised the
/// same way, and may be:
/// - a word (`london`): matches that whole word only;
/// - a prefix stem ending in `*` (`wedd*`): matches every word that starts with `wedd`;
/// - a phrase (`big ben`, `notre dame*`): matches those words in sequence, each word by the two
///   rules above. Punctuation inside an entry splits it like text (`rock'n'roll` is three words).
///
/// Counting scans the text left to right; where entries match, the longest match counts once and
/// the scan continues after it, so overlapping entries never count the same words twice.
public struct Lexicon: Sendable, Hashable {
    /// One word of an entry.
    struct Pattern: Sendable, Hashable {
        var text: String
        var isPrefix: Bool

        func matches(_ word: Substring) -> Bool { isPrefix ? word.hasPrefix(text) : word == text }
    }

    /// Normalised entries (lowercase, single spaces), sorted and without duplicates.
    public let entries: [String]
    private let patterns: [[Pattern]]

    /// Parses `entries`.
    /// - Throws: ``SteeringError/invalidArgument(what:problem:)`` when the list is empty or an entry has no
    ///   letters or digits.
    public init(_ entries: [String]) throws(SteeringError) {
        var normalized = Set<String>()
        for entry in entries {
            let words = entry.lowercased().split(whereSeparator: \.isWhitespace).compactMap { raw -> String? in
                let isPrefix = raw.hasSuffix("*")
                let body = Self.words(in: String(raw)).joined(separator: " ")
                guard !body.isEmpty else { return nil }
                // Inner punctuation splits a word into several (`rock'n'roll` → `rock n roll`).
                return isPrefix ? body + "*" : body
            }
            guard !words.isEmpty else {
                throw .invalidArgument(what: "lexicon entry '\(entry)'", problem: "has no letters or digits")
            }
            normalized.insert(words.joined(separator: " "))
        }
        guard !normalized.isEmpty else {
            throw .invalidArgument(what: "lexicon", problem: "is empty; give at least one word")
        }
        self.entries = normalized.sorted()
        self.patterns = self.entries.map { entry in
            entry.split(separator: " ").map { word in
                word.hasSuffix("*")
                    ? Pattern(text: String(word.dropLast()), isPrefix: true)
                    : Pattern(text: String(word), isPrefix: false)
            }
        }
    }

    /// Reads entries from `text`: separated by commas or newlines; `#` starts a comment.
    public static func parse(_ text: String) throws(SteeringError) -> Lexicon {
        var entries: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for item in content.split(separator: ",") {
                let entry = item.trimmingCharacters(in: .whitespaces)
                if !entry.isEmpty { entries.append(entry) }
            }
        }
        return try Lexicon(entries)
    }

    /// SHA-256 of the normalised entries joined by newlines.
    public var digest: ContentDigest { ContentDigest(ofString: entries.joined(separator: "\n")) }

    /// Number of matches in `text` (see the type's documentation for the rules).
    public func count(in text: String) -> Int {
        let words = Self.words(in: text.lowercased())
        var hits = 0
        var position = 0
        while position < words.count {
            var longest = 0
            for pattern in patterns where pattern.count > longest && position + pattern.count <= words.count {
                if zip(pattern, words[position...]).allSatisfy({ $0.matches($1) }) { longest = pattern.count }
            }
            if longest > 0 {
                hits += 1
                position += longest
            } else {
                position += 1
            }
        }
        return hits
    }

    /// Maximal runs of letters and digits in `text`.
    static func words(in text: String) -> [Substring] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber) })
    }
}
