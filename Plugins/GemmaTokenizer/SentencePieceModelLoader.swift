import Foundation

/// Reads a SentencePiece `tokenizer.model` (protobuf `ModelProto`, gemma2.md §4.1, §4.6) into a
/// ``TokenizerDefinition`` that encodes and decodes exactly like the HF `tokenizer.json` that transformers'
/// `GemmaConverter` makes from it:
///
/// - CONTROL, UNKNOWN and USER_DEFINED pieces are matched in the raw text first (HF added tokens);
/// - CONTROL and UNKNOWN pieces, `<start_of_turn>` and `<end_of_turn>` are special;
/// - when no piece is "\t", the BYTE piece `<0x09>` shows as "\t" (its id and encoding are unchanged).
///
/// Only BPE models with sentencepiece's identity normalisation, no dummy prefix and no whitespace cleanup are
/// accepted (Gemma's settings); others throw rather than encode differently.
enum SentencePieceModelLoader {
    /// Loads and validates `path`.
    static func load(path: String) throws -> TokenizerDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(path: path, "cannot read the file (missing or unreadable)")
        }
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { throw TokenizerError(path: path, "the file is empty") }
        return try bytes.withUnsafeBufferPointer { try parse($0, path: path) }
    }

    /// `TrainerSpec` fields used here, with the proto's defaults.
    private struct TrainerSpec {
        var modelType: UInt64 = 1  // UNIGRAM
        var byteFallback = false
        var unknownId: Int32 = 0
        var bosId: Int32 = 1
        var eosId: Int32 = 2
        var padId: Int32 = -1
    }

    /// `NormalizerSpec` fields used here, with the proto's defaults.
    private struct NormalizerSpec {
        var name = ""
        var hasCharsMap = false
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var escapeWhitespaces = true
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>, path: String) throws -> TokenizerDefinition {
        var reader = ProtobufReader(bytes: buffer, path: path)
        var vocabulary = PieceTable(idCount: 0)
        var scores: [Float] = []
        var types: [ScoredPieceBPE.PieceType] = []
        var trainer = TrainerSpec()
        var normalizer = NormalizerSpec()
        var sawNormalizer = false
        while let field = try reader.nextField() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited):
                var message = try reader.readMessage(context: "pieces[\(types.count)]")
                let piece = try parsePiece(&message)
                let id = Int32(types.count)
                if let earlier = vocabulary.insert(piece.bytes, id: id) {
                    throw message.error(
                        "piece \(TokenizerJSONLoader.quote(piece.bytes)) is defined twice (ids \(earlier), \(id))")
                }
                scores.append(piece.score)
                types.append(piece.type)
            case (2, .lengthDelimited):
                var message = try reader.readMessage(context: "trainer_spec")
                trainer = try parseTrainerSpec(&message)
            case (3, .lengthDelimited):
                var message = try reader.readMessage(context: "normalizer_spec")
                normalizer = try parseNormalizerSpec(&message)
                sawNormalizer = true
            case (1...3, _):
                throw reader.error("field \(field.number) has wire type \(field.wireType), expected a message")
            default:
                try reader.skip(field.wireType)
            }
        }
        guard !types.isEmpty else {
            throw TokenizerError(path: path, "no pieces: not a SentencePiece model (or an empty one)")
        }
        try check(trainer: trainer, normalizer: normalizer, sawNormalizer: sawNormalizer, path: path)
        return try assemble(
            vocabulary: vocabulary, scores: scores, types: types, trainer: trainer, normalizer: normalizer,
            path: path)
    }

    private static func parsePiece(
        _ message: inout ProtobufReader
    ) throws -> (bytes: [UInt8], score: Float, type: ScoredPieceBPE.PieceType) {
        var bytes: [UInt8]?
        var score: Float = 0
        var type = ScoredPieceBPE.PieceType.normal
        while let field = try message.nextField() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited): bytes = try message.readBytes()
            case (2, .fixed32): score = Float(bitPattern: try message.readFixed32())
            case (3, .varint):
                let raw = try message.readVarint()
                guard raw <= 6, let known = ScoredPieceBPE.PieceType(rawValue: UInt8(raw)) else {
                    throw message.error("unknown piece type \(raw)")
                }
                type = known
            case (1...3, _):
                throw message.error("field \(field.number) has wire type \(field.wireType)")
            default:
                try message.skip(field.wireType)
            }
        }
        guard let bytes, !bytes.isEmpty else { throw message.error("piece has no text") }
        guard UTF8Scalars.isValid(bytes) else { throw message.error("piece text is not valid UTF-8") }
        return (bytes, score, type)
    }

    private static func parseTrainerSpec(_ message: inout ProtobufReader) throws -> TrainerSpec {
        var spec = TrainerSpec()
        while let field = try message.nextField() {
            switch field.number {
            case 3: spec.modelType = try message.readVarintField(field.wireType, name: "model_type")
            case 35: spec.byteFallback = try message.readVarintField(field.wireType, name: "byte_fallback") != 0
            case 40:
                spec.unknownId = Int32(truncatingIfNeeded: try message.readVarintField(field.wireType, name: "unk_id"))
            case 41: spec.bosId = Int32(truncatingIfNeeded: try message.readVarintField(field.wireType, name: "bos_id"))
            case 42: spec.eosId = Int32(truncatingIfNeeded: try message.readVarintField(field.wireType, name: "eos_id"))
            case 43: spec.padId = Int32(truncatingIfNeeded: try message.readVarintField(field.wireType, name: "pad_id"))
            default: try message.skip(field.wireType)
            }
        }
        return spec
    }

    private static func parseNormalizerSpec(_ message: inout ProtobufReader) throws -> NormalizerSpec {
        var spec = NormalizerSpec()
        while let field = try message.nextField() {
            switch (field.number, field.wireType) {
            case (1, .lengthDelimited): spec.name = String(decoding: try message.readBytes(), as: UTF8.self)
            case (2, .lengthDelimited): spec.hasCharsMap = !(try message.readLengthDelimited()).isEmpty
            case (3, .varint): spec.addDummyPrefix = try message.readVarint() != 0
            case (4, .varint): spec.removeExtraWhitespaces = try message.readVarint() != 0
            case (5, .varint): spec.escapeWhitespaces = try message.readVarint() != 0
            case (1...5, _): throw message.error("field \(field.number) has wire type \(field.wireType)")
            default: try message.skip(field.wireType)
            }
        }
        return spec
    }

    private static func check(
        trainer: TrainerSpec, normalizer: NormalizerSpec, sawNormalizer: Bool, path: String
    ) throws {
        guard trainer.modelType == 2 else {
            throw TokenizerError(path: path, "model_type \(trainer.modelType) is not supported (only 2, BPE)")
        }
        guard sawNormalizer else {
            throw TokenizerError(path: path, "no normalizer_spec (its defaults add a dummy prefix, unlike Gemma)")
        }
        guard !normalizer.hasCharsMap else {
            throw TokenizerError(
                path: path, "normalizer \"\(normalizer.name)\" has a precompiled_charsmap; only identity is supported")
        }
        guard !normalizer.addDummyPrefix else {
            throw TokenizerError(
                path: path, "add_dummy_prefix is set; only Gemma's add_dummy_prefix=false is supported")
        }
        guard !normalizer.removeExtraWhitespaces else {
            throw TokenizerError(path: path, "remove_extra_whitespaces is set; only false (Gemma) is supported")
        }
    }

    private static func assemble(
        vocabulary: PieceTable, scores: [Float], types: [ScoredPieceBPE.PieceType], trainer: TrainerSpec,
        normalizer: NormalizerSpec, path: String
    ) throws -> TokenizerDefinition {
        let count = types.count
        func checked(_ id: Int32, _ name: String) throws -> Int32 {
            guard id >= 0, Int(id) < count else {
                throw TokenizerError(path: path, "trainer_spec.\(name) \(id) is outside the \(count) pieces")
            }
            return id
        }
        let unknownId = try checked(trainer.unknownId, "unk_id")
        let bosId = try checked(trainer.bosId, "bos_id")
        let eosId = try checked(trainer.eosId, "eos_id")
        let padId = try checked(trainer.padId, "pad_id")

        var special = [Bool](repeating: false, count: count)
        var addedTokens: [(bytes: [UInt8], id: Int32)] = []
        var userDefined: [(bytes: [UInt8], id: Int32)] = []
        let turnMarkers: Set<[UInt8]> = [Array("<start_of_turn>".utf8), Array("<end_of_turn>".utf8)]
        for id in 0..<count {
            let bytes = vocabulary.piece(Int32(id)) ?? []
            switch types[id] {
            case .control, .unknown:
                special[id] = true
                addedTokens.append((bytes, Int32(id)))
            case .userDefined:
                special[id] = turnMarkers.contains(bytes)
                addedTokens.append((bytes, Int32(id)))
                userDefined.append((bytes, Int32(id)))
            default:
                break
            }
        }

        var byteTokenIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let id = vocabulary.id(of: TokenizerJSONLoader.byteTokenName(UInt8(byte)))
            if id >= 0 && types[Int(id)] == .byte { byteTokenIds[byte] = id }
        }
        var overrides: [Int32: [UInt8]] = [:]
        let tab = vocabulary.id(of: [0x09])
        if tab < 0 && byteTokenIds[0x09] >= 0 { overrides[byteTokenIds[0x09]] = [0x09] }

        let bpe = ScoredPieceBPE(
            scores: scores, types: types, userDefined: AddedTokenMatcher(tokens: userDefined),
            byteFallback: trainer.byteFallback, byteTokenIds: byteTokenIds, unknownId: unknownId)
        return TokenizerDefinition(
            vocabulary: vocabulary, tokenStringOverrides: overrides, vocabularySize: count, special: special,
            addedTokens: AddedTokenMatcher(tokens: addedTokens), normalizedAddedTokens: AddedTokenMatcher(tokens: []),
            normalizer: normalizer.escapeWhitespaces ? .spaceToMetaspace : TextNormalizer(steps: []),
            wordDelimiter: nil, model: .scoredPieces(bpe), bosToken: bosId, eosToken: eosId, padToken: padId)
    }
}
