import Foundation
import GemmaTokenizer
import SteeringTestSupport
import Testing

/// Load time and encode throughput on the real tokenizer (printed; bounds are generous so that a loaded CI
/// machine does not fail them, but quadratic merging or a slow loader would).
@Suite(
    "Gemma tokenizer: performance", .serialized,
    .enabled(if: RealTokenizer.enabled, "STEER_SKIP_REAL_TOKENIZER=1"))
struct PerformanceTests {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func measureEncoding(_ tokenizer: GemmaTokenizer, _ label: String) throws {
        let fixture = try ReferenceFixture.require()
        let texts = fixture.encodeCases.map(\.text)
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var tokens = 0
        let elapsed = seconds {
            for text in texts { tokens += tokenizer.encode(text).count }
        }
        print(
            String(
                format: "[tokenizer] %@: encoded %d texts, %.2f MB, %d tokens in %.3f s: %.2f MB/s, %.0f ktokens/s",
                label, texts.count, Double(bytes) / 1e6, tokens, elapsed, Double(bytes) / 1e6 / elapsed,
                Double(tokens) / 1e3 / elapsed))

        // One word (no spaces, no added tokens) of 200,000 letters: O(n log n) merging keeps this fast.
        var generator = SeededGenerator(seed: 42)
        let letters = Array("abcdefghijklmnopqrstuvwxyz".unicodeScalars)
        var word = String.UnicodeScalarView()
        for _ in 0..<200_000 { word.append(letters[Int(generator.next() % 26)]) }
        let longText = String(word)
        var count = 0
        let longElapsed = seconds { count = tokenizer.encode(longText).count }
        print(
            String(format: "[tokenizer] %@: one 200,000-letter word → %d tokens in %.3f s", label, count, longElapsed))
        #expect(longElapsed < 30, "\(label): a 200k-letter word took \(longElapsed) s")
        #expect(elapsed < 300, "\(label): encoding the fixture took \(elapsed) s")
    }

    @Test("tokenizer.model: load time and encode throughput")
    func sentencePiece() throws {
        _ = try RealTokenizer.requireModel()
        var tokenizer: GemmaTokenizer?
        let load = try seconds { tokenizer = try GemmaTokenizer(sentencePieceModel: RealTokenizer.modelPath) }
        print(String(format: "[tokenizer] tokenizer.model: loaded in %.3f s", load))
        #expect(load < 120, "a guard against pathological loading, not a performance claim")
        try measureEncoding(try #require(tokenizer), "tokenizer.model")
    }

    @Test(
        "tokenizer.json: load time and encode throughput",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func json() throws {
        _ = try RealTokenizer.requireJSON()
        var tokenizer: GemmaTokenizer?
        let load = try seconds { tokenizer = try GemmaTokenizer(tokenizerJSON: RealTokenizer.jsonPath) }
        print(String(format: "[tokenizer] tokenizer.json: loaded in %.3f s", load))
        #expect(load < 120, "a guard against pathological loading, not a performance claim")
        try measureEncoding(try #require(tokenizer), "tokenizer.json")
    }
}
