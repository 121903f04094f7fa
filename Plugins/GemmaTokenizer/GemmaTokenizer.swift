import Foundation
import TensorFormats

/// The Gemma tokenizer (SentencePiece BPE with byte fallback, 256,000 pieces), bit-for-bit equal to Hugging Face
/// `tokenizers` on the real Gemma files: `encode` as `encode(text, add_special_tokens=True)` and `decode` as
/// `decode(ids, skip_special_tokens:)` (gemma2.md §4.3–4.4).
///
/// Loads either an HF `tokenizer.json` (BPE model with a ranked merge list) or the SentencePiece
/// `tokenizer.model` (scored pieces, encoded with sentencepiece's algorithm after HF's pre-split on
/// special and user-defined tokens). Both give the same ids for Gemma. A third loader reads the tokenizer
/// metadata of a Gemma GGUF file (Gemma 3: 262,144 tokens) as transformers does (``init(gguf:)``).
///
/// Text is handled as UTF-8 bytes and Unicode scalars, never as `Character`s, and is never normalised;
/// tokens are keyed by bytes, so the 61 groups of canonically equivalent Gemma pieces stay distinct.
/// Instances are immutable and safe to share between threads.
public final class GemmaTokenizer: Sendable {
    private let definition: TokenizerDefinition
    private let decoder: TokenDecoder

    /// The file the tokenizer was loaded from.
    public let path: String

    private init(definition: TokenizerDefinition, path: String) {
        self.definition = definition
        self.path = path
        self.decoder = TokenDecoder(count: definition.vocabularySize, special: definition.special) {
            definition.tokenString($0)
        }
    }

    /// Loads the tokenizer in `directory`: `tokenizer.json` when present, else `tokenizer.model`.
    /// - Throws: ``TokenizerError`` when neither file exists or the chosen one cannot be loaded.
    public static func load(directory: String) throws -> GemmaTokenizer {
        let json = (directory as NSString).appendingPathComponent("tokenizer.json")
        let model = (directory as NSString).appendingPathComponent("tokenizer.model")
        if FileManager.default.fileExists(atPath: json) { return try GemmaTokenizer(tokenizerJSON: json) }
        if FileManager.default.fileExists(atPath: model) { return try GemmaTokenizer(sentencePieceModel: model) }
        throw TokenizerError(path: directory, "neither tokenizer.json nor tokenizer.model is in this directory")
    }

    /// Loads a Hugging Face `tokenizer.json` with a BPE model (merges as `"a b"` strings or `["a", "b"]`
    /// arrays), its added tokens and byte fallback.
    /// - Throws: ``TokenizerError`` naming the file when it is unreadable, malformed or uses an unsupported
    ///   normalizer, pre-tokenizer, decoder or model option.
    public convenience init(tokenizerJSON path: String) throws {
        self.init(definition: try TokenizerJSONLoader.load(path: path), path: path)
    }

    /// Loads a SentencePiece `tokenizer.model` (protobuf `ModelProto`, BPE type, identity normalisation).
    /// - Throws: ``TokenizerError`` naming the file when it is unreadable, truncated, malformed or not a
    ///   BPE model with Gemma's normaliser settings.
    public convenience init(sentencePieceModel path: String) throws {
        self.init(definition: try SentencePieceModelLoader.load(path: path), path: path)
    }

    /// Loads the tokenizer from the metadata of a Gemma GGUF file (`tokenizer.ggml.*`, e.g. google/gemma-3-270m
    /// with 262,144 tokens), as transformers builds it from the same file. Only the header and metadata are
    /// read, so files with quantized tensors load too.
    /// - Throws: ``TokenizerError`` naming the file and the key when the file is not GGUF, a key is missing or
    ///   ill-typed, the token arrays differ in length, an id is out of range, or the file describes a tokenizer
    ///   other than Gemma's (another `tokenizer.ggml.model`, merges, a space prefix).
    public convenience init(gguf path: String) throws {
        let metadata: GGUFMetadata
        do {
            metadata = try GGUFMetadata(path: path)
        } catch let error as TensorFormatError {
            throw TokenizerError(path: path, "cannot read the GGUF metadata: \(error.problem)")
        }
        try self.init(ggufMetadata: metadata)
    }

    /// Builds the tokenizer from GGUF metadata already read (``GGUFMetadata(path:)``, or
    /// `GGUFMetadata(file)` for an open ``GGUFFile``); see ``init(gguf:)``.
    /// - Throws: ``TokenizerError`` naming the file and the key, as ``init(gguf:)``.
    public convenience init(ggufMetadata metadata: GGUFMetadata) throws {
        self.init(definition: try GGUFTokenizerLoader.load(metadata), path: metadata.path)
    }

