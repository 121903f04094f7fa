import Foundation
public import SteeringCore

/// One steering term of a request: where its direction comes from, how strongly and where it is added.
public struct SteeringSpec: Sendable, Equatable {
    /// Where the direction comes from.
    public enum Source: Sendable, Equatable {
        /// A vector artifact of the server's store, by alias, key or unique key prefix.
        case vector(String)
        /// Decoder row of a feature of the server's dictionary (`--sae`).
        case feature(Int)
        /// The direction given inline.
        case values([Float])
    }

    public var source: Source
    public var scale: Float
    /// Block after which it is added; nil takes the vector's recorded layer or the dictionary's.
    public var layer: Int?
    public var positions: PositionPolicy

    public init(source: Source, scale: Float, layer: Int? = nil, positions: PositionPolicy = .all) {
        self.source = source
        self.scale = scale
        self.layer = layer
        self.positions = positions
    }
}

/// What a client may send to `/v1/completions` or `/v1/chat/completions`, checked.
public struct CompletionRequest: Sendable, Equatable {
    /// The prompt as the client gave it.
    public enum Prompt: Sendable, Equatable {
        /// Text prompts (BOS is added when encoding).
        case texts([String])
        /// Token id prompts, used as given.
        case tokens([[Int32]])
        /// Chat messages, rendered with the model's chat template.
        case chat([ChatMessage])
    }

    public var prompt: Prompt
    /// The `model` field (any value is accepted; the server serves one model).
    public var model: String?
    /// Nil: the endpoint's default (16 for completions, the rest of the context for chat).
    public var maxTokens: Int?
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    /// Nil: a fresh random seed per request.
    public var seed: UInt64?
    public var n: Int
    public var stop: [String]
    public var stream: Bool
    /// Generate `max_tokens` tokens even past the end-of-sequence token (`ignore_eos`, as llama-server).
    public var ignoreEOS: Bool
    /// Whether the usage block is sent at the end of a stream (`stream_options.include_usage`).
    public var streamUsage: Bool
    public var steering: [SteeringSpec]

    /// Most choices per request.
    public static let maxChoices = 16
    /// Most steering terms per request.
    public static let maxSteeringTerms = 16
    /// Most stop strings (as OpenAI).
    public static let maxStopStrings = 4

