import Foundation

/// One chat message: a role and its text.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Gemma's chat template, implemented directly (the server does not run the tokenizer's Jinja
/// template): `<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n`, a system message
/// folded into the first user turn followed by a blank line, `assistant` written as `model`, each
/// message's text trimmed, and roles alternating user/assistant starting with user. BOS is not part
/// of the text: the tokenizer adds it.
public enum GemmaChatTemplate {
    /// The token text that ends a turn; generation stops at it.
    public static let endOfTurn = "<end_of_turn>"

    /// The prompt text for `messages`, ending with the opening of the model's turn.
    /// - Throws: ``APIError`` (400, param `messages`) for an empty list, an unknown role, a system
    ///   message after the first, or roles that do not alternate.
    public static func render(_ messages: [ChatMessage]) throws(APIError) -> String {
        guard !messages.isEmpty else {
            throw .invalid("'messages' is empty; give at least one user message.", param: "messages")
        }
        var turns = messages
        var system: String?
        if turns[0].role == "system" || turns[0].role == "developer" {
            system = turns.removeFirst().content.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var text = ""
        for (i, message) in turns.enumerated() {
            let expected = i % 2 == 0 ? "user" : "assistant"
            guard ["user", "assistant", "system", "developer"].contains(message.role) else {
                throw .invalid(
                    "messages: unknown role '\(message.role)'; use system, user or assistant.", param: "messages")
            }
            guard message.role == expected else {
                throw .invalid(
                    "messages: the Gemma chat template needs roles to alternate user/assistant after an optional "
                        + "first system message; message \(i + (system == nil ? 0 : 1)) has role '\(message.role)' "
                        + "where '\(expected)' was expected.",
                    param: "messages")
            }
            var content = message.content.trimmingCharacters(in: .whitespacesAndNewlines)
            if i == 0, let system, !system.isEmpty { content = system + "\n\n" + content }
            text += "<start_of_turn>\(message.role == "assistant" ? "model" : "user")\n\(content)<end_of_turn>\n"
        }
        return text + "<start_of_turn>model\n"
    }
}
