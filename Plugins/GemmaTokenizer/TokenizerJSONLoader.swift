import Foundation
import SteeringCore

/// Reads a Hugging Face `tokenizer.json` with a BPE model into a ``TokenizerDefinition`` (gemma2.md §4.2).
///
/// Supported: normalizer `null`/`Replace` (string pattern)/`Prepend`/`Sequence`; pre-tokenizer `null` or
/// `Split` (string pattern, `MergedWithPrevious`); decoder `null` or a `Sequence` of `Replace("▁" → " ")`,
/// `ByteFallback` and `Fuse`; added tokens without `lstrip`/`rstrip`/`single_word`. Anything else is rejected
/// with a ``TokenizerError`` rather than silently encoded differently. The post-processor is not read: BOS is
/// the `<bos>` token and ``GemmaTokenizer/encode(_:addBOS:)`` prepends it on request.
enum TokenizerJSONLoader {
    /// Ids at or above this are rejected: tables are sized by the largest id, so a corrupt id must not make
    /// the loader allocate gigabytes. Real vocabularies are far smaller (Gemma: 256,000).
    static let maximumId = 1 << 24

    /// Loads and validates `path`.
    static func load(path: String) throws -> TokenizerDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError(path: path, "cannot read the file (missing or unreadable)")
        }
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { throw TokenizerError(path: path, "the file is empty") }
        guard UTF8Scalars.isValid(bytes) else { throw TokenizerError(path: path, "the file is not valid UTF-8") }
        do {
            return try bytes.withUnsafeBytes { buffer in
                var scanner = JSONScanner(bytes: buffer)
                return try parse(&scanner, path: path)
            }
        } catch let error as JSONSyntaxError {
            throw TokenizerError(path: path, "invalid JSON at byte \(error.offset): \(error.problem)")
        }
    }

    /// The parts of the `model` section.
    private struct ModelSection {
        var vocabulary = PieceTable()
        var merges = MergeTable()
        var unknownToken: [UInt8]?
        var byteFallback = false
        var fuseUnknown = false
        var ignoreMerges = false
        var sawVocabulary = false
        var sawMerges = false
    }

    private static func parse(_ scanner: inout JSONScanner, path: String) throws -> TokenizerDefinition {
        guard try scanner.peek() == 0x7B else {
            throw scanner.error("a tokenizer.json must be a JSON object")
        }
        try scanner.beginObject()
        var addedTokens: JSONValue = .null
        var normalizer: JSONValue = .null
        var preTokenizer: JSONValue = .null
        var decoderValue: JSONValue = .null
        var model: ModelSection?
        var first = true
        var key: [UInt8] = []
        while try scanner.nextKey(into: &key, first: &first) {
            switch String(decoding: key, as: UTF8.self) {
            case "added_tokens": addedTokens = try scanner.readValue()
            case "normalizer": normalizer = try scanner.readValue()
            case "pre_tokenizer": preTokenizer = try scanner.readValue()
            case "decoder": decoderValue = try scanner.readValue()
            case "model": model = try parseModel(&scanner, path: path)
            default: try scanner.skipValue()
            }
        }
        try scanner.expectEnd()
        guard let model else {
            throw TokenizerError(path: path, "missing \"model\" key: not a Hugging Face tokenizer.json")
        }
        guard model.sawVocabulary else { throw TokenizerError(path: path, "model has no \"vocab\"") }
        guard model.sawMerges else { throw TokenizerError(path: path, "model has no \"merges\"") }
        try checkDecoder(decoderValue, path: path)
        return try assemble(
            model: model, addedTokens: addedTokens, normalizer: try parseNormalizer(normalizer, path: path),
            wordDelimiter: try parsePreTokenizer(preTokenizer, path: path), path: path)
    }

    // MARK: Model

    private static func parseModel(_ scanner: inout JSONScanner, path: String) throws -> ModelSection {
        guard try scanner.peek() == 0x7B else { throw scanner.error("\"model\" must be an object") }
        try scanner.beginObject()
        var section = ModelSection()
        var mergesOffset: Int?
        var first = true
        var key: [UInt8] = []
        while try scanner.nextKey(into: &key, first: &first) {
            switch String(decoding: key, as: UTF8.self) {
            case "type":
                let type = try scanner.readValue()
                guard type.text == "BPE" else {
                    throw TokenizerError(path: path, "model type \(describe(type)) is not supported (only BPE)")
                }
            case "vocab":
                section.vocabulary = try parseVocabulary(&scanner, path: path)
                section.sawVocabulary = true
            case "merges":
                // Parsed once the vocab is known (it may come later in the object).
                mergesOffset = scanner.position
                try scanner.skipValue()
                section.sawMerges = true
            case "unk_token":
                let value = try scanner.readValue()
                guard value.isNull || value.stringBytes != nil else {
                    throw TokenizerError(path: path, "model.unk_token must be a string or null")
                }
                section.unknownToken = value.stringBytes
            case "byte_fallback": section.byteFallback = try readBool(&scanner, "model.byte_fallback", path: path)
            case "fuse_unk": section.fuseUnknown = try readBool(&scanner, "model.fuse_unk", path: path)
            case "ignore_merges": section.ignoreMerges = try readBool(&scanner, "model.ignore_merges", path: path)
            case "dropout":
                let value = try scanner.readValue()
                if let p = value.double, p > 0 {
                    throw TokenizerError(path: path, "model.dropout \(p) is not supported (BPE dropout is random)")
                }
            case "continuing_subword_prefix", "end_of_word_suffix":
                let name = String(decoding: key, as: UTF8.self)
                let value = try scanner.readValue()
                if let bytes = value.stringBytes, !bytes.isEmpty {
                    throw TokenizerError(path: path, "model.\(name) is not supported")
                }
            default:
                try scanner.skipValue()
            }
        }
        if let mergesOffset, section.sawVocabulary {
            var mergesScanner = scanner
            mergesScanner.position = mergesOffset
            section.merges = try parseMerges(
                &mergesScanner, path: path, vocabulary: section.vocabulary,
                expectedCount: section.vocabulary.pieceCount * 3)
        }
        return section
    }

    /// Streams the `vocab` object: token → id.
    private static func parseVocabulary(_ scanner: inout JSONScanner, path: String) throws -> PieceTable {
        guard try scanner.peek() == 0x7B else { throw scanner.error("model.vocab must be an object") }
        try scanner.beginObject()
        var table = PieceTable(idCount: 1 << 16)
        var first = true
        var token: [UInt8] = []
        var largest = -1
        while try scanner.nextKey(into: &token, first: &first) {
            let id = try scanner.readInteger()
            guard id >= 0, id < maximumId else {
                throw TokenizerError(
                    path: path, "model.vocab: id \(id) for \(quote(token)) is outside 0..<\(maximumId)")
            }
            if table.contains(id: Int32(id)) {
                throw TokenizerError(
                    path: path,
                    "model.vocab: id \(id) is given to both \(quote(table.piece(Int32(id)) ?? [])) and \(quote(token))")
            }
            if let earlier = table.insert(token, id: Int32(id)) {
                throw TokenizerError(path: path, "model.vocab: \(quote(token)) is listed twice (ids \(earlier), \(id))")
            }
            largest = Swift.max(largest, id)
        }
        guard largest >= 0 else { throw TokenizerError(path: path, "model.vocab is empty") }
        table.setIdCount(largest + 1)
        return table
    }

    /// Streams the `merges` array; each merge is `"left right"` or `["left", "right"]`. `expectedCount` only
    /// sizes the table (Gemma has about 2.3 merges per piece).
    private static func parseMerges(
        _ scanner: inout JSONScanner, path: String, vocabulary: PieceTable, expectedCount: Int
    ) throws -> MergeTable {
        guard try scanner.peek() == 0x5B else { throw scanner.error("model.merges must be an array") }
        try scanner.beginArray()
        var table = MergeTable(expectedCount: expectedCount)
        var first = true
        var rank: Int32 = 0
        var left: [UInt8] = []
        var right: [UInt8] = []
        var joined: [UInt8] = []
        while try scanner.nextElement(first: &first) {
            switch try scanner.peek() {
            case 0x22:
                try scanner.readString(into: &joined)
                guard let space = joined.firstIndex(of: 0x20) else {
                    throw TokenizerError(path: path, "model.merges[\(rank)] \(quote(joined)) has no space")
                }
                left.removeAll(keepingCapacity: true)
                left.append(contentsOf: joined[..<space])
                right.removeAll(keepingCapacity: true)
                right.append(contentsOf: joined[(space + 1)...])
            case 0x5B:
                try scanner.beginArray()
                var firstPart = true
                guard try scanner.nextElement(first: &firstPart) else {
                    throw TokenizerError(path: path, "model.merges[\(rank)] is an empty array")
                }
                try scanner.readString(into: &left)
                guard try scanner.nextElement(first: &firstPart) else {
                    throw TokenizerError(path: path, "model.merges[\(rank)] has one part, not two")
                }
                try scanner.readString(into: &right)
                guard try !scanner.nextElement(first: &firstPart) else {
                    throw TokenizerError(path: path, "model.merges[\(rank)] has more than two parts")
                }
            default:
                throw scanner.error("model.merges[\(rank)] must be a string or an array of two strings")
            }
            let leftId = vocabulary.id(of: left)
            let rightId = vocabulary.id(of: right)
            joined.removeAll(keepingCapacity: true)
            joined.append(contentsOf: left)
            joined.append(contentsOf: right)
            let mergedId = vocabulary.id(of: joined)
            for (part, id) in [(left, leftId), (right, rightId), (joined, mergedId)] where id < 0 {
                throw TokenizerError(path: path, "model.merges[\(rank)]: \(quote(part)) is not in the vocab")
            }
            table.insert(left: leftId, right: rightId, rank: rank, merged: mergedId)
            guard rank < Int32.max else { throw TokenizerError(path: path, "model.merges: too many merges") }
            rank += 1
        }
        return table
    }

    // MARK: Added tokens and assembly

    private static func assemble(
        model: ModelSection, addedTokens: JSONValue, normalizer: TextNormalizer, wordDelimiter: [UInt8]?,
        path: String
    ) throws -> TokenizerDefinition {
        var vocabularySize = model.vocabulary.idCount
        var overrides: [Int32: [UInt8]] = [:]
        var rawTokens: [(bytes: [UInt8], id: Int32)] = []
        var normalizedTokens: [(bytes: [UInt8], id: Int32)] = []
        var specialIds: [Int32] = []
        var contentToId: [[UInt8]: Int32] = [:]
        guard addedTokens.isNull || addedTokens.elements != nil else {
            throw TokenizerError(path: path, "\"added_tokens\" must be an array")
        }
        for (index, token) in (addedTokens.elements ?? []).enumerated() {
            let name = "added_tokens[\(index)]"
            guard let content = token["content"]?.stringBytes, !content.isEmpty else {
                throw TokenizerError(path: path, "\(name) has no \"content\" string")
            }
            guard let declared = token["id"]?.integer, declared >= 0, declared < maximumId else {
                throw TokenizerError(path: path, "\(name) \(quote(content)) has no \"id\" in 0..<\(maximumId)")
            }
            for option in ["lstrip", "rstrip", "single_word"] where token[option]?.bool == true {
                throw TokenizerError(path: path, "\(name) \(quote(content)): \(option) is not supported")
            }
            let isSpecial = token["special"]?.bool ?? false
            let normalized = token["normalized"]?.bool ?? !isSpecial
            // HF keeps the model's id for a content already in the vocab.
            var id = model.vocabulary.id(of: content)
            if id < 0 {
                id = Int32(declared)
                if model.vocabulary.contains(id: id) {
                    throw TokenizerError(
                        path: path,
                        "\(name) \(quote(content)) has id \(declared), which the vocab gives to "
                            + quote(model.vocabulary.piece(id) ?? []))
                }
                if let other = overrides[id], other != content {
                    throw TokenizerError(path: path, "\(name): id \(declared) is used by two added tokens")
                }
                overrides[id] = content
                vocabularySize = Swift.max(vocabularySize, declared + 1)
            }
            contentToId[content] = id
            if normalized {
                normalizedTokens.append((content, id))
            } else {
                rawTokens.append((content, id))
            }
            if isSpecial { specialIds.append(id) }
        }
        var special = [Bool](repeating: false, count: vocabularySize)
        for id in specialIds { special[Int(id)] = true }

        func required(_ name: String) throws -> Int32 {
            let bytes = Array(name.utf8)
            if let id = contentToId[bytes] { return id }
            let id = model.vocabulary.id(of: bytes)
            guard id >= 0 else { throw TokenizerError(path: path, "no \(name) token in the vocab or added tokens") }
            return id
        }

        var byteTokenIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 { byteTokenIds[byte] = model.vocabulary.id(of: byteTokenName(UInt8(byte))) }
        var unknownId: Int32 = -1
        if let unknown = model.unknownToken {
            unknownId = model.vocabulary.id(of: unknown)
            guard unknownId >= 0 else {
                throw TokenizerError(path: path, "model.unk_token \(quote(unknown)) is not in the vocab")
            }
        }
        let bpe = MergeRankBPE(
            merges: model.merges, byteFallback: model.byteFallback, byteTokenIds: byteTokenIds, unknownId: unknownId,
            fuseUnknown: model.fuseUnknown, ignoreMerges: model.ignoreMerges)
        var vocabulary = model.vocabulary
        vocabulary.setIdCount(vocabularySize)
        return TokenizerDefinition(
            vocabulary: vocabulary, tokenStringOverrides: overrides, vocabularySize: vocabularySize, special: special,
            addedTokens: AddedTokenMatcher(tokens: rawTokens),
            normalizedAddedTokens: AddedTokenMatcher(tokens: normalizedTokens), normalizer: normalizer,
            wordDelimiter: wordDelimiter, model: .mergeRanks(bpe), bosToken: try required("<bos>"),
            eosToken: try required("<eos>"), padToken: try required("<pad>"))
    }

    // MARK: Pipeline sections

    private static func parseNormalizer(_ value: JSONValue, path: String) throws -> TextNormalizer {
        var steps: [TextNormalizer.Step] = []
        func add(_ value: JSONValue, depth: Int) throws {
            if value.isNull { return }
            switch value["type"]?.text {
            case "Replace":
                guard let pattern = value["pattern"]?["String"]?.stringBytes,
                    let content = value["content"]?.stringBytes
                else {
                    throw TokenizerError(path: path, "normalizer Replace needs a {\"String\": …} pattern and content")
                }
                steps.append(.replace(pattern: pattern, content: content))
            case "Prepend":
                guard let content = value["prepend"]?.stringBytes else {
                    throw TokenizerError(path: path, "normalizer Prepend needs \"prepend\"")
                }
                steps.append(.prepend(content: content))
            case "Sequence":
                guard depth < 8, let list = value["normalizers"]?.elements else {
                    throw TokenizerError(path: path, "normalizer Sequence needs a \"normalizers\" array")
                }
                for item in list { try add(item, depth: depth + 1) }
            default:
                throw TokenizerError(
                    path: path,
                    "normalizer \(describe(value["type"] ?? .null)) is not supported "
                        + "(supported: Replace with a string pattern, Prepend, Sequence)")
            }
        }
        try add(value, depth: 0)
        return TextNormalizer(steps: steps)
    }

    private static func parsePreTokenizer(_ value: JSONValue, path: String) throws -> [UInt8]? {
        if value.isNull { return nil }
        guard value["type"]?.text == "Split", let pattern = value["pattern"]?["String"]?.stringBytes,
            !pattern.isEmpty, value["behavior"]?.text == "MergedWithPrevious", value["invert"]?.bool != true
        else {
            throw TokenizerError(
                path: path,
                "pre_tokenizer \(describe(value["type"] ?? .null)) is not supported "
                    + "(supported: null, or Split with a string pattern and MergedWithPrevious)")
        }
        return pattern
    }

    private static func checkDecoder(_ value: JSONValue, path: String) throws {
        if value.isNull { return }
        let steps = value["type"]?.text == "Sequence" ? (value["decoders"]?.elements ?? []) : [value]
        for step in steps {
            switch step["type"]?.text {
            case "ByteFallback", "Fuse":
                continue
            case "Replace"
            where step["pattern"]?["String"]?.stringBytes == [0xE2, 0x96, 0x81]
                && step["content"]?.stringBytes == [0x20]:
                continue
            default:
                throw TokenizerError(
                    path: path,
                    "decoder step \(describe(step["type"] ?? .null)) is not supported "
                        + "(supported: Replace \"▁\" → \" \", ByteFallback, Fuse)")
            }
        }
    }

    // MARK: Helpers

    private static func readBool(_ scanner: inout JSONScanner, _ name: String, path: String) throws -> Bool {
        let value = try scanner.readValue()
        if value.isNull { return false }
        guard let flag = value.bool else { throw TokenizerError(path: path, "\(name) must be a boolean") }
        return flag
    }

    /// `<0xHH>` with uppercase hex, the byte-fallback token name.
    static func byteTokenName(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return [0x3C, 0x30, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 0xF)], 0x3E]
    }

    /// A token in quotes with control characters escaped, for messages.
    static func quote(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(80), as: UTF8.self)
        return "\"" + text.unicodeScalars.map { $0.escaped(asASCII: false) }.joined() + "\""
    }

    private static func describe(_ value: JSONValue) -> String {
        if let text = value.text { return "\"\(text)\"" }
        return value.isNull ? "(missing)" : "(not a string)"
    }
}
