import Foundation

/// Reads a judge score out of an OpenAI chat-completions response body.
enum ScoreParsing {
    /// The score in `body`: `choices[0].message.content` parsed as `{"score": n}`.
    ///
    /// The message may be surrounded by whitespace or a Markdown code fence (```` ```json … ``` ````);
    /// other fields next to `score` are ignored. `n` must be an integer (JSON `7`, or `7.0`) in 1...10.
    static func score(fromResponseBody body: [UInt8]) -> Result<Double, JudgeError> {
        switch messageContent(fromResponseBody: body) {
        case .failure(let error): .failure(error)
        case .success(let content): score(fromMessage: content)
        }
    }

    /// `choices[0].message.content` of a chat-completions response.
    static func messageContent(fromResponseBody body: [UInt8]) -> Result<String, JudgeError> {
        let excerpt = Self.excerpt(String(decoding: body, as: UTF8.self))
        let response: ChatCompletionBody
        do {
            response = try JSONDecoder().decode(ChatCompletionBody.self, from: Data(body))
        } catch {
            return .failure(
                .malformedResponse(reason: "the HTTP body is not a chat-completions JSON object", excerpt: excerpt))
        }
        guard let first = response.choices?.first else {
            return .failure(.malformedResponse(reason: "no `choices[0]` in the answer", excerpt: excerpt))
        }
        guard let content = first.message?.content else {
            return .failure(.malformedResponse(reason: "no string `choices[0].message.content`", excerpt: excerpt))
        }
        return .success(content)
    }

    /// The score in a judge's message text.
    static func score(fromMessage content: String) -> Result<Double, JudgeError> {
        let shown = excerpt(content)
        let text = stripCodeFence(content.trimmingCharacters(in: .whitespacesAndNewlines))
        let object: ScoreObject
        do {
            object = try JSONDecoder().decode(ScoreObject.self, from: Data(text.utf8))
        } catch {
            return .failure(.invalidScore(reason: "the message is not a JSON object", content: shown))
        }
        let value: Double
        switch object.score {
        case .none: return .failure(.invalidScore(reason: "the object has no `score` field", content: shown))
        case .notANumber: return .failure(.invalidScore(reason: "`score` is not a number", content: shown))
        case .number(let number): value = number
        }
        guard value.isFinite, value == value.rounded() else {
            return .failure(.invalidScore(reason: "`score` \(value) is not an integer", content: shown))
        }
        guard (1...10).contains(value) else {
            return .failure(.invalidScore(reason: "`score` \(Int(value)) is outside 1...10", content: shown))
        }
        return .success(value)
    }

    /// The body of a Markdown code fence (``` or ```json), or `text` when it is not fenced.
    static func stripCodeFence(_ text: String) -> String {
        guard text.hasPrefix("```"), text.hasSuffix("```"), text.count >= 6 else { return text }
        var inner = text.dropFirst(3).dropLast(3)
        if let newline = inner.firstIndex(of: "\n") {
            let label = inner[..<newline].trimmingCharacters(in: .whitespaces)
            if label.allSatisfy({ $0.isLetter }) { inner = inner[inner.index(after: newline)...] }
        } else if inner.lowercased().hasPrefix("json") {
            inner = inner.dropFirst(4)
        }
        return inner.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// At most 200 characters of `text`, on one line, for error messages.
    static func excerpt(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return flat.count <= 200 ? flat : String(flat.prefix(200)) + "…"
    }
}

/// The parts of a chat-completions response the judge reads; every level optional so that a
/// missing part gives a precise reason.
private struct ChatCompletionBody: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable { var content: String? }
        var message: Message?
    }
    var choices: [Choice]?
}

/// The judge's `{"score": n}` object; other fields are ignored.
private struct ScoreObject: Decodable {
    enum Score {
        case number(Double)
        case notANumber
    }

    var score: Score?

    private enum CodingKeys: String, CodingKey { case score }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.contains(.score) else {
            score = nil
            return
        }
        // A JSON boolean must not pass as 0/1, so it is tried (and rejected) first.
        if (try? container.decode(Bool.self, forKey: .score)) != nil {
            score = .notANumber
        } else if let number = try? container.decode(Double.self, forKey: .score) {
            score = .number(number)
        } else {
            score = .notANumber
        }
    }
}