    /// Parses a request body. `chat` selects the chat endpoint's fields (`messages` instead of `prompt`).
    /// - Throws: ``APIError`` (400) naming the field for malformed JSON, missing or mistyped fields and
    ///   out-of-range values (`max_tokens` ≤ 0, non-finite scales, …).
    public static func parse(_ body: [UInt8], chat: Bool) throws(APIError) -> CompletionRequest {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw .invalid(
                "The request body is not valid JSON (\(body.count) bytes): \(error.localizedDescription) "
                    + "Send a JSON object with Content-Type: application/json.")
        }
        guard let json = object as? [String: Any] else {
            throw .invalid("The request body must be a JSON object, not \(Self.typeName(object)).")
        }
        let fields = Fields(json)
        let prompt: Prompt
        if chat {
            guard let raw = json["messages"] else {
                throw .invalid("'messages' is required: a list of {\"role\", \"content\"} objects.", param: "messages")
            }
            prompt = .chat(try parseMessages(raw))
        } else {
            guard let raw = json["prompt"] else {
                throw .invalid(
                    "'prompt' is required: a string, a list of strings or a list of token ids.", param: "prompt")
            }
            prompt = try parsePrompt(raw)
        }
        var maxTokens = try fields.int("max_tokens")
        if chat, maxTokens == nil { maxTokens = try fields.int("max_completion_tokens") }
        if let maxTokens, maxTokens <= 0 {
            throw .invalid("'max_tokens' must be at least 1, got \(maxTokens).", param: "max_tokens")
        }
        let temperature = try fields.float("temperature") ?? 1
        guard temperature >= 0, temperature.isFinite else {
            throw .invalid("'temperature' must be ≥ 0 and finite, got \(temperature).", param: "temperature")
        }
        let topP = try fields.float("top_p") ?? 1
        guard topP > 0, topP <= 1 else {
            throw .invalid("'top_p' must be in (0, 1], got \(topP).", param: "top_p")
        }
        let topK = try fields.int("top_k") ?? 0
        guard topK >= 0 else { throw .invalid("'top_k' must be ≥ 0 (0 disables it), got \(topK).", param: "top_k") }
        let seed = try fields.int("seed")
        let n = try fields.int("n") ?? 1
        guard (1...maxChoices).contains(n) else {
            throw .invalid("'n' must be between 1 and \(maxChoices), got \(n).", param: "n")
        }
        let stop = try parseStop(json["stop"])
        let stream = try fields.bool("stream") ?? false
        let ignoreEOS = try fields.bool("ignore_eos") ?? false
        var streamUsage = false
        if let options = json["stream_options"], !(options is NSNull) {
            guard let options = options as? [String: Any] else {
                throw .invalid("'stream_options' must be an object.", param: "stream_options")
            }
            streamUsage = try Fields(options, prefix: "stream_options.").bool("include_usage") ?? false
        }
        let steering = try parseSteering(json["steering"])
        return CompletionRequest(
            prompt: prompt, model: json["model"] as? String, maxTokens: maxTokens, temperature: temperature,
            topK: topK, topP: topP, seed: seed.map { UInt64(bitPattern: Int64($0)) }, n: n, stop: stop,
            stream: stream, ignoreEOS: ignoreEOS, streamUsage: streamUsage, steering: steering)
    }

    // MARK: Fields

    /// Typed access to optional fields; `null` counts as absent.
    struct Fields {
        let json: [String: Any]
        var prefix = ""

        init(_ json: [String: Any], prefix: String = "") {
            self.json = json
            self.prefix = prefix
        }

        func value(_ key: String) -> Any? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            return value
        }

        func int(_ key: String) throws(APIError) -> Int? {
            guard let value = value(key) else { return nil }
            guard let number = value as? NSNumber, !CompletionRequest.isBool(number),
                let double = Double(exactly: number.doubleValue), double.rounded() == double,
                abs(double) < 9.0e18
            else {
                throw .invalid("'\(prefix)\(key)' must be an integer, got \(describe(value)).", param: prefix + key)
            }
            return number.intValue
        }

        func float(_ key: String) throws(APIError) -> Float? {
            guard let value = value(key) else { return nil }
            guard let number = value as? NSNumber, !CompletionRequest.isBool(number) else {
                throw .invalid("'\(prefix)\(key)' must be a number, got \(describe(value)).", param: prefix + key)
            }
            let float = Float(number.doubleValue)
            guard float.isFinite else {
                throw .invalid(
                    "'\(prefix)\(key)' must be a finite number, got \(number.doubleValue) (beyond float range).",
                    param: prefix + key)
            }
            return float
        }

        func bool(_ key: String) throws(APIError) -> Bool? {
            guard let value = value(key) else { return nil }
            guard let number = value as? NSNumber, CompletionRequest.isBool(number) else {
                throw .invalid("'\(prefix)\(key)' must be true or false, got \(describe(value)).", param: prefix + key)
            }
            return number.boolValue
        }

        func string(_ key: String) throws(APIError) -> String? {
            guard let value = value(key) else { return nil }
            guard let string = value as? String else {
                throw .invalid("'\(prefix)\(key)' must be a string, got \(describe(value)).", param: prefix + key)
            }
            return string
        }
    }

    /// Whether JSONSerialization produced `number` from `true`/`false` (booleans have type "c").
    static func isBool(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    static func typeName(_ value: Any) -> String {
        switch value {
        case is String: return "a string"
        case let number as NSNumber: return isBool(number) ? "a boolean" : "a number"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        case is NSNull: return "null"
        default: return "\(type(of: value))"
        }
    }

    static func describe(_ value: Any) -> String {
        switch value {
        case let string as String: return "the string \"\(string.prefix(40))\""
        case let number as NSNumber where !isBool(number): return "\(number)"
        default: return typeName(value)
        }
    }

    // MARK: Prompt and messages

    static func parsePrompt(_ raw: Any) throws(APIError) -> Prompt {
        if let text = raw as? String { return .texts([text]) }
        guard let list = raw as? [Any], !list.isEmpty else {
            throw .invalid(
                "'prompt' must be a string, a non-empty list of strings or a list of token ids, got \(describe(raw)).",
                param: "prompt")
        }
        if let texts = list as? [String] { return .texts(texts) }
        func tokens(_ items: [Any]) throws(APIError) -> [Int32] {
            var out = [Int32]()
            for item in items {
                guard let number = item as? NSNumber, !isBool(number), let id = Int32(exactly: number.doubleValue)
                else {
                    throw .invalid(
                        "'prompt' token lists must hold integer token ids, got \(describe(item)).", param: "prompt")
                }
                out.append(id)
            }
            return out
        }
        if list.allSatisfy({ $0 is NSNumber }) { return .tokens([try tokens(list)]) }
        var prompts = [[Int32]]()
        for item in list {
            guard let inner = item as? [Any] else {
                throw .invalid("'prompt' mixes strings, numbers and lists; give one kind.", param: "prompt")
            }
            prompts.append(try tokens(inner))
        }
        return .tokens(prompts)
    }

    static func parseMessages(_ raw: Any) throws(APIError) -> [ChatMessage] {
        guard let list = raw as? [Any] else {
            throw .invalid("'messages' must be a list of {\"role\", \"content\"} objects.", param: "messages")
        }
        var messages = [ChatMessage]()
        for (i, item) in list.enumerated() {
            guard let object = item as? [String: Any] else {
                throw .invalid("messages[\(i)] must be an object with 'role' and 'content'.", param: "messages")
            }
            guard let role = object["role"] as? String else {
                throw .invalid("messages[\(i)].role must be a string.", param: "messages")
            }
            let content: String
            switch object["content"] {
            case let text as String:
                content = text
            case let parts as [Any]:
                var text = ""
                for part in parts {
                    guard let part = part as? [String: Any], part["type"] as? String == "text",
                        let piece = part["text"] as? String
                    else {
                        throw .invalid(
                            "messages[\(i)].content: only text parts ({\"type\": \"text\", \"text\": ...}) are supported.",
                            param: "messages")
                    }
                    text += piece
                }
                content = text
            default:
                throw .invalid("messages[\(i)].content must be a string or a list of text parts.", param: "messages")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        return messages
    }

    static func parseStop(_ raw: Any?) throws(APIError) -> [String] {
        guard let raw, !(raw is NSNull) else { return [] }
        var stops: [String]
        if let one = raw as? String {
            stops = [one]
        } else if let many = raw as? [String] {
            stops = many
        } else {
            throw .invalid("'stop' must be a string or a list of strings, got \(describe(raw)).", param: "stop")
        }
        stops.removeAll { $0.isEmpty }
        guard stops.count <= maxStopStrings else {
            throw .invalid("'stop' has \(stops.count) strings; at most \(maxStopStrings) are allowed.", param: "stop")
        }
        return stops
    }

    // MARK: Steering

    static func parseSteering(_ raw: Any?) throws(APIError) -> [SteeringSpec] {
        guard let raw, !(raw is NSNull) else { return [] }
        guard let list = raw as? [Any] else {
            throw .invalid(
                "'steering' must be a list of {\"vector\" | \"feature\" | \"values\", \"scale\", \"layer\"?} objects.",
                param: "steering")
        }
        guard list.count <= maxSteeringTerms else {
            throw .invalid(
                "'steering' has \(list.count) terms; at most \(maxSteeringTerms) are allowed.", param: "steering")
        }
        var specs = [SteeringSpec]()
        for (i, item) in list.enumerated() {
            let name = "steering[\(i)]"
            guard let object = item as? [String: Any] else {
                throw .invalid("\(name) must be an object.", param: name)
            }
            let fields = Fields(object, prefix: name + ".")
            let given = ["vector", "feature", "values"].filter { fields.value($0) != nil }
            guard given.count == 1 else {
                throw .invalid(
                    "\(name) needs exactly one of 'vector' (a store alias or key), 'feature' (an SAE feature index) "
                        + "or 'values' (the direction inline); it has \(given.isEmpty ? "none" : given.joined(separator: ", ")).",
                    param: name)
            }
            let source: SteeringSpec.Source
            switch given[0] {
            case "vector":
                guard let reference = try fields.string("vector"), !reference.isEmpty else {
                    throw .invalid("\(name).vector must be a non-empty alias or key.", param: name + ".vector")
                }
                source = .vector(reference)
            case "feature":
                let feature = try fields.int("feature")!
                guard feature >= 0 else {
                    throw .invalid(
                        "\(name).feature must be a feature index ≥ 0, got \(feature).", param: name + ".feature")
                }
                source = .feature(feature)
            default:
                guard let values = fields.value("values") as? [Any], !values.isEmpty else {
                    throw .invalid("\(name).values must be a non-empty list of numbers.", param: name + ".values")
                }
                var floats = [Float]()
                floats.reserveCapacity(values.count)
                for (j, value) in values.enumerated() {
                    guard let number = value as? NSNumber, !isBool(number), Float(number.doubleValue).isFinite else {
                        throw .invalid(
                            "\(name).values[\(j)] must be a finite number, got \(describe(value)).",
                            param: name + ".values")
                    }
                    floats.append(Float(number.doubleValue))
                }
                source = .values(floats)
            }
            guard let scale = try fields.float("scale") else {
                throw .invalid("\(name).scale is required (a finite number, e.g. 8).", param: name + ".scale")
            }
            let layer = try fields.int("layer")
            if let layer, layer < 0 {
                throw .invalid("\(name).layer must be a block index ≥ 0, got \(layer).", param: name + ".layer")
            }
            var positions = PositionPolicy.all
            if let scope = try fields.string("positions") {
                guard let parsed = PositionPolicy.Scope(rawValue: scope) else {
                    throw .invalid(
                        "\(name).positions must be all, prompt or generated, got '\(scope)'.",
                        param: name + ".positions")
                }
                positions.scope = parsed
            }
            if let includeBOS = try fields.bool("include_bos") { positions.includeBOS = includeBOS }
            specs.append(SteeringSpec(source: source, scale: scale, layer: layer, positions: positions))
        }
        return specs
    }
}
