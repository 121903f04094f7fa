import TensorFormats

/// Reads the tokenizer of a Gemma GGUF file (llama.cpp's `tokenizer.ggml.*` metadata) into a
/// ``TokenizerDefinition`` that encodes and decodes exactly like the Hugging Face tokenizer transformers builds
/// from the same file (`AutoTokenizer.from_pretrained(dir, gguf_file=…)`, `integrations/gguf`,
/// `gemma_tokenizer`):
///
/// - the vocabulary is `tokenizer.ggml.tokens` by id, except that a token made only of whitespace that
///   contains a space (Gemma's `"  "` … runs, stored with real spaces) is respelled as that many "▁";
/// - the file has no merges, so they are derived from the vocabulary: every split of a token into two tokens
///   (at a Unicode scalar boundary) is a merge, ranked by the token's id, then by a longer left part first.
///   Gemma's scores fall with the id, so this is sentencepiece's score order; the respelled runs rank by id;
/// - CONTROL (3) and UNKNOWN (2) tokens are special added tokens, matched in the raw text first;
///   USER_DEFINED (4) tokens still spelled as in the file (`\n`, `\t`, `<b>`, …) are non-special added tokens;
/// - text between added tokens: " " → "▁", then BPE with byte fallback to `<0xHH>` (HF `GemmaTokenizer`).
///
/// `tokenizer.ggml.scores` is validated (one float per token) but does not set the order, as in transformers.
/// Files that would tokenize differently (another model or pre-tokenizer, merges in the file, a space prefix)
/// are refused with an error naming the key.
enum GGUFTokenizerLoader {
    /// The architectures whose `llama` (sentencepiece) vocabulary transformers builds as a Gemma tokenizer.
    static let gemmaArchitectures: Set<String> = ["gemma", "gemma2", "gemma3"]

