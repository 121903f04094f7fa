import Foundation
import GemmaTokenizer
import SteeringTestSupport
import TensorFormats
import Testing

/// The Gemma 3 tokenizer of the real google/gemma-3-270m GGUF (cached by `Scripts/fetch-gemma3-270m.sh`) and
/// its committed HF reference fixture (`Tests/Reference/make_gguf_tokenizer_fixtures.py`).
enum RealGemma3Tokenizer {
    /// The committed fixture, or `STEER_GGUF_TOKENIZER_FIXTURE` (a larger one from the script, for ad-hoc runs).
    static let fixturePath =
        ProcessInfo.processInfo.environment["STEER_GGUF_TOKENIZER_FIXTURE"].flatMap { $0.isEmpty ? nil : $0 }
        ?? RealTokenizer.repositoryRoot + "/Tests/Fixtures/tokenizer/gemma3_gguf_reference.jsonl.gz"
    /// `Scripts/fetch-gemma3-270m.sh`'s `EXPECTED_SHA256`.
    static let expectedGGUFSHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

    /// The tokenizer loaded once per process, or why not.
    static let loaded: Result<GemmaTokenizer, any Error> = Result {
        try GemmaTokenizer(gguf: try RealGemma3.requirePath())
    }

    static let fixture: Result<ReferenceFixture, any Error> = Result { try ReferenceFixture.load(fixturePath) }

    static func require() throws -> GemmaTokenizer { try loaded.get() }
    static func requireFixture() throws -> ReferenceFixture { try fixture.get() }
}

@Suite("Gemma 3 tokenizer from GGUF: HF reference parity", .enabled(if: RealGemma3.enabled, "STEER_SKIP_REAL_MODEL=1"))
struct GGUFReferenceParityTests {
    @Test("Fixture header matches the file")
    func header() throws {
        let fixture = try RealGemma3Tokenizer.requireFixture()
        #expect(fixture.header.gguf_sha256 == RealGemma3Tokenizer.expectedGGUFSHA256)
        #expect(fixture.header.vocab_size == 262_144)
        #expect(fixture.encodeCases.count == fixture.header.encode_cases)
        #expect(fixture.decodeCases.count == fixture.header.decode_cases)
        #expect(fixture.encodeCases.count >= 20_000)
        #expect(fixture.decodeCases.count >= 4_000)
    }

    @Test("Vocabulary, special ids and flags as in the file")
    func vocabulary() throws {
        let tokenizer = try RealGemma3Tokenizer.require()
        #expect(tokenizer.vocabularySize == 262_144)
        #expect((tokenizer.bosToken, tokenizer.eosToken, tokenizer.padToken) == (2, 1, 0))
        #expect(tokenizer.addsBOSByDefault)
        // "  " (id 138) is stored with real spaces and respelled "▁▁", as transformers does.
        #expect(tokenizer.tokenString(138) == Array("\u{2581}\u{2581}".utf8))
        #expect(tokenizer.tokenID(of: "<start_of_turn>") == 105)
        #expect(tokenizer.tokenID(of: "\t") == 255_968)
        #expect(tokenizer.tokenID(of: "<0x41>") == 303)  // 238 + 0x41
        for id: Int32 in [0, 1, 2, 3, 4, 6, 105, 106, 262_143] { #expect(tokenizer.isSpecial(id), "id \(id)") }
        for id: Int32 in [5, 107, 138, 200, 238, 255_968, 255_999, 9259] {
            #expect(!tokenizer.isSpecial(id), "id \(id)")
        }
        #expect(tokenizer.tokenString(262_144) == nil)
        #expect(
            tokenizer.encode("Hello world  x\t\n\n<start_of_turn>user<b>   ") == [
                2, 9259, 1902, 138, 236_781, 255_968, 108, 105, 2364, 200, 139,
            ])
    }

