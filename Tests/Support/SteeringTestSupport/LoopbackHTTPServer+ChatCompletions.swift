import Foundation

/// Replies shaped like an OpenAI-compatible chat-completions server, for judge tests.
extension LoopbackHTTPServer.Reply {
    /// A 200 answer whose `choices[0].message.content` is `content`, after `delay` seconds.
    public static func chatCompletion(content: String, delay: Double = 0) -> Self {
        let object: [String: Any] = [
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "model": "loopback",
            "choices": [
                ["index": 0, "finish_reason": "stop", "message": ["role": "assistant", "content": content]]
            ],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return .respond(status: 200, body: String(decoding: data, as: UTF8.self), delay: delay)
    }

    /// A 200 answer whose message is `{"score": n}`.
    public static func score(_ n: Int, delay: Double = 0) -> Self {
        chatCompletion(content: "{\"score\": \(n)}", delay: delay)
    }

    /// An error status with an OpenAI-style error body and, optionally, a `Retry-After` header.
    public static func status(_ code: Int, retryAfter: String? = nil, message: String = "loopback error") -> Self {
        let body = "{\"error\": {\"message\": \"\(message)\", \"type\": \"server_error\"}}"
        return .respond(status: code, headers: retryAfter.map { ["Retry-After": $0] } ?? [:], body: body)
    }
}

extension LoopbackHTTPServer.Request {
    /// The `messages` of a chat-completions request body as (role, content) pairs.
    public var chatMessages: [(role: String, content: String)] {
        guard let messages = jsonObject()?["messages"] as? [[String: Any]] else { return [] }
        return messages.map { (($0["role"] as? String) ?? "", ($0["content"] as? String) ?? "") }
    }

    /// The completion being judged: the text between the triple quotes of the user message.
    public var judgedCompletion: String? {
        guard let user = chatMessages.last(where: { $0.role == "user" })?.content,
            let open = user.range(of: "\"\"\"\n"),
            let close = user.range(of: "\n\"\"\"", options: .backwards), open.upperBound <= close.lowerBound
        else { return nil }
        return String(user[open.upperBound..<close.lowerBound])
    }
}