    /// Builds the definition from `metadata`.
    static func load(_ metadata: GGUFMetadata) throws -> TokenizerDefinition {
        let path = metadata.path
        func fail(_ key: String, _ problem: String) -> TokenizerError {
            TokenizerError(path: path, "\(key): \(problem)")
        }
        func required(_ key: String) throws -> GGUFValue {
            guard let value = metadata.value(key) else {
                throw fail(
                    key,
                    "missing; the file carries no complete llama.cpp tokenizer (convert it with a "
                        + "recent convert_hf_to_gguf.py)")
            }
            return value
        }
        func string(_ key: String) throws -> String {
            let value = try required(key)
            guard let text = value.stringValue else { throw fail(key, "must be a string, not \(describe(value))") }
            return text
        }
        func bool(_ key: String, default fallback: Bool) throws -> Bool {
            guard let value = metadata.value(key) else { return fallback }
            guard case .bool(let flag) = value else { throw fail(key, "must be a bool, not \(describe(value))") }
            return flag
        }
        func array(_ key: String, of type: GGUFValueType) throws -> [GGUFValue] {
            let value = try required(key)
            guard case .array(let elementType, let items) = value, elementType == type else {
                throw fail(key, "must be an array of \(type), not \(describe(value))")
            }
            return items
        }

        let model = try string("tokenizer.ggml.model")
        guard model == "llama" else {
            throw fail(
                "tokenizer.ggml.model",
                "\"\(model)\" is not supported; only \"llama\" (sentencepiece BPE) vocabularies of Gemma models are")
        }
        let architecture = try string("general.architecture")
        guard gemmaArchitectures.contains(architecture) else {
            throw fail(
                "general.architecture",
                "\"\(architecture)\" is not a Gemma model (\(gemmaArchitectures.sorted().joined(separator: ", "))); "
                    + "its \"llama\" vocabulary tokenizes differently")
        }
        if let pre = metadata.value("tokenizer.ggml.pre") {
            guard pre.stringValue == "default" else {
                throw fail("tokenizer.ggml.pre", "\(describe(pre)) is not supported; Gemma files say \"default\"")
            }
        }
        if metadata.value("tokenizer.ggml.merges") != nil {
            throw fail(
                "tokenizer.ggml.merges",
                "merges stored in the file are not supported; Gemma files have none (they are derived from the "
                    + "vocabulary)")
        }
        if try bool("tokenizer.ggml.add_space_prefix", default: false) {
            throw fail("tokenizer.ggml.add_space_prefix", "true is not supported; Gemma adds no space prefix")
        }
        let addBOS = try bool("tokenizer.ggml.add_bos_token", default: true)

        let tokenValues = try array("tokenizer.ggml.tokens", of: .string)
        let count = tokenValues.count
        guard count > 0 else { throw fail("tokenizer.ggml.tokens", "is empty") }
        guard count < Int(Int32.max) else { throw fail("tokenizer.ggml.tokens", "has too many tokens (\(count))") }
        let scoreValues = try array("tokenizer.ggml.scores", of: .float32)
        let typeValues = try array("tokenizer.ggml.token_type", of: .int32)
        for (key, length) in [
            ("tokenizer.ggml.scores", scoreValues.count), ("tokenizer.ggml.token_type", typeValues.count),
        ]
        where length != count {
            throw fail(key, "has \(length) entries but tokenizer.ggml.tokens has \(count); one per token is required")
        }
        for (id, value) in scoreValues.enumerated() {
            guard case .float32(let score) = value, score.isFinite else {
                throw fail("tokenizer.ggml.scores", "entry \(id) is \(describe(value)), not a finite float")
            }
        }
        var types: [ScoredPieceBPE.PieceType] = []
        types.reserveCapacity(count)
        for (id, value) in typeValues.enumerated() {
            guard case .int32(let raw) = value, (1...6).contains(raw),
                let type = ScoredPieceBPE.PieceType(rawValue: UInt8(raw))
            else {
                throw fail(
                    "tokenizer.ggml.token_type",
                    "entry \(id) is \(describe(value)); token types are 1 normal, 2 unknown, 3 control, "
                        + "4 user-defined, 5 unused, 6 byte")
            }
            types.append(type)
        }

        // The vocabulary, with whitespace runs respelled as transformers' gemma_tokenizer does.
        var original: [[UInt8]] = []
        original.reserveCapacity(count)
        var vocabulary = PieceTable(idCount: count)
        for (id, value) in tokenValues.enumerated() {
            guard case .string(let text) = value else {
                throw fail("tokenizer.ggml.tokens", "entry \(id) is not a string")
            }
            let bytes = Array(text.utf8)
            guard !bytes.isEmpty else { throw fail("tokenizer.ggml.tokens", "entry \(id) is an empty string") }
            original.append(bytes)
            let spelled = respelled(text) ?? bytes
            if let earlier = vocabulary.insert(spelled, id: Int32(id)) {
                throw fail(
                    "tokenizer.ggml.tokens",
                    "token \(TokenizerJSONLoader.quote(spelled)) appears twice (ids \(earlier) and \(id)); "
                        + "every token must be distinct")
            }
        }

        func tokenID(_ key: String) throws -> Int32 {
            let value = try required(key)
            guard let id = value.integerValue else { throw fail(key, "must be an integer, not \(describe(value))") }
            guard id >= 0, id < count else { throw fail(key, "id \(id) is outside the \(count) tokens") }
            return Int32(id)
        }
        let bosId = try tokenID("tokenizer.ggml.bos_token_id")
        let eosId = try tokenID("tokenizer.ggml.eos_token_id")
        let unknownId = try tokenID("tokenizer.ggml.unknown_token_id")
        let padId = try tokenID("tokenizer.ggml.padding_token_id")

        // Added tokens: CONTROL/UNKNOWN special, USER_DEFINED (when still in the vocab as spelled) not.
        var special = [Bool](repeating: false, count: count)
        var addedTokens: [(bytes: [UInt8], id: Int32)] = []
        for id in 0..<count {
            switch types[id] {
            case .control, .unknown:
                special[id] = true
                addedTokens.append((original[id], Int32(id)))
            case .userDefined:
                let spelledId = vocabulary.id(of: original[id])
                if spelledId >= 0 { addedTokens.append((original[id], spelledId)) }
            default:
                break
            }
        }
        for id in [bosId, eosId, unknownId, padId] where !special[Int(id)] {
            special[Int(id)] = true
            addedTokens.append((vocabulary.piece(id) ?? [], id))
        }

        var byteTokenIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokenIds[byte] = vocabulary.id(of: TokenizerJSONLoader.byteTokenName(UInt8(byte))) }

