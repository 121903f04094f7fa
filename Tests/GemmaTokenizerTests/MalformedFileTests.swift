import Foundation
import GemmaTokenizer
import SteeringTestSupport
import Testing

/// Broken files must throw a ``TokenizerError`` naming the file, never crash.
@Suite("Gemma tokenizer: malformed files")
struct MalformedFileTests {
    /// Runs `load` and checks it throws a TokenizerError for `path` whose problem contains `fragment`.
    private func expectFailure(
        _ path: String, containing fragment: String = "", _ load: (String) throws -> GemmaTokenizer,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try load(path)
            Issue.record("loading \(path) succeeded", sourceLocation: sourceLocation)
        } catch let error as TokenizerError {
            #expect(error.path == path, sourceLocation: sourceLocation)
            #expect(
                fragment.isEmpty || error.problem.contains(fragment), "\(error.problem)", sourceLocation: sourceLocation
            )
            #expect(error.description.hasPrefix(path), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        }
    }

    private func json(
        _ text: String, containing fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        let path = try SyntheticFiles.write(text, name: "tokenizer.json")
        expectFailure(
            path, containing: fragment, { try GemmaTokenizer(tokenizerJSON: $0) }, sourceLocation: sourceLocation)
    }

    @Test("Garbage and structurally wrong tokenizer.json")
    func garbageJSON() throws {
        try json("", containing: "empty")
        try json("not json at all", containing: "invalid JSON")
        try json("{", containing: "end of file")
        try json("[1, 2, 3]", containing: "object")
        try json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},}", containing: "invalid JSON")
        try json("{\"version\": \"1.0\", \"added_tokens\": []}", containing: "missing \"model\"")
        try json("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", containing: "Unigram")
        try json("{\"model\": {\"type\": \"BPE\", \"merges\": []}}", containing: "vocab")
        try json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}}", containing: "integer")
        try json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a q\"]}}", containing: "\"q\"")
        try json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"aa\"]}}", containing: "space")
        try json(
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", containing: "id 0")
        try json(
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\\ud800\": 0}, \"merges\": []}}", containing: "surrogate")
        try json(
            "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 2000000000}, \"merges\": []}}", containing: "outside")
        let hugeAddedId = SyntheticFiles.tokenizerJSON(mergesAsArrays: true)
            .replacingOccurrences(of: "\"id\": 300,", with: "\"id\": 3000000000,")
        try json(hugeAddedId, containing: "0..<")
        try json("{\"x\": " + String(repeating: "[", count: 100_000), containing: "nested")
        try json("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}} trailing", containing: "after")
    }

    @Test("tokenizer.json that is not UTF-8, or lacks <bos>")
    func invalidContents() throws {
        let binary = try SyntheticFiles.write([0x7B, 0xFF, 0xFE, 0x7D], name: "tokenizer.json")
        expectFailure(binary, containing: "UTF-8") { try GemmaTokenizer(tokenizerJSON: $0) }
        try json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", containing: "<bos>")
    }

    @Test("Unsupported pipeline parts are rejected, not ignored")
    func unsupportedParts() throws {
        let base = SyntheticFiles.tokenizerJSON(mergesAsArrays: true)
        let nfc = base.replacingOccurrences(
            of: "\"normalizer\": {\"type\": \"Replace\"",
            with: "\"normalizer\": {\"type\": \"NFC\", \"x\": {\"type\": \"Replace\""
        )
        .replacingOccurrences(of: "\"content\": \"\\u2581\"},", with: "\"content\": \"\\u2581\"}},")
        try json(nfc, containing: "NFC")
        try json(base.replacingOccurrences(of: "\"lstrip\": false", with: "\"lstrip\": true"), containing: "lstrip")
        try json(base.replacingOccurrences(of: "\"ByteFallback\"", with: "\"Strip\""), containing: "Strip")
    }

    @Test("Missing files and directories")
    func missingFiles() throws {
        let directory = try SyntheticFiles.makeDirectory()
        expectFailure(directory + "/nope.json", containing: "cannot read") { try GemmaTokenizer(tokenizerJSON: $0) }
        expectFailure(directory + "/nope.model", containing: "cannot read") {
            try GemmaTokenizer(sentencePieceModel: $0)
        }
        expectFailure(directory, containing: "neither") { try GemmaTokenizer.load(directory: $0) }
    }

    @Test("Every truncation of a SentencePiece model throws")
    func truncatedModel() throws {
        let model = SyntheticFiles.sentencePieceModel()
        let directory = try SyntheticFiles.makeDirectory()
        let path = directory + "/tokenizer.model"
        // Fields are written in number order (pieces, trainer_spec, normalizer_spec), so every strict prefix
        // lacks or cuts a part: all must fail cleanly.
        for length in stride(from: 0, to: model.count, by: 1) {
            try Array(model.prefix(length)).write(to: path)
            do {
                _ = try GemmaTokenizer(sentencePieceModel: path)
                Issue.record("prefix of \(length) bytes loaded")
            } catch let error as TokenizerError {
                #expect(error.path == path)
            }
        }
    }

    @Test("SentencePiece models this tokenizer does not support")
    func unsupportedModels() throws {
        func model(_ bytes: [UInt8], containing fragment: String) throws {
            let path = try SyntheticFiles.write(bytes, name: "tokenizer.model")
            expectFailure(path, containing: fragment) { try GemmaTokenizer(sentencePieceModel: $0) }
        }
        try model(SyntheticFiles.sentencePieceModel(modelType: 1), containing: "model_type")
        try model(SyntheticFiles.sentencePieceModel(addDummyPrefix: true), containing: "add_dummy_prefix")
        try model(Array("this is not a protobuf file at all".utf8), containing: "invalid SentencePiece model")
        try model([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], containing: "past the end")
        try model([0x0B, 0x00], containing: "wire type")
        var duplicate = ProtoWriter()
        for _ in 0..<2 {
            var piece = ProtoWriter()
            piece.bytes(1, Array("a".utf8))
            duplicate.message(1, piece)
        }
        try model(duplicate.output, containing: "twice")
    }

    @Test("Randomly corrupted files load or throw, and never crash")
    func corruptedFiles() throws {
        var generator = SeededGenerator(seed: 20_240_917)
        let directory = try SyntheticFiles.makeDirectory()
        let originals: [(name: String, bytes: [UInt8])] = [
            ("tokenizer.model", SyntheticFiles.sentencePieceModel()),
            ("tokenizer.json", Array(SyntheticFiles.tokenizerJSON(mergesAsArrays: true).utf8)),
        ]
        var loaded = 0
        var rejected = 0
        for (name, original) in originals {
            let path = directory + "/" + name
            for _ in 0..<300 {
                var bytes = original
                for _ in 0..<Int(generator.next() % 4 + 1) {
                    let index = Int(generator.next() % UInt64(bytes.count))
                    bytes[index] = UInt8(truncatingIfNeeded: generator.next())
                }
                try bytes.write(to: path)
                do {
                    let tokenizer =
                        name == "tokenizer.json"
                        ? try GemmaTokenizer(tokenizerJSON: path) : try GemmaTokenizer(sentencePieceModel: path)
                    loaded += 1
                    for text in ["ab ab", "abc  z\t€", "<bos><x>\n", ""] {
                        let ids = tokenizer.encode(text)
                        _ = tokenizer.decode(ids + [-1, 5, 1 << 20], skipSpecialTokens: true)
                    }
                } catch let error as TokenizerError {
                    #expect(error.path == path)
                    rejected += 1
                }
            }
        }
        #expect(loaded + rejected == 600)
        print("[tokenizer] corrupted files: \(loaded) loaded, \(rejected) rejected")
    }

    @Test(
        "Truncated real files throw",
        .enabled(if: RealTokenizer.enabled, "STEER_SKIP_REAL_TOKENIZER=1"))
    func truncatedRealFiles() throws {
        _ = try RealTokenizer.requireModel()
        let model = try Data(contentsOf: URL(fileURLWithPath: RealTokenizer.modelPath))
        for length in [10, 1_000_000, model.count - 1] {
            let path = try SyntheticFiles.write([UInt8](model.prefix(length)), name: "tokenizer.model")
            expectFailure(path) { try GemmaTokenizer(sentencePieceModel: $0) }
        }
        if FileManager.default.fileExists(atPath: RealTokenizer.jsonPath) {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: RealTokenizer.jsonPath))
            let prefix = try handle.read(upToCount: 3_000_000) ?? Data()
            try handle.close()
            let path = try SyntheticFiles.write([UInt8](prefix), name: "tokenizer.json")
            expectFailure(path) { try GemmaTokenizer(tokenizerJSON: $0) }
        }
    }
}