    @Test("Encode parity with transformers on every fixture text")
    func encode() throws {
        let tokenizer = try RealGemma3Tokenizer.require()
        let fixture = try RealGemma3Tokenizer.requireFixture()
        var failures = 0
        for item in fixture.encodeCases {
            let ids = tokenizer.encode(item.text)
            if ids != item.ids {
                failures += 1
                if failures <= 5 {
                    Issue.record("encode(\"\(escaped(item.text))\")\n  got      \(ids)\n  expected \(item.ids)")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(fixture.encodeCases.count) encodings differ from HF")
    }

    @Test("Decode parity with transformers, skipping special tokens or not")
    func decode() throws {
        let tokenizer = try RealGemma3Tokenizer.require()
        let fixture = try RealGemma3Tokenizer.requireFixture()
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
                    Issue.record("decode(\(item.ids))\n  got      \(got)\n  expected \(expected)")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(fixture.decodeCases.count) decodings differ from HF")
    }

    /// decode(encode(s)) == s byte for byte, BOS not added. Texts with a literal "▁" are left out: it encodes to
    /// the same pieces as a space.
    @Test("Round trip")
    func roundTrip() throws {
        let tokenizer = try RealGemma3Tokenizer.require()
        let fixture = try RealGemma3Tokenizer.requireFixture()
        var failures = 0
        var checked = 0
        for item in fixture.encodeCases where !item.text.unicodeScalars.contains("\u{2581}") {
            checked += 1
            let back = tokenizer.decode(tokenizer.encode(item.text, addBOS: false))
            if Array(back.utf8) != Array(item.text.utf8) {
                failures += 1
                if failures <= 5 { Issue.record("round trip of \"\(escaped(item.text))\" gave \"\(escaped(back))\"") }
            }
        }
        #expect(checked > 15_000)
        #expect(failures == 0, "\(failures) of \(checked) round trips failed")
    }

    /// CPU time of this thread, so the printed figure means something on a loaded machine.
    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Printed figures; the bound (on this thread's CPU time, which other processes do not inflate)
    /// only catches a pathological loader.
    @Test("Load time from the GGUF metadata")
    func loadTime() throws {
        let path = try RealGemma3.requirePath()
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = Self.threadCPUSeconds()
        let metadata = try GGUFMetadata(path: path)
        let cpuRead = Self.threadCPUSeconds()
        let tokenizer = try GemmaTokenizer(ggufMetadata: metadata)
        let cpuEnd = Self.threadCPUSeconds()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(
            String(
                format: "[tokenizer] gemma-3-270m GGUF: %d tokens loaded in %.3f s wall, %.3f s CPU "
                    + "(metadata %.3f s, tokenizer %.3f s)",
                tokenizer.vocabularySize, seconds, cpuEnd - cpuStart, cpuRead - cpuStart, cpuEnd - cpuRead))
        #expect(cpuEnd - cpuStart < 30, "loading the GGUF tokenizer took \(cpuEnd - cpuStart) s of CPU time")
    }
}

/// Small GGUF files written with ``GGUFWriter``: a working tokenizer and broken variants.
@Suite("Gemma tokenizer from GGUF: synthetic files")
struct GGUFSyntheticTokenizerTests {
    /// ids 0–3 control, 4 "\n" and 5 "  " user-defined, 6 `<unused0>` control, 7–262 `<0xHH>`, then normal pieces.
    static let normalPieces = ["a", "b", "ab", "\u{2581}", "\u{2581}ab", "x", "\u{2581}x", "aa", "aaa"]
    static var tokens: [String] {
        ["<pad>", "<eos>", "<bos>", "<unk>", "\n", "  ", "<unused0>"]
            + (0..<256).map { String(format: "<0x%02X>", $0) } + normalPieces
    }
    static var types: [Int32] {
        [3, 3, 3, 3, 4, 4, 3] + Array(repeating: 6, count: 256) + Array(repeating: 1, count: normalPieces.count)
    }
    static func id(_ piece: String) -> Int32 { Int32(7 + 256 + normalPieces.firstIndex(of: piece)!) }

    /// The metadata of the working file; `edit` changes it before writing.
    static func write(_ edit: (inout [(key: String, value: GGUFValue)]) -> Void = { _ in }) throws -> String {
        let tokens = Self.tokens
        var pairs: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("gemma3")),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })),
            ("tokenizer.ggml.scores", .array(.float32, tokens.indices.map { .float32(-Float($0)) })),
            ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) })),
            ("tokenizer.ggml.bos_token_id", .uint32(2)),
            ("tokenizer.ggml.eos_token_id", .uint32(1)),
            ("tokenizer.ggml.unknown_token_id", .uint32(3)),
            ("tokenizer.ggml.padding_token_id", .uint32(0)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
        ]
        edit(&pairs)
        var writer = GGUFWriter()
        for (key, value) in pairs { try writer.set(key, value) }
        return try SyntheticFiles.write(try writer.serialized(), name: "tokenizer.gguf")
    }

    @Test("A small Gemma-shaped GGUF: respelled spaces, added tokens, derived merges, byte fallback")
    func works() throws {
        let path = try Self.write()
        let tokenizer = try GemmaTokenizer(gguf: path)
        #expect(tokenizer.path == path)
        #expect(tokenizer.vocabularySize == Self.tokens.count)
        #expect(tokenizer.tokenString(5) == Array("\u{2581}\u{2581}".utf8))
        let (a, b, ab, space, spaceAB) = (
            Self.id("a"), Self.id("b"), Self.id("ab"), Self.id("\u{2581}"), Self.id("\u{2581}ab")
        )
        #expect(tokenizer.encode("ab ab") == [2, ab, spaceAB])
        // "  " is a BPE piece (▁▁, id 5), ranked by its id before every normal piece: it merges first.
        #expect(tokenizer.encode("a  ab") == [2, a, 5, ab])
        #expect(tokenizer.encode("a\nb<eos><unused0>", addBOS: false) == [a, 4, b, 1, 6])
        // Byte fallback for a scalar outside the vocab, UTF-8 bytes in order.
        #expect(tokenizer.encode("é", addBOS: false) == [7 + 0xC3, 7 + 0xA9])
        // "aaa": (a,a) merges first (id of "aa" < id of "aaa"), then (aa,a), the longer left part first.
        #expect(tokenizer.encode("aaaa", addBOS: false) == [Self.id("aa"), Self.id("aa")])
        #expect(tokenizer.encode("aaa", addBOS: false) == [Self.id("aaa")])
        #expect(tokenizer.decode([2, ab, 5, space, 4, 7 + 0xC3, 7 + 0xA9, 1, 6]) == "<bos>ab   \né<eos><unused0>")
        #expect(tokenizer.decode([2, ab, 5, 4, 1, 6], skipSpecialTokens: true) == "ab  \n")
        #expect(tokenizer.isSpecial(6) && !tokenizer.isSpecial(4) && !tokenizer.isSpecial(5))

        // The same through an opened GGUFFile.
        let viaFile = try GemmaTokenizer(ggufMetadata: GGUFMetadata(GGUFFile(path: path)))
        #expect(viaFile.encode("a  ab\n") == tokenizer.encode("a  ab\n"))

        let noBOS = try GemmaTokenizer(gguf: Self.write { $0.removeAll { $0.key == "tokenizer.ggml.add_bos_token" } })
        #expect(noBOS.addsBOSByDefault, "absent add_bos_token means true, as in transformers")
        let off = try GemmaTokenizer(
            gguf: Self.write { Self.replace(&$0, "tokenizer.ggml.add_bos_token", .bool(false)) })
        #expect(!off.addsBOSByDefault)
    }

    private static func replace(_ pairs: inout [(key: String, value: GGUFValue)], _ key: String, _ value: GGUFValue) {
        if let index = pairs.firstIndex(where: { $0.key == key }) {
            pairs[index].value = value
        } else {
            pairs.append((key, value))
        }
    }

    /// Writes the working file changed by `edit`, loads it, and checks the error names the file and `fragments`.
    private func expectFailure(
        _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
        _ edit: (inout [(key: String, value: GGUFValue)]) -> Void
    ) throws {
        let path = try Self.write(edit)
        expectFailure(path: path, fragments, sourceLocation: sourceLocation)
    }

    private func expectFailure(path: String, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try GemmaTokenizer(gguf: path)
            Issue.record("loading \(path) succeeded", sourceLocation: sourceLocation)
        } catch let error as TokenizerError {
            #expect(error.path == path, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(path), sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.problem.contains(fragment), "\(error.problem)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("Missing, ill-typed and inconsistent keys name the file and the key")
    func badKeys() throws {
        try expectFailure(["tokenizer.ggml.scores", "missing"]) { $0.removeAll { $0.key == "tokenizer.ggml.scores" } }
        try expectFailure(["tokenizer.ggml.tokens", "missing"]) { $0.removeAll { $0.key == "tokenizer.ggml.tokens" } }
        try expectFailure(["tokenizer.ggml.token_type", "missing"]) {
            $0.removeAll { $0.key == "tokenizer.ggml.token_type" }
        }
        try expectFailure(["tokenizer.ggml.model", "missing"]) { $0.removeAll { $0.key == "tokenizer.ggml.model" } }
        try expectFailure(["tokenizer.ggml.bos_token_id", "missing"]) {
            $0.removeAll { $0.key == "tokenizer.ggml.bos_token_id" }
        }
        try expectFailure(["tokenizer.ggml.scores", "has 10 entries", "\(Self.tokens.count)"]) {
            Self.replace(&$0, "tokenizer.ggml.scores", .array(.float32, Array(repeating: .float32(0), count: 10)))
        }
        try expectFailure(["tokenizer.ggml.token_type", "has \(Self.tokens.count + 1) entries"]) {
            Self.replace(&$0, "tokenizer.ggml.token_type", .array(.int32, (Self.types + [1]).map { .int32($0) }))
        }
        try expectFailure(["tokenizer.ggml.model", "\"bert\"", "not supported"]) {
            Self.replace(&$0, "tokenizer.ggml.model", .string("bert"))
        }
        try expectFailure(["tokenizer.ggml.model", "\"gemma4\""]) {
            Self.replace(&$0, "tokenizer.ggml.model", .string("gemma4"))
        }
        try expectFailure(["tokenizer.ggml.model", "must be a string"]) {
            Self.replace(&$0, "tokenizer.ggml.model", .uint32(1))
        }
        try expectFailure(["general.architecture", "\"llama\""]) {
            Self.replace(&$0, "general.architecture", .string("llama"))
        }
        try expectFailure(["tokenizer.ggml.bos_token_id", "9999", "outside"]) {
            Self.replace(&$0, "tokenizer.ggml.bos_token_id", .uint32(9999))
        }
        try expectFailure(["tokenizer.ggml.eos_token_id", "-1", "outside"]) {
            Self.replace(&$0, "tokenizer.ggml.eos_token_id", .int32(-1))
        }
        try expectFailure(["tokenizer.ggml.padding_token_id", "must be an integer"]) {
            Self.replace(&$0, "tokenizer.ggml.padding_token_id", .string("0"))
        }
        try expectFailure(["tokenizer.ggml.tokens", "array of string"]) {
            Self.replace(&$0, "tokenizer.ggml.tokens", .array(.int32, [.int32(1)]))
        }
        try expectFailure(["tokenizer.ggml.scores", "array of float32"]) {
            Self.replace(&$0, "tokenizer.ggml.scores", .string("scores"))
        }
        try expectFailure(["tokenizer.ggml.token_type", "entry 3", "7"]) {
            var types = Self.types
            types[3] = 7
            Self.replace(&$0, "tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) }))
        }
        try expectFailure(["tokenizer.ggml.scores", "entry 5", "nan"]) {
            Self.replace(
                &$0, "tokenizer.ggml.scores",
                .array(.float32, Self.tokens.indices.map { .float32($0 == 5 ? .nan : 0) }))
        }
        try expectFailure(["tokenizer.ggml.tokens", "\"b\"", "twice"]) {
            var tokens = Self.tokens
            tokens[tokens.count - 1] = "b"
            Self.replace(&$0, "tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        }
        try expectFailure(["tokenizer.ggml.tokens", "empty"]) {
            var tokens = Self.tokens
            tokens[tokens.count - 1] = ""
            Self.replace(&$0, "tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        }
        try expectFailure(["tokenizer.ggml.add_space_prefix", "true"]) {
            Self.replace(&$0, "tokenizer.ggml.add_space_prefix", .bool(true))
        }
        try expectFailure(["tokenizer.ggml.add_bos_token", "must be a bool"]) {
            Self.replace(&$0, "tokenizer.ggml.add_bos_token", .uint8(1))
        }
        try expectFailure(["tokenizer.ggml.merges", "not supported"]) {
            $0.append(("tokenizer.ggml.merges", .array(.string, [.string("a b")])))
        }
        try expectFailure(["tokenizer.ggml.pre", "llama-bpe"]) {
            Self.replace(&$0, "tokenizer.ggml.pre", .string("llama-bpe"))
        }
    }

    @Test("Not GGUF, truncated, missing: errors name the file")
    func badFiles() throws {
        expectFailure(path: try SyntheticFiles.write("not a gguf file", name: "x.gguf"), ["GGUF metadata", "magic"])
        let good = try Array(Data(contentsOf: URL(fileURLWithPath: try Self.write())))
        let truncated = try SyntheticFiles.write(Array(good.prefix(good.count / 2)), name: "cut.gguf")
        expectFailure(path: truncated, ["GGUF metadata"])
        expectFailure(path: NSTemporaryDirectory() + "no-such-\(UUID().uuidString).gguf", ["no such file"])
    }
}
