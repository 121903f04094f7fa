import Foundation
import GemmaTokenizer
import Testing

/// Every case of the committed HF reference fixture, on both load paths.
@Suite("Gemma tokenizer: HF reference parity", .enabled(if: RealTokenizer.enabled, "STEER_SKIP_REAL_TOKENIZER=1"))
struct ReferenceParityTests {
    @Test("Fixture header matches the tokenizer")
    func header() throws {
        let fixture = try ReferenceFixture.require()
        #expect(fixture.header.tokenizer_sha256 == RealTokenizer.expectedSHA256)
        #expect(fixture.encodeCases.count == fixture.header.encode_cases)
        #expect(fixture.decodeCases.count == fixture.header.decode_cases)
        #expect(fixture.encodeCases.count >= 20_000)
    }

    private func checkEncode(_ tokenizer: GemmaTokenizer, _ label: String) throws {
        let fixture = try ReferenceFixture.require()
        var failures = 0
        for item in fixture.encodeCases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids {
                failures += 1
                if failures <= 5 {
                    Issue.record(
                        "\(label): encode(\"\(escaped(item.text))\")\n  got      \(ids)\n  expected \(item.ids)")
                }
            }
        }
        #expect(failures == 0, "\(label): \(failures) of \(fixture.encodeCases.count) encodings differ from HF")
    }

    private func checkDecode(_ tokenizer: GemmaTokenizer, _ label: String) throws {
        let fixture = try ReferenceFixture.require()
        var failures = 0
        for item in fixture.decodeCases {
            let text = tokenizer.decode(item.ids, skipSpecialTokens: false)
            let skipped = tokenizer.decode(item.ids, skipSpecialTokens: true)
            // Byte comparison: String == would identify canonically equivalent texts.
            if Array(text.utf8) != Array(item.text.utf8) || Array(skipped.utf8) != Array(item.textSkippingSpecial.utf8)
            {
                failures += 1
                if failures <= 5 {
                    let got = "\"\(escaped(text))\" / \"\(escaped(skipped))\""
                    let expected = "\"\(escaped(item.text))\" / \"\(escaped(item.textSkippingSpecial))\""
                    Issue.record("\(label): decode(\(item.ids))\n  got      \(got)\n  expected \(expected)")
                }
            }
        }
        #expect(failures == 0, "\(label): \(failures) of \(fixture.decodeCases.count) decodings differ from HF")
    }

    /// decode(encode(s)) == s byte for byte, BOS skipped. Texts with a literal "▁" are left out: it encodes to
    /// the same pieces as a space and so decodes to a space.
    private func checkRoundTrip(_ tokenizer: GemmaTokenizer, _ label: String) throws {
        let fixture = try ReferenceFixture.require()
        var failures = 0
        var checked = 0
        for item in fixture.encodeCases where !item.text.unicodeScalars.contains("\u{2581}") {
            checked += 1
            let back = tokenizer.decode(tokenizer.encode(item.text, addBOS: false))
            if Array(back.utf8) != Array(item.text.utf8) {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(label): round trip of \"\(escaped(item.text))\" gave \"\(escaped(back))\"")
                }
            }
        }
        #expect(checked > 15_000)
        #expect(failures == 0, "\(label): \(failures) of \(checked) round trips failed")
    }

    @Test("Encode parity, tokenizer.model")
    func encodeSentencePiece() throws { try checkEncode(try RealTokenizer.requireModel(), "tokenizer.model") }

    @Test("Decode parity, tokenizer.model")
    func decodeSentencePiece() throws { try checkDecode(try RealTokenizer.requireModel(), "tokenizer.model") }

    @Test("Round trip, tokenizer.model")
    func roundTripSentencePiece() throws { try checkRoundTrip(try RealTokenizer.requireModel(), "tokenizer.model") }

    @Test(
        "Encode parity, tokenizer.json",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func encodeJSON() throws { try checkEncode(try RealTokenizer.requireJSON(), "tokenizer.json") }

    @Test(
        "Decode parity, tokenizer.json",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func decodeJSON() throws { try checkDecode(try RealTokenizer.requireJSON(), "tokenizer.json") }

    @Test(
        "Round trip, tokenizer.json",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func roundTripJSON() throws { try checkRoundTrip(try RealTokenizer.requireJSON(), "tokenizer.json") }

    @Test("load(directory:) prefers tokenizer.json")
    func loadDirectory() throws {
        _ = try RealTokenizer.requireModel()
        let tokenizer = try GemmaTokenizer.load(directory: RealTokenizer.cacheDirectory)
        let expected =
            FileManager.default.fileExists(atPath: RealTokenizer.jsonPath)
            ? RealTokenizer.jsonPath : RealTokenizer.modelPath
        #expect(tokenizer.path == expected)
        #expect(tokenizer.encode("Hello world") == [2, 4521, 2134])
    }
}
