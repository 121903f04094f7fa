import Foundation
import GemmaTokenizer
import Testing

/// Behaviour on small hand-made files (no download needed).
@Suite("Gemma tokenizer: synthetic files")
struct SyntheticTokenizerTests {
    private func jsonTokenizer(mergesAsArrays: Bool = true, bcFirst: Bool = false) throws -> GemmaTokenizer {
        let text = SyntheticFiles.tokenizerJSON(mergesAsArrays: mergesAsArrays, bcFirst: bcFirst)
        return try GemmaTokenizer(tokenizerJSON: try SyntheticFiles.write(text, name: "tokenizer.json"))
    }

    private func modelTokenizer() throws -> GemmaTokenizer {
        let path = try SyntheticFiles.write(SyntheticFiles.sentencePieceModel(), name: "tokenizer.model")
        return try GemmaTokenizer(sentencePieceModel: path)
    }

    private func id(_ piece: String) -> Int32 { SyntheticFiles.jsonId(piece) }

    @Test("tokenizer.json: merges, spaces, added tokens, byte fallback")
    func jsonEncoding() throws {
        let tokenizer = try jsonTokenizer()
        #expect(tokenizer.vocabularySize == 301)
        #expect(tokenizer.encode("ab ab") == [2, id("ab"), id("\u{2581}ab")])
        #expect(tokenizer.encode("  ", addBOS: false) == [id("\u{2581}\u{2581}")])
        #expect(tokenizer.encode("a<x>b", addBOS: false) == [id("a"), id("<x>"), id("b")])
        #expect(tokenizer.encode("<only><bos>", addBOS: false) == [300, 2])
        #expect(tokenizer.encode("z", addBOS: false) == [byte(0x7A)])
        #expect(tokenizer.encode("€", addBOS: false) == [byte(0xE2), byte(0x82), byte(0xAC)])
        #expect(tokenizer.encode("abc", addBOS: false) == [id("ab"), id("c")], "rank 0 merge 'a b' wins")
        let reordered = try jsonTokenizer(bcFirst: true)
        #expect(reordered.encode("abc", addBOS: false) == [id("abc")], "'b c' first, then 'a bc'")
    }

    @Test("tokenizer.json: merges as \"a b\" strings equal merges as arrays")
    func mergeForms() throws {
        let arrays = try jsonTokenizer(mergesAsArrays: true)
        let strings = try jsonTokenizer(mergesAsArrays: false)
        for text in ["ab ab", "abc", "a\u{300}", " \u{e0}b", "z ab  c", "<x>ab"] {
            #expect(arrays.encode(text) == strings.encode(text), "\(escaped(text))")
        }
    }

    @Test("Canonically equivalent tokens stay distinct")
    func canonicalEquivalence() throws {
        let tokenizer = try jsonTokenizer()
        #expect(tokenizer.tokenID(of: "\u{e0}") == id("\u{e0}"))
        #expect(tokenizer.tokenID(of: "a\u{300}") == id("a\u{300}"))
        #expect(id("\u{e0}") != id("a\u{300}"))
        #expect(tokenizer.encode("\u{e0}", addBOS: false) == [id("\u{e0}")])
        #expect(tokenizer.encode("a\u{300}", addBOS: false) == [id("a\u{300}")])
        #expect(Array(tokenizer.decode([id("a\u{300}")]).utf8) == [0x61, 0xCC, 0x80])
        #expect(tokenizer.tokenString(id("\u{e0}")) == [0xC3, 0xA0])
    }

    @Test("Decoding: byte runs, U+FFFD per byte, out-of-range ids, special tokens")
    func decoding() throws {
        for tokenizer in [try jsonTokenizer(), try modelTokenizer()] {
            #expect(tokenizer.decode([byte(0xC3), byte(0xA9)]) == "é")
            // HF: the whole run [C3 28] is invalid, so one U+FFFD per byte (Swift's repair would keep "(").
            #expect(tokenizer.decode([byte(0xC3), byte(0x28)]) == "\u{FFFD}\u{FFFD}")
            #expect(tokenizer.decode([byte(0xC3), 260, byte(0xA9)]) == "\u{FFFD}a\u{FFFD}")
            #expect(tokenizer.decode([byte(0xED), byte(0xA0), byte(0x80)]) == "\u{FFFD}\u{FFFD}\u{FFFD}", "surrogate")
            #expect(tokenizer.decode([byte(0xF0), byte(0x9F), byte(0x98), byte(0x80)]) == "😀")
            #expect(tokenizer.decode([2, 260, 9999, -5, 1]) == "<bos>a<eos>", "unknown ids are skipped")
            #expect(tokenizer.decode([2, 260, 1], skipSpecialTokens: true) == "a")
            #expect(tokenizer.decode([]) == "")
            #expect(tokenizer.isSpecial(0) && tokenizer.isSpecial(3) && !tokenizer.isSpecial(260))
        }
    }

    @Test("tokenizer.model: scores, frozen user-defined symbols, HF-style pre-split")
    func sentencePiece() throws {
        let tokenizer = try modelTokenizer()
        func id(_ piece: String) -> Int32 { SyntheticFiles.modelId(piece) }
        #expect(tokenizer.vocabularySize == 260 + SyntheticFiles.modelPieces.count)
        #expect(tokenizer.bosToken == 2 && tokenizer.eosToken == 1 && tokenizer.padToken == 0)
        #expect(tokenizer.encode("ab ab") == [2, id("ab"), id("\u{2581}ab")])
        #expect(tokenizer.encode("abc", addBOS: false) == [id("abc")], "bc (−0.5) beats ab (−3)")
        #expect(tokenizer.encode("  ", addBOS: false) == [id("\u{2581}\u{2581}")])
        #expect(tokenizer.encode("<bos>a", addBOS: false) == [2, id("a")], "CONTROL literals split as in HF")
        #expect(tokenizer.encode("<start_of_turn>", addBOS: false) == [id("<start_of_turn>")])
        #expect(tokenizer.isSpecial(id("<start_of_turn>")) && !tokenizer.isSpecial(id("<x>")))
        #expect(tokenizer.encode("z\t", addBOS: false) == [byte(0x7A), byte(0x09)])
        #expect(tokenizer.tokenString(byte(0x09)) == [0x09], "<0x09> shows as \\t, as transformers converts it")
        #expect(tokenizer.decode([byte(0x09), byte(0xC3)]) == "\t\u{FFFD}", "\\t is not a byte token once renamed")
    }

    @Test("load(directory:) prefers tokenizer.json and falls back to tokenizer.model")
    func loadDirectory() throws {
        let directory = try SyntheticFiles.makeDirectory()
        let model = SyntheticFiles.sentencePieceModel()
        try model.write(to: directory + "/tokenizer.model")
        #expect(try GemmaTokenizer.load(directory: directory).path == directory + "/tokenizer.model")
        try Array(SyntheticFiles.tokenizerJSON(mergesAsArrays: true).utf8).write(to: directory + "/tokenizer.json")
        #expect(try GemmaTokenizer.load(directory: directory).path == directory + "/tokenizer.json")
    }
}

extension Array where Element == UInt8 {
    /// Writes the bytes to `path`.
    func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}

/// Id of the synthetic files' byte piece `<0xHH>`.
private func byte(_ value: Int) -> Int32 { Int32(4 + value) }
