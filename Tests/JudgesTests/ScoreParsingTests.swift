import Foundation
import Testing

@testable import Judges

@Suite("score parsing, retry policy and rubric")
struct ScoreParsingTests {
    @Test(
        "valid messages",
        arguments: [
            ("{\"score\": 7}", 7.0), ("{\"score\":1}", 1), (" \n{\"score\": 10} \n", 10),
            ("```json\n{\"score\": 2}\n```", 2), ("```{\"score\": 3}```", 3), ("```json {\"score\": 5}```", 5),
            ("{\"score\": 9.0}", 9), ("{\"reason\": \"x\", \"score\": 4}", 4),
        ])
    func validMessages(content: String, expected: Double) throws {
        #expect(try ScoreParsing.score(fromMessage: content).get() == expected)
    }

    @Test(
        "invalid messages",
        arguments: [
            "", "7", "{}", "{\"score\": null}", "{\"score\": \"7\"}", "{\"score\": false}", "{\"score\": 0}",
            "{\"score\": 11}", "{\"score\": -3}", "{\"score\": 6.5}", "{\"score\": [7]}", "score: 7",
            "[{\"score\": 7}]",
            "{\"score\": 7} and more",
        ])
    func invalidMessages(content: String) {
        guard case .failure(.invalidScore(let reason, _)) = ScoreParsing.score(fromMessage: content) else {
            Issue.record("'\(content)' should be rejected")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test("response bodies: content is read from choices[0].message.content")
    func responseBodies() throws {
        let good = #"{"choices":[{"message":{"role":"assistant","content":"{\"score\": 8}"}}]}"#
        #expect(try ScoreParsing.score(fromResponseBody: Array(good.utf8)).get() == 8)
        for bad in ["", "nope", "[]", #"{"choices":[]}"#, #"{"choices":[{"message":{"content":null}}]}"#, #"{"x":1}"#] {
            guard case .failure(.malformedResponse) = ScoreParsing.score(fromResponseBody: Array(bad.utf8)) else {
                Issue.record("'\(bad)' should be a malformed response")
                continue
            }
        }
    }

    @Test("Retry-After: seconds and HTTP dates")
    func retryAfter() {
        #expect(RetryPolicy.retryAfterSeconds("2") == 2)
        #expect(RetryPolicy.retryAfterSeconds(" 1.5 ") == 1.5)
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // Wed, 21 Oct 2015 07:27:50 GMT
        let seconds = RetryPolicy.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", now: now)
        #expect(seconds.map { abs($0 - 10) < 0.001 } == true)
        #expect(RetryPolicy.retryAfterSeconds("soon") == nil)
    }

    @Test("backoff doubles up to the limit, jitter stays in [0.5, 1), and Retry-After wins when longer")
    func backoff() {
        let policy = RetryPolicy(retries: 5, base: 0.5, limit: 4, retryAfterLimit: 10)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, unit: 0) == 0.25)
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, unit: 0.999_999) < 1)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, unit: 0) == 1)
        #expect(policy.delay(afterAttempt: 10, retryAfter: nil, unit: 0) == 2)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 3, unit: 0.5) == 3)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 60, unit: 0.5) == 10)
        #expect(policy.maxAttempts == 6)
    }

    @Test("the rubric states the criterion, the scale and the JSON answer; the user message quotes the text")
    func rubric() {
        let system = JudgeRubric.systemMessage(criterion: "discusses a wedding")
        #expect(system.contains("discusses a wedding"))
        #expect(system.contains("1 to 10"))
        #expect(system.contains("\"score\""))
        let user = JudgeRubric.userMessage(prompt: "I think", completion: " we should marry")
        #expect(user == "Prompt:\nI think\n\nCompletion:\n\"\"\"\n we should marry\n\"\"\"")
    }

    @Test("the API key redacts itself and never prints")
    func apiKey() throws {
        let key = try #require(APIKey("sk-abc123"))
        #expect("\(key)" == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
        #expect(key.redact("bad key sk-abc123 given") == "bad key <redacted> given")
        #expect(key.authorizationHeader == "Bearer sk-abc123")
        #expect(APIKey("  ") == nil && APIKey(nil) == nil)
    }
}
