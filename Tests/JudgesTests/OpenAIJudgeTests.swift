import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Judges

@Suite("openai judge against a loopback server")
struct OpenAIJudgeTests {
    @Test("scores are routed back to their requests, and the request carries the rubric and settings")
    func successPathAndRequestContent() async throws {
        let server = try LoopbackHTTPServer(handler: ChatTestSupport.routing)
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let requests = (1...6).map { ChatTestSupport.request($0) }
        let results = await judge.score(requests)
        #expect(results.map(\.value) == (1...6).map { Double($0) })
        #expect(server.requestCount == 6)

        let captured = try #require(server.requests.first)
        #expect(captured.method == "POST")
        #expect(captured.path == "/v1/chat/completions")
        #expect(captured.header("Authorization") == "Bearer \(ChatTestSupport.secret)")
        #expect(captured.header("Content-Type")?.hasPrefix("application/json") == true)
        let body = try #require(captured.jsonObject())
        #expect(body["model"] as? String == "loopback-judge")
        #expect((body["temperature"] as? NSNumber)?.doubleValue == 0)
        #expect((body["max_tokens"] as? NSNumber)?.intValue == 150)
        #expect((body["response_format"] as? [String: Any])?["type"] as? String == "json_object")
        let messages = captured.chatMessages
        #expect(messages.map(\.role) == ["system", "user"])
        #expect(messages[0].content.contains("mentions London"))
        #expect(messages[0].content.contains("\"score\""))
        #expect(messages[1].content.hasPrefix("Prompt:\nI think"))
        #expect(captured.judgedCompletion?.hasPrefix(" London is great, ") == true)
    }

