import Foundation

/// Small hand-made tokenizer files for tests that need no download.
enum SyntheticFiles {
    /// A fresh empty directory under the system temporary directory.
    static func makeDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "gemma-tokenizer-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `bytes` to `name` in a fresh directory and returns the file's path.
    static func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = try makeDirectory() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `text` to `name` in a fresh directory and returns the file's path.
    static func write(_ text: String, name: String) throws -> String {
        try write(Array(text.utf8), name: name)
    }

    // MARK: tokenizer.json

    /// ids 0–3 specials, 4–259 `<0xHH>`, then the pieces below; "à" (U+00E0) and "a"+U+0300 are both in the
    /// vocab to check that canonically equivalent tokens stay distinct.
    static let jsonPieces: [String] = [
        "a", "b", "ab", "\u{2581}", "\u{2581}ab", "\u{e0}", "a\u{300}", "\u{300}", "c", "<x>", "\u{2581}\u{2581}",
        "bc", "abc",
    ]

    /// The id of a synthetic piece. Compared as bytes: `firstIndex(of:)` would use String's canonical
    /// equivalence and find "à" for "a"+U+0300.
    static func jsonId(_ piece: String) -> Int32 {
        Int32(260 + jsonPieces.firstIndex(where: { Array($0.utf8) == Array(piece.utf8) })!)
    }

    /// A small Gemma-shaped tokenizer.json. `bcFirst` puts the merge "b c" before "a b".
    static func tokenizerJSON(mergesAsArrays: Bool, bcFirst: Bool = false) -> String {
        var vocab = ["\"<pad>\": 0", "\"<eos>\": 1", "\"<bos>\": 2", "\"<unk>\": 3"]
        for byte in 0..<256 { vocab.append("\"<0x\(hex(byte))>\": \(4 + byte)") }
        for (index, piece) in jsonPieces.enumerated() { vocab.append("\(jsonString(piece)): \(260 + index)") }
        var pairs = [
            ("a", "b"), ("\u{2581}", "ab"), ("a", "\u{300}"), ("\u{2581}", "\u{2581}"), ("b", "c"), ("a", "bc"),
        ]
        if bcFirst { pairs.swapAt(0, 4) }
        let merges = pairs.map { left, right in
            mergesAsArrays ? "[\(jsonString(left)), \(jsonString(right))]" : jsonString(left + " " + right)
        }
        let added =
            [("<pad>", 0, true), ("<eos>", 1, true), ("<bos>", 2, true), ("<unk>", 3, true)]
            .map { content, id, special in addedToken(content, id, special) }
            + [addedToken("<x>", Int(jsonId("<x>")), false), addedToken("<only>", 300, false)]
        return """
            {
              "version": "1.0", "truncation": null, "padding": null,
              "added_tokens": [\(added.joined(separator: ", "))],
              "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\\u2581"},
              "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious",
                                "invert": false},
              "post_processor": null,
              "decoder": {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}]},
              "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                        "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                        "vocab": {\(vocab.joined(separator: ", "))},
                        "merges": [\(merges.joined(separator: ", "))]}
            }
            """
    }

    private static func addedToken(_ content: String, _ id: Int, _ special: Bool) -> String {
        "{\"id\": \(id), \"content\": \(jsonString(content)), \"single_word\": false, \"lstrip\": false, "
            + "\"rstrip\": false, \"normalized\": false, \"special\": \(special)}"
    }

    /// A JSON string literal, non-ASCII escaped as \uXXXX (exercising the scanner's escapes).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20..<0x7F: out += String(UnicodeScalar(UInt8(unit)))
            default: out += "\\u" + String(format: "%04x", unit)
            }
        }
        return out + "\""
    }

    static func hex(_ byte: Int) -> String { String(format: "%02X", byte) }

    // MARK: tokenizer.model

    /// Piece types of `sentencepiece_model.proto`.
    enum PieceType: UInt64 {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// ids 0–3 specials, 4–259 byte pieces, then these (piece, score, type).
    static let modelPieces: [(String, Float, PieceType)] = [
        ("a", -1, .normal), ("b", -2, .normal), ("ab", -3, .normal), ("\u{2581}", -4, .normal),
        ("\u{2581}ab", -5, .normal), ("\u{2581}\u{2581}", 0, .userDefined), ("<x>", 0, .userDefined),
        ("<start_of_turn>", 0, .userDefined), ("c", -6, .normal), ("bc", -0.5, .normal), ("abc", -7, .normal),
    ]

    static func modelId(_ piece: String) -> Int32 {
        Int32(260 + modelPieces.firstIndex(where: { Array($0.0.utf8) == Array(piece.utf8) })!)
    }

    /// A small Gemma-shaped SentencePiece model (BPE, byte fallback, identity normaliser, no dummy prefix).
    static func sentencePieceModel(modelType: UInt64 = 2, addDummyPrefix: Bool = false) -> [UInt8] {
        var model = ProtoWriter()
        func piece(_ text: String, _ score: Float, _ type: PieceType) {
            var message = ProtoWriter()
            message.bytes(1, Array(text.utf8))
            message.fixed32(2, score.bitPattern)
            if type != .normal { message.varint(3, type.rawValue) }
            model.message(1, message)
        }
        piece("<pad>", 0, .control)
        piece("<eos>", 0, .control)
        piece("<bos>", 0, .control)
        piece("<unk>", 0, .unknown)
        for byte in 0..<256 { piece("<0x\(hex(byte))>", 0, .byte) }
        for (text, score, type) in modelPieces { piece(text, score, type) }
        var trainer = ProtoWriter()
        trainer.varint(3, modelType)
        trainer.varint(4, UInt64(260 + modelPieces.count))
        trainer.varint(35, 1)
        trainer.varint(40, 3)
        trainer.varint(41, 2)
        trainer.varint(42, 1)
        trainer.varint(43, 0)
        model.message(2, trainer)
        var normalizer = ProtoWriter()
        normalizer.bytes(1, Array("identity".utf8))
        normalizer.varint(3, addDummyPrefix ? 1 : 0)
        normalizer.varint(4, 0)
        model.message(3, normalizer)
        return model.output
    }
}

/// Writes protobuf wire format (test side; independent of the reader under test).
struct ProtoWriter {
    var output: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    mutating func varint(_ field: UInt64, _ value: UInt64) {
        rawVarint(field << 3)
        rawVarint(value)
    }

    mutating func fixed32(_ field: UInt64, _ value: UInt32) {
        rawVarint(field << 3 | 5)
        for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    mutating func bytes(_ field: UInt64, _ value: [UInt8]) {
        rawVarint(field << 3 | 2)
        rawVarint(UInt64(value.count))
        output.append(contentsOf: value)
    }

    mutating func message(_ field: UInt64, _ value: ProtoWriter) {
        bytes(field, value.output)
    }
}
