import ArtifactStore
import Foundation
import Hummingbird
import Logging
import NIOEmbedded
import SteeringCore
import SteeringServer
import SteeringTestSupport
import Testing

/// A server application on the demo model with a temporary store holding one vector
/// (`vector/test/one`, layer 2) and one of the wrong width (`vector/test/narrow`).
func makeApplication(apiKey: String? = nil) throws -> (ServerApplication, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serve-test-\(UUID().uuidString)")
        .path
    let writable = try ArtifactStore(path: directory)
    let good = try writable.put(
        recipe: Recipe(kind: .vector, algorithm: "test", parameters: ["layer": .int(2), "n": .int(1)]),
        floats: seededVector(7), shape: [256])
    try writable.setAlias("vector/test/one", to: good)
    let narrow = try writable.put(
        recipe: Recipe(kind: .vector, algorithm: "test", parameters: ["layer": .int(2), "n": .int(2)]),
        floats: [Float](repeating: 1, count: 10), shape: [10])
    try writable.setAlias("vector/test/narrow", to: narrow)
    var configuration = ServerConfiguration()
    configuration.apiKey = apiKey
    configuration.logRequests = false
    configuration.maxBodyBytes = 4096
    let application = try ServerApplication(
        backend: demoBackend, store: writable, dictionary: nil, configuration: configuration)
    return (application, directory)
}

/// Runs one request through the server's router (API-key and error middleware included, no socket);
/// returns status and decoded JSON. `tooLarge` sends a body one byte over the limit instead of `body`.
func call(
    _ application: ServerApplication, _ method: String, _ path: String, _ body: String = "",
    authorization: String? = nil, tooLarge: Bool = false
) async throws -> (Int, [String: Any]) {
    let responder = HTTPServer(application: application).makeRouter().buildResponder()
    var headers = HTTPFields()
    if let authorization { headers[.authorization] = authorization }
    let head = HTTPRequest(
        method: try #require(HTTPRequest.Method(method)), scheme: "http", authority: "127.0.0.1", path: path,
        headerFields: headers)
    let text = tooLarge ? String(repeating: " ", count: application.configuration.maxBodyBytes + 1) : body
    let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(string: text)))
    let context = ServeRequestContext(source: .init(channel: EmbeddedChannel(), logger: Logger(label: "test")))
    let response = try await responder.respond(to: request, context: context)
    let collected = CollectedBody()
    try await response.body.write(BodyCollector(target: collected))
    #expect(response.headers[.contentType] == "application/json", "\(method) \(path)")
    return (response.status.code, try JSONSerialization.jsonObject(with: collected.data) as! [String: Any])
}

/// The bytes a response body wrote.
final class CollectedBody: @unchecked Sendable {
    var data = Data()
}