    @Test("json-mode off sends no response_format; no key sends no Authorization header")
    func jsonModeOffAndNoKey() async throws {
        let server = try LoopbackHTTPServer(handler: ChatTestSupport.routing)
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, jsonMode: false, withKey: false)
        let results = await judge.score([ChatTestSupport.request(4)])
        #expect(results.first?.value == 4)
        let captured = try #require(server.requests.first)
        #expect(captured.jsonObject()?["response_format"] == nil)
        #expect(captured.header("Authorization") == nil)
        #expect(judge.identity["response-format"] == "text")
    }

    @Test("a slow answer times out and the retry succeeds")
    func timeoutThenRetry() async throws {
        let server = try LoopbackHTTPServer { request in
            request.index == 0 ? .score(9, delay: 600) : .score(7)
        }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, timeout: 1, retries: 1)
        let (results, seconds) = await ChatTestSupport.timed { await judge.score([ChatTestSupport.request(7)]) }
        #expect(results.first?.value == 7)
        #expect(server.requestCount == 2)
        // The value 7 (not the slow 9) already proves the first attempt was abandoned; timing only has a lower bound
        // because the suite may share two cores with other work.
        #expect(seconds >= 0.95, "took \(seconds) s")
    }

    @Test("timeouts on every attempt fail with a timeout error naming the attempts")
    func timeoutExhaustsRetries() async throws {
        let server = try LoopbackHTTPServer { _ in .score(5, delay: 600) }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, timeout: 0.3, retries: 1)
        let (results, seconds) = await ChatTestSupport.timed { await judge.score([ChatTestSupport.request(5)]) }
        guard case .timedOut(_, let limit, let attempts) = results.first?.judgeError else {
            Issue.record("expected a timeout, got \(String(describing: results.first))")
            return
        }
        #expect(limit == 0.3 && attempts == 2)
        _ = seconds  // no upper bound: the test pool shares two cores with CPU-bound suites
    }

    @Test("HTTP 500 is retried and the next answer is used")
    func serverErrorThenSuccess() async throws {
        let server = try LoopbackHTTPServer { request in request.index == 0 ? .status(500) : .score(8) }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let results = await judge.score([ChatTestSupport.request(8)])
        #expect(results.first?.value == 8)
        #expect(server.requestCount == 2)
    }

    @Test("persistent 5xx fails after 1 + retries attempts with the status in the message")
    func serverErrorExhaustsRetries() async throws {
        let server = try LoopbackHTTPServer { _ in .status(503) }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, retries: 2)
        let results = await judge.score([ChatTestSupport.request(3)])
        let error = try #require(results.first?.judgeError)
        #expect(
            error == .httpStatus(endpoint: server.baseURL + "/v1", status: 503, attempts: 3, excerpt: error.excerpt))
        #expect(error.description.contains("HTTP 503 (3 attempts)"))
        #expect(server.requestCount == 3)
    }

    @Test("HTTP 429 waits for Retry-After before retrying")
    func rateLimitHonoursRetryAfter() async throws {
        let server = try LoopbackHTTPServer { request in
            request.index == 0 ? .status(429, retryAfter: "1") : .score(6)
        }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let (results, seconds) = await ChatTestSupport.timed { await judge.score([ChatTestSupport.request(6)]) }
        #expect(results.first?.value == 6)
        #expect(server.requestCount == 2)
        #expect(seconds >= 0.95, "took \(seconds) s")
    }

    @Test("other 4xx answers are not retried, and 401 points at the key variable")
    func clientErrorIsNotRetried() async throws {
        let server = try LoopbackHTTPServer { _ in .status(401, message: "bad key") }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let results = await judge.score([ChatTestSupport.request(2)])
        let error = try #require(results.first?.judgeError)
        #expect(server.requestCount == 1)
        #expect(error.description.contains("HTTP 401"))
        #expect(error.description.contains("api-key-env"))
    }

    @Test("a body that is not JSON is a counted failure, not a crash, and is not retried")
    func malformedBody() async throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "{\"choices\": [ oops") }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let results = await judge.score([ChatTestSupport.request(2), ChatTestSupport.request(3)])
        #expect(results.count == 2)
        for result in results {
            guard case .malformedResponse = result.judgeError else {
                Issue.record("expected a malformed-response failure, got \(result)")
                continue
            }
        }
        #expect(server.requestCount == 2)
    }

    @Test("messages that are not {\"score\": integer 1...10} fail with a reason; fences and spaces are tolerated")
    func messageContents() async throws {
        let cases: [(content: String, expected: Double?)] = [
            ("{\"score\": 11}", nil), ("{\"score\": 0}", nil), ("{\"score\": 7.5}", nil), ("{\"score\": \"7\"}", nil),
            ("{\"score\": true}", nil), ("I would say 7", nil), ("{\"rating\": 7}", nil), ("[7]", nil),
            ("  {\"score\": 4}\n", 4), ("```json\n{\"score\": 6}\n```", 6), ("```\n{\"score\": 10}\n```", 10),
            ("{\"score\": 3.0}", 3), ("{\"score\": 1, \"reason\": \"none\"}", 1),
        ]
        let server = try LoopbackHTTPServer { request in
            let index = Int((request.judgedCompletion ?? "").filter(\.isNumber)) ?? 0
            return .chatCompletion(content: cases[index].content)
        }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let requests = cases.indices.map { JudgeRequest(prompt: "I think", completion: "case \($0)", criterion: "c") }
        let results = await judge.score(requests)
        for (index, item) in cases.enumerated() {
            if let expected = item.expected {
                #expect(results[index].value == expected, "\(item.content)")
            } else {
                guard case .invalidScore(let reason, _) = results[index].judgeError else {
                    Issue.record("\(item.content): expected an invalid-score failure, got \(results[index])")
                    continue
                }
                #expect(!reason.isEmpty)
            }
        }
        #expect(server.requestCount == cases.count, "invalid scores are not retried")
    }

    @Test("a connection closed mid-response is retried; if it keeps happening the call fails")
    func connectionClosedMidResponse() async throws {
        let flaky = try LoopbackHTTPServer { request in request.index == 0 ? .closeMidResponse() : .score(5) }
        defer { flaky.shutdown() }
        let recovered = try await ChatTestSupport.judge(flaky).score([ChatTestSupport.request(5)])
        #expect(recovered.first?.value == 5)
        #expect(flaky.requestCount == 2)

        let broken = try LoopbackHTTPServer { _ in .closeMidResponse() }
        defer { broken.shutdown() }
        let failed = try await ChatTestSupport.judge(broken, retries: 1).score([ChatTestSupport.request(5)])
        let error = try #require(failed.first?.judgeError)
        #expect(error.isRetryable, "a broken connection is a transport failure: \(error)")
        #expect(broken.requestCount == 2)
    }

    @Test("nothing listening: every call fails fast with 'cannot connect … is the server running?'")
    func endpointDown() async throws {
        let port = try LoopbackHTTPServer.unusedPort()
        let configuration = OpenAIJudgeConfiguration(
            baseURL: "http://127.0.0.1:\(port)/v1", model: "m", apiKeyEnvironmentVariable: "K", timeout: 5,
            retries: 2, backoffBase: 0.01, backoffLimit: 0.05)
        let judge = try OpenAIJudge(configuration: configuration, environment: ["K": ChatTestSupport.secret])
        let (results, seconds) = await ChatTestSupport.timed {
            await judge.score((1...3).map { ChatTestSupport.request($0) })
        }
        #expect(results.count == 3)
        for result in results {
            let error = try #require(result.judgeError)
            guard case .cannotConnect = error else {
                Issue.record("expected cannotConnect, got \(error)")
                continue
            }
            #expect(error.description.hasPrefix("Cannot connect to http://127.0.0.1:\(port)/v1"))
            #expect(error.description.contains("is the server running?"))
            #expect(!error.description.contains(ChatTestSupport.secret))
        }
        _ = seconds  // no upper bound: the test pool shares two cores with CPU-bound suites
    }

    @Test("no more than `concurrency` requests are in flight at once")
    func concurrencyLimit() async throws {
        let server = try LoopbackHTTPServer { request in
            .score(ChatTestSupport.routedScore(request.judgedCompletion ?? ""), delay: 0.25)
        }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, concurrency: 3)
        // Distinct prompts, so that no request is a duplicate of another.
        let requests = (0..<12).map { ChatTestSupport.request($0 % 10 + 1, prompt: "prompt \($0)") }
        let results = await judge.score(requests)
        #expect(results.map(\.value) == (0..<12).map { Double($0 % 10 + 1) })
        #expect(server.requestCount == 12)
        #expect(server.maxConcurrentRequests <= 3)
        #expect(server.maxConcurrentRequests >= 2, "requests should overlap")
    }

    @Test("duplicates in a batch reach the server once; later calls hit the cache")
    func cacheDeduplicates() async throws {
        let server = try LoopbackHTTPServer(handler: ChatTestSupport.routing)
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        let batch = [
            ChatTestSupport.request(4), ChatTestSupport.request(9), ChatTestSupport.request(4),
            ChatTestSupport.request(4),
        ]
        let first = await judge.score(batch)
        #expect(first.map(\.value) == [4, 9, 4, 4])
        #expect(server.requestCount == 2)
        let second = await judge.score(batch + [ChatTestSupport.request(4, prompt: "Breaking news")])
        #expect(second.map(\.value) == [4, 9, 4, 4, 4])
        #expect(server.requestCount == 3, "only the new prompt is sent")
        #expect(await judge.cache.count == 3)
    }

    @Test("failures are not cached: a later call tries again")
    func failuresAreNotCached() async throws {
        let server = try LoopbackHTTPServer { request in request.index == 0 ? .status(400) : .score(2) }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server)
        #expect(await judge.score([ChatTestSupport.request(2)]).first?.judgeError != nil)
        #expect(await judge.score([ChatTestSupport.request(2)]).first?.value == 2)
    }

    @Test("the API key appears in no identity, error, description or dump")
    func keyNeverLeaks() async throws {
        let secret = ChatTestSupport.secret
        let server = try LoopbackHTTPServer { request in
            switch request.index {
            case 0: .status(401, message: "Incorrect API key provided: \(secret)")
            default: .chatCompletion(content: "your key is \(secret)")
            }
        }
        defer { server.shutdown() }
        let judge = try ChatTestSupport.judge(server, retries: 0)
        let unauthorized = await judge.score([ChatTestSupport.request(1)])
        let leaky = await judge.score([ChatTestSupport.request(2)])
        #expect(server.requests.first?.header("Authorization") == "Bearer \(secret)", "the key is sent")
        var texts = [RecipeValue.object(judge.identity).canonicalJSON, String(describing: judge)]
        for result in unauthorized + leaky {
            let error = try #require(result.judgeError)
            texts += [error.description, String(describing: error), String(reflecting: error)]
        }
        var dumped = ""
        dump(judge, to: &dumped)
        texts.append(dumped)
        texts.append(String(describing: judge.configuration))
        for text in texts { #expect(!text.contains(secret), "leaked in: \(text)") }
        #expect(unauthorized.first?.judgeError?.description.contains("<redacted>") == true)
    }

    @Test("identity records endpoint host/path, model, rubric, temperature, max_tokens and format, nothing secret")
    func identityContents() throws {
        let configuration = OpenAIJudgeConfiguration(
            baseURL: "https://user:pw@judge.example.org:8443/v1/?token=abc", model: "m1")
        let judge = try OpenAIJudge(configuration: configuration, environment: [:])
        #expect(judge.identity["kind"] == "openai")
        #expect(judge.identity["endpoint"] == "judge.example.org/v1")
        #expect(judge.identity["model"] == "m1")
        #expect(judge.identity["rubric-version"] == .int(JudgeRubric.version))
        #expect(judge.identity["temperature"] == .double(0))
        #expect(judge.identity["max-tokens"] == 150)
        #expect(judge.identity["response-format"] == "json_object")
        let text = RecipeValue.object(judge.identity).canonicalJSON
        for secret in ["user:", "pw@", "token=", "abc", "8443"] { #expect(!text.contains(secret)) }
        #expect(configuration.displayURL == "https://judge.example.org:8443/v1")
        #expect(
            try configuration.endpoint.absoluteString.hasPrefix(
                "https://user:pw@judge.example.org:8443/v1/chat/completions"))
    }

    @Test("api.openai.com without a key is refused up front, naming the variable")
    func openAIRequiresKey() {
        let configuration = OpenAIJudgeConfiguration(apiKeyEnvironmentVariable: "MY_JUDGE_KEY")
        let error = #expect(throws: SteeringError.self) {
            try OpenAIJudge(configuration: configuration, environment: [:])
        }
        #expect(error?.description.contains("MY_JUDGE_KEY") == true)
    }
}

extension JudgeError {
    /// The excerpt of an HTTP-status failure (for equality checks that ignore it).
    var excerpt: String {
        if case .httpStatus(_, _, _, let excerpt) = self { return excerpt }
        return ""
    }
}
