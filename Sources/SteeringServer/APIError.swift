import Foundation

/// An error answered as OpenAI does: `{"error": {"message", "type", "param", "code"}}` with an
/// HTTP status. The message names the field and the value, and says what to do.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status (400, 401, 404, 413, 500, 503).
    public var status: Int
    /// A complete sentence for the client.
    public var message: String
    /// OpenAI's error type: `invalid_request_error`, `authentication_error`, `not_found_error`, `server_error`.
    public var type: String
    /// The request field at fault (`messages`, `steering[0].vector`, …), when there is one.
    public var param: String?
    /// A short machine-readable code (`context_length_exceeded`, `vector_not_found`, …).
    public var code: String?

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    /// A 400 for a bad field.
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// A 404 for something the request names that does not exist.
    public static func notFound(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 404, message: message, type: "not_found_error", param: param, code: code)
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// The JSON body.
    public var body: [String: Any] {
        [
            "error": [
                "message": message, "type": type, "param": param as Any? ?? NSNull(),
                "code": code as Any? ?? NSNull(),
            ] as [String: Any]
        ]
    }
}