struct BodyCollector: ResponseBodyWriter {
    let target: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        target.data.append(contentsOf: buffer.readableBytesView)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

func errorField(_ json: [String: Any], _ key: String) -> String? {
    (json["error"] as? [String: Any])?[key] as? String
}

@Suite("Server requests: parsing, steering resolution, errors")
struct RequestTests {
    @Test("bad input gets an OpenAI error object with the right status, param and code; the server keeps serving")
    func badInput() async throws {
        let (app, directory) = try makeApplication()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String, Int, String?, String?)] = [
            ("/v1/completions", "{not json", 400, nil, nil),
            ("/v1/completions", "[1, 2]", 400, nil, nil),
            ("/v1/completions", #"{"max_tokens": 4}"#, 400, "prompt", nil),
            ("/v1/completions", #"{"prompt": "hi", "max_tokens": 0}"#, 400, "max_tokens", nil),
            ("/v1/completions", #"{"prompt": "hi", "max_tokens": -3}"#, 400, "max_tokens", nil),
            ("/v1/completions", #"{"prompt": "hi", "max_tokens": "ten"}"#, 400, "max_tokens", nil),
            ("/v1/completions", #"{"prompt": "hi", "temperature": -1}"#, 400, "temperature", nil),
            ("/v1/completions", #"{"prompt": "hi", "n": 0}"#, 400, "n", nil),
            ("/v1/completions", #"{"prompt": "hi", "stop": 5}"#, 400, "stop", nil),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"vector": "vector/nope", "scale": 2}]}"#, 404,
                "steering[0].vector", "vector_not_found"
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"vector": "vector/test/narrow", "scale": 2}]}"#,
                400,
                "steering[0].vector", "wrong_vector_width"
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"values": [1, 2, 3], "scale": 2, "layer": 1}]}"#,
                400,
                "steering[0].values", "wrong_vector_width"
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"vector": "vector/test/one", "scale": NaN}]}"#, 400,
                nil, nil
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"vector": "vector/test/one", "scale": 1e39}]}"#,
                400,
                "steering[0].scale", nil
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"vector": "vector/test/one"}]}"#, 400,
                "steering[0].scale", nil
            ),
            (
                "/v1/completions",
                #"{"prompt": "hi", "steering": [{"vector": "vector/test/one", "scale": 1, "layer": 9}]}"#,
                400, "steering[0].layer", nil
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"feature": 3, "scale": 1}]}"#, 400,
                "steering[0].feature", nil
            ),
            (
                "/v1/completions", #"{"prompt": "hi", "steering": [{"values": [1], "vector": "x", "scale": 1}]}"#, 400,
                "steering[0]", nil
            ),
            ("/v1/completions", #"{"prompt": "hi", "steering": {"vector": "x"}}"#, 400, "steering", nil),
            ("/v1/completions", #"{"prompt": [1, 99999]}"#, 400, "prompt", nil),
            ("/v1/completions", #"{"prompt": "hi", "max_tokens": 300}"#, 400, "max_tokens", "context_length_exceeded"),
            (
                "/v1/completions", "{\"prompt\": \"\(String(repeating: "word ", count: 300))\"}", 400, "prompt",
                "context_length_exceeded"
            ),
            ("/v1/chat/completions", #"{"messages": []}"#, 400, "messages", nil),
            ("/v1/chat/completions", #"{"messages": [{"role": "assistant", "content": "x"}]}"#, 400, "messages", nil),
            ("/v1/chat/completions", #"{"prompt": "hi"}"#, 400, "messages", nil),
        ]
        for (path, body, status, param, code) in cases {
            let (got, json) = try await call(app, "POST", path, body)
            #expect(got == status, "\(body.prefix(80)): status \(got) \(json)")
            #expect(errorField(json, "type") != nil && errorField(json, "message") != nil, "\(body.prefix(80))")
            if let param { #expect(errorField(json, "param") == param, "\(body.prefix(80)): \(json)") }
            if let code { #expect(errorField(json, "code") == code, "\(body.prefix(80)): \(json)") }
        }
        let (large, largeJSON) = try await call(app, "POST", "/v1/completions", "", tooLarge: true)
        #expect(large == 413 && errorField(largeJSON, "code") == "request_too_large")
        let (missing, _) = try await call(app, "GET", "/v1/nothing")
        #expect(missing == 404)
        let (wrongMethod, _) = try await call(app, "GET", "/v1/completions")
        #expect(wrongMethod == 405)
        // Still serving.
        let (ok, json) = try await call(
            app, "POST", "/v1/completions", #"{"prompt": "The weather", "max_tokens": 3, "temperature": 0}"#)
        #expect(ok == 200)
        let choices = json["choices"] as? [[String: Any]] ?? []
        #expect(choices.count == 1 && (json["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0 > 0)
        app.scheduler.stop()
    }

    @Test("an API key is required when configured and compared exactly")
    func apiKey() async throws {
        let (app, directory) = try makeApplication(apiKey: "s3cret")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try await call(app, "GET", "/v1/models").0 == 401)
        #expect(try await call(app, "GET", "/v1/models", authorization: "Bearer wrong").0 == 401)
        #expect(try await call(app, "GET", "/v1/models", authorization: "Bearer s3cret").0 == 200)
        #expect(try await call(app, "GET", "/health").0 == 200)
        app.scheduler.stop()
    }

    @Test("steering resolves aliases to the recorded layer; the listing shows the store's vectors")
    func steeringResolution() async throws {
        let (app, directory) = try makeApplication()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let interventions = try app.resolver.interventions(for: [
            SteeringSpec(source: .vector("vector/test/one"), scale: 8),
            SteeringSpec(
                source: .values(seededVector(3)), scale: 2, layer: 4, positions: PositionPolicy(scope: .generatedOnly)),
        ])
        #expect(interventions.map(\.site.layer) == [2, 4])
        #expect(interventions[0].vector == seededVector(7) && interventions[0].scale == 8)
        #expect(interventions[1].positions.scope == .generatedOnly)
        let (status, listing) = try await call(app, "GET", "/v1/steering/vectors")
        #expect(status == 200)
        let ids = (listing["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }.sorted()
        #expect(ids == ["vector/test/narrow", "vector/test/one"])
        let (modelsStatus, models) = try await call(app, "GET", "/v1/models")
        #expect(modelsStatus == 200 && (models["data"] as? [[String: Any]])?.first?["id"] as? String == "model")
        app.scheduler.stop()
    }

    @Test("the Gemma chat template renders turns as the tokenizer's template does")
    func chatTemplate() throws {
        let text = try GemmaChatTemplate.render([
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: " Hi "),
            ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "Weather?"),
        ])
        #expect(
            text
                == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
                + "<start_of_turn>user\nWeather?<end_of_turn>\n<start_of_turn>model\n")
        let tokens = demoBackend.encode(text, addBOS: true)
        #expect(tokens.prefix(2) == [2, 5], "BOS then <start_of_turn> as one special token: \(tokens.prefix(4))")
    }

    @Test("stop strings cut the text and stream only final text")
    func stopStrings() async throws {
        let (app, directory) = try makeApplication()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, plain) = try await call(
            app, "POST", "/v1/completions", #"{"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0}"#)
        let text = ((plain["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        let words = text.split(separator: " ")
        try #require(words.count >= 3, "completion: \(text)")
        let stop = String(words[2])
        let body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 12, \"temperature\": 0, \"stop\": [\"\(stop)\"]}"
        let (_, cut) = try await call(app, "POST", "/v1/completions", body)
        let choice = (cut["choices"] as? [[String: Any]])?.first ?? [:]
        let expected = String(text[..<text.range(of: stop)!.lowerBound])
        #expect(choice["text"] as? String == expected)
        #expect(choice["finish_reason"] as? String == "stop")
        app.scheduler.stop()
    }
}
