/// Everything a loader reads from a tokenizer file, in the form ``GemmaTokenizer`` runs.
struct TokenizerDefinition: Sendable {
    /// How text between added tokens becomes ids.
    enum SegmentModel: Sendable {
        /// HF `tokenizers` BPE with a ranked merge list (`tokenizer.json`).
        case mergeRanks(MergeRankBPE)
        /// sentencepiece BPE with piece scores (`tokenizer.model`).
        case scoredPieces(ScoredPieceBPE)
    }

    /// The model's vocabulary, id ↔ token bytes, as spelled in the file (used for encoding lookups).
    var vocabulary: PieceTable
    /// Token strings that differ from `vocabulary` or are missing from it: added tokens outside the model
    /// vocab, and sentencepiece's `<0x09>` shown as "\t" (transformers' `GemmaConverter`).
    var tokenStringOverrides: [Int32: [UInt8]] = [:]
    /// One past the largest id.
    var vocabularySize: Int
    /// Whether each id is a special token (skipped by `decode(_:skipSpecialTokens: true)`).
    var special: [Bool]
    /// Tokens matched in the raw text before normalisation (HF added tokens with `normalized: false`).
    var addedTokens: AddedTokenMatcher
    /// Tokens matched after normalisation (HF added tokens with `normalized: true`); usually empty.
    var normalizedAddedTokens: AddedTokenMatcher
    /// Applied to the text between added tokens.
    var normalizer: TextNormalizer
    /// When set, normalised text is cut into words after each occurrence (HF `Split`, `MergedWithPrevious`).
    var wordDelimiter: [UInt8]?
    /// The subword model.
    var model: SegmentModel
    /// Beginning of sequence.
    var bosToken: Int32
    /// End of sequence.
    var eosToken: Int32
    /// Padding.
    var padToken: Int32
    /// Whether the file asks for BOS at the start of encoded text (GGUF `tokenizer.ggml.add_bos_token`).
    var addBOSByDefault = true

    /// The token string of `id`, as UTF-8 bytes.
    func tokenString(_ id: Int32) -> [UInt8]? {
        if let override = tokenStringOverrides[id] { return override }
        return vocabulary.piece(id)
    }
}
