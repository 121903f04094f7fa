import GemmaTokenizer
import Testing

/// The gemma2.md §4.3 test vectors (HF ids with `add_special_tokens=True`) and other fixed facts about the
/// real Gemma tokenizer, on both load paths.
@Suite("Gemma tokenizer: spec vectors", .enabled(if: RealTokenizer.enabled, "STEER_SKIP_REAL_TOKENIZER=1"))
struct SpecVectorTests {
    static let vectors: [(text: String, ids: [Int32])] = [
        ("Hello world", [2, 4521, 2134]),
        ("The capital of France is", [2, 651, 6037, 576, 6081, 603]),
        (" Hello", [2, 25957]),
        ("  Hello", [2, 139, 4521]),
        ("a  b   c", [2, 235250, 139, 235268, 140, 235260]),
        ("Hello\nWorld", [2, 4521, 108, 10772]),
        ("x\n\n\ny", [2, 235297, 110, 235267]),
        ("\tfoo\t\tbar", [2, 226, 14214, 255969, 2191]),
        ("1234567", [2, 235274, 235284, 235304, 235310, 235308, 235318, 235324]),
        ("h\u{00e9}llo w\u{00f6}rld", [2, 21454, 3979, 513, 2864, 706]),
        ("e\u{0301}", [2, 235249, 236703]),
        ("\u{00e9}", [2, 235335]),
        ("\u{1d573}\u{1d574}", [2, 255967, 457, 374, 366, 397]),
        ("\u{1f9d1}\u{200d}\u{1f680}", [2, 243634, 235879, 239304]),
        ("<start_of_turn>user\nHi<end_of_turn>\n", [2, 106, 1645, 108, 2151, 107, 108]),
        ("<b>bold</b>", [2, 201, 8766, 210]),
        ("trailing ", [2, 100504, 235248]),
    ]

    private func checkVectors(_ tokenizer: GemmaTokenizer) {
        for (text, ids) in Self.vectors {
            #expect(tokenizer.encode(text) == ids, "\(escaped(text))")
            #expect(tokenizer.encode(text, addBOS: false) == Array(ids.dropFirst()), "\(escaped(text)) without BOS")
            #expect(Array(tokenizer.decode(Array(ids.dropFirst())).utf8) == Array(text.utf8), "\(escaped(text))")
            #expect(Array(tokenizer.decode(ids).utf8) == Array(("<bos>" + text).utf8))
        }
    }

    private func checkFacts(_ tokenizer: GemmaTokenizer) {
        #expect(tokenizer.vocabularySize == 256_000)
        #expect(tokenizer.bosToken == 2)
        #expect(tokenizer.eosToken == 1)
        #expect(tokenizer.padToken == 0)
        let special = (0..<Int32(256_000)).filter { tokenizer.isSpecial($0) }
        #expect(special == [0, 1, 2, 3, 106, 107])
        #expect(!tokenizer.isSpecial(-1) && !tokenizer.isSpecial(256_000))
        #expect(tokenizer.tokenString(226) == [0x09], "id 226 is \"\\t\" as in the converted HF vocab")
        #expect(tokenizer.tokenString(217) == Array("<0x00>".utf8))
        #expect(tokenizer.tokenString(472) == Array("<0xFF>".utf8))
        #expect(tokenizer.tokenString(235248) == [0xE2, 0x96, 0x81])
        #expect(tokenizer.tokenString(108) == [0x0A])
        #expect(tokenizer.tokenString(256_000) == nil && tokenizer.tokenString(-1) == nil)
        #expect(tokenizer.encode("") == [2] && tokenizer.encode("", addBOS: false) == [])
        #expect(tokenizer.encode("<bos>", addBOS: false) == [2], "literal special tokens are parsed, as in HF")
    }

    /// Canonically equivalent pieces must stay distinct (gemma2.md §4.5).
    private func checkCanonicalPairs(_ tokenizer: GemmaTokenizer) {
        let pairs: [(String, Int32, String, Int32)] = [
            ("\u{2581}\u{00e0}", 1305, "\u{2581}a\u{0300}", 217138),
            ("\u{0921}\u{093c}", 24082, "\u{095c}", 239782),
        ]
        for (first, firstId, second, secondId) in pairs {
            #expect(tokenizer.tokenString(firstId) == Array(first.utf8))
            #expect(tokenizer.tokenString(secondId) == Array(second.utf8))
            #expect(tokenizer.tokenID(of: first) == firstId)
            #expect(tokenizer.tokenID(of: second) == secondId)
        }
        #expect(tokenizer.encode("\u{095c}", addBOS: false) == [239782])
        #expect(tokenizer.encode("\u{0921}\u{093c}", addBOS: false) == [24082])
    }

    @Test("§4.3 vectors, tokenizer.model")
    func vectorsSentencePiece() throws {
        let tokenizer = try RealTokenizer.requireModel()
        checkVectors(tokenizer)
        checkFacts(tokenizer)
        checkCanonicalPairs(tokenizer)
    }

    @Test(
        "§4.3 vectors, tokenizer.json",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func vectorsJSON() throws {
        let tokenizer = try RealTokenizer.requireJSON()
        checkVectors(tokenizer)
        checkFacts(tokenizer)
        checkCanonicalPairs(tokenizer)
    }

    @Test(
        "Both load paths agree on every token string and special flag",
        .enabled(if: RealTokenizer.jsonEnabled, "tokenizer.json absent: transformers<5 was not importable at fetch"))
    func loadPathsAgree() throws {
        let model = try RealTokenizer.requireModel()
        let json = try RealTokenizer.requireJSON()
        #expect(model.vocabularySize == json.vocabularySize)
        var differences = 0
        for id in 0..<Int32(json.vocabularySize) {
            if model.tokenString(id) != json.tokenString(id) || model.isSpecial(id) != json.isSpecial(id) {
                differences += 1
                if differences <= 5 { Issue.record("id \(id) differs between tokenizer.model and tokenizer.json") }
            }
        }
        #expect(differences == 0)
    }
}