    /// Whether the file asks for ``bosToken`` first in encoded text: GGUF `tokenizer.ggml.add_bos_token`
    /// (true when absent), true for `tokenizer.json` and `tokenizer.model`. `encode`'s `addBOS` decides.
    public var addsBOSByDefault: Bool { definition.addBOSByDefault }

    /// Number of ids (256,000 for Gemma, 262,144 for Gemma 3); every id in `0..<vocabularySize` that has a token can be decoded.
    public var vocabularySize: Int { definition.vocabularySize }

    /// `<bos>`, 2 for Gemma.
    public var bosToken: Int32 { definition.bosToken }

    /// `<eos>`, 1 for Gemma.
    public var eosToken: Int32 { definition.eosToken }

    /// `<pad>`, 0 for Gemma.
    public var padToken: Int32 { definition.padToken }

    /// Token ids for `text`, with ``bosToken`` first when `addBOS` (no EOS is added).
    ///
    /// Special and user-defined tokens written literally in the text (`<start_of_turn>`, `<bos>`, `\n\n`, `<b>`,
    /// …) become their ids, as in HF `tokenizers`.
    public func encode(_ text: String, addBOS: Bool = true) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 2 + 2)
        if addBOS { output.append(definition.bosToken) }
        var text = text
        text.withUTF8 { raw in
            definition.addedTokens.split(raw) { segment in
                switch segment {
                case .token(let id): output.append(id)
                case .text(let range): encodeSegment(UnsafeBufferPointer(rebasing: raw[range]), into: &output)
                }
            }
        }
        return output
    }

    /// Text for `ids` (HF decoding: "▁" becomes a space, `<0xHH>` runs become bytes).
    ///
    /// - A run of byte tokens that is not valid UTF-8 as a whole becomes one U+FFFD per byte.
    /// - Ids with no token (negative or ≥ ``vocabularySize``) are skipped, as HF `tokenizers` does.
    /// - With `skipSpecialTokens`, ids for which ``isSpecial(_:)`` holds are dropped.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        decoder.decode(ids, skipSpecialTokens: skipSpecialTokens)
    }

    /// The token string of `id` as UTF-8 bytes, with "▁" as it is (nil when the id has no token).
    /// Id 226 is "\t" on both load paths, as in the converted HF vocab.
    public func tokenString(_ id: Int32) -> [UInt8]? {
        definition.tokenString(id)
    }

    /// Whether `id` is a special token: `<pad>`, `<eos>`, `<bos>`, `<unk>`, `<start_of_turn>`, `<end_of_turn>`
    /// for Gemma (the `special: true` added tokens of the HF file).
    public func isSpecial(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < definition.special.count && definition.special[Int(id)]
    }

    /// The id of the token spelled `piece`, or nil; the lookup is byte-exact (no Unicode equivalence).
    public func tokenID(of piece: String) -> Int32? {
        let id = definition.vocabulary.id(of: Array(piece.utf8))
        if id >= 0 { return id }
        let bytes = Array(piece.utf8)
        return definition.tokenStringOverrides.first(where: { $0.value == bytes })?.key
    }

    /// Normalises, splits and BPE-encodes text found between two added tokens.
    private func encodeSegment(_ raw: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let normalized = definition.normalizer.apply(raw)
        normalized.withUnsafeBufferPointer { text in
            if definition.normalizedAddedTokens.isEmpty {
                encodeWords(text, into: &output)
                return
            }
            definition.normalizedAddedTokens.split(text) { segment in
                switch segment {
                case .token(let id): output.append(id)
                case .text(let range): encodeWords(UnsafeBufferPointer(rebasing: text[range]), into: &output)
                }
            }
        }
    }

    /// Cuts normalised text into words (when the file has a `Split` pre-tokenizer) and encodes each.
    private func encodeWords(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard let delimiter = definition.wordDelimiter, let first = delimiter.first else {
            encodeWord(text, into: &output)
            return
        }
        var wordStart = 0
        var position = 0
        while position < text.count {
            if text[position] == first, position + delimiter.count <= text.count,
                text[position..<position + delimiter.count].elementsEqual(delimiter)
            {
                position += delimiter.count
                encodeWord(UnsafeBufferPointer(rebasing: text[wordStart..<position]), into: &output)
                wordStart = position
            } else {
                position += 1
            }
        }
        if wordStart < text.count { encodeWord(UnsafeBufferPointer(rebasing: text[wordStart...]), into: &output) }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        switch definition.model {
        case .mergeRanks(let bpe): bpe.encode(word, vocabulary: definition.vocabulary, into: &output)
        case .scoredPieces(let bpe): bpe.encode(word, vocabulary: definition.vocabulary, into: &output)
        }
    }
}
