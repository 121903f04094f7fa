/// An API key held in memory only for building the `Authorization` header.
///
/// Printing, interpolating or dumping it shows `<redacted>`; ``redact(_:)`` removes the key from text
/// that came back from a server before that text is quoted in an error.
struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let secret: String

    /// `nil` when `value` is missing or only whitespace.
    init?(_ value: String?) {
        guard let value, !value.allSatisfy(\.isWhitespace) else { return nil }
        self.secret = value.filter { !$0.isNewline }
    }

    /// The header value `Bearer <key>`.
    var authorizationHeader: String { "Bearer \(secret)" }

    var description: String { "<redacted>" }
    var debugDescription: String { "<redacted>" }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// `text` with every occurrence of the key replaced by `<redacted>`.
    func redact(_ text: String) -> String {
        guard !secret.isEmpty, text.contains(secret) else { return text }
        return text.split(separator: secret, omittingEmptySubsequences: false).joined(separator: "<redacted>")
    }
}