        let bpe = MergeRankBPE(
            merges: derivedMerges(vocabulary, count: count), byteFallback: true, byteTokenIds: byteTokenIds,
            unknownId: unknownId, fuseUnknown: true, ignoreMerges: false)
        // HF's Split(" ", MergedWithPrevious) pre-tokenizer runs after " " → "▁" and so never splits: no delimiter.
        return TokenizerDefinition(
            vocabulary: vocabulary, vocabularySize: count, special: special,
            addedTokens: AddedTokenMatcher(tokens: addedTokens), normalizedAddedTokens: AddedTokenMatcher(tokens: []),
            normalizer: .spaceToMetaspace, wordDelimiter: nil, model: .mergeRanks(bpe), bosToken: bosId,
            eosToken: eosId, padToken: padId, addBOSByDefault: addBOS)
    }

    /// transformers' `generate_merges(vocab, {token: -id})` for a vocabulary without duplicates: tokens by
    /// ascending id; within a token, its splits into two vocab tokens with the longer left part first.
    static func derivedMerges(_ vocabulary: PieceTable, count: Int) -> MergeTable {
        var table = MergeTable(expectedCount: count * 2)
        var rank: Int32 = 0
        var boundaries: [Int] = []
        for id in 0..<count {
            guard let token = vocabulary.piece(Int32(id)), token.count > 1 else { continue }
            boundaries.removeAll(keepingCapacity: true)
            var position = UTF8Scalars.length(ofLeadByte: token[0])
            while position < token.count {
                boundaries.append(position)
                position += UTF8Scalars.length(ofLeadByte: token[position])
            }
            token.withUnsafeBufferPointer { bytes in
                for split in boundaries.reversed() {
                    let left = vocabulary.id(of: UnsafeBufferPointer(rebasing: bytes[..<split]))
                    guard left >= 0 else { continue }
                    let right = vocabulary.id(of: UnsafeBufferPointer(rebasing: bytes[split...]))
                    guard right >= 0 else { continue }
                    table.insert(left: left, right: right, rank: rank, merged: Int32(id))
                    rank += 1
                }
            }
        }
        return table
    }

    /// "▁" repeated once per scalar when `text` is all Python whitespace (`str.isspace`) and contains a space
    /// (transformers' `" " in t and not t.strip()`), else nil.
    static func respelled(_ text: String) -> [UInt8]? {
        var sawSpace = false
        var scalars = 0
        for scalar in text.unicodeScalars {
            guard isPythonWhitespace(scalar.value) else { return nil }
            if scalar.value == 0x20 { sawSpace = true }
            scalars += 1
        }
        guard sawSpace else { return nil }
        return Array(repeating: [0xE2, 0x96, 0x81], count: scalars).flatMap { $0 }
    }

    /// Python's `str.isspace` for one scalar.
    private static func isPythonWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// A value's type (and the value when short), for messages.
    private static func describe(_ value: GGUFValue) -> String {
        switch value {
        case .string(let text): return "the string \"\(text.prefix(40))\""
        case .array(let type, let items): return "an array of \(items.count) \(type)"
        case .bool(let flag): return "the bool \(flag)"
        case .float32(let number): return "the float32 \(number)"
        case .float64(let number): return "the float64 \(number)"
        default: return value.integerValue.map { "the \(value.type) \($0)" } ?? "a \(value.type)"
        }
    }
}
