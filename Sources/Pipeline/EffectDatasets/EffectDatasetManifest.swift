public import SteeringCore

/// The JSON payload of a stored effect dataset (an artifact of kind `dataset`); see Docs/Estimators.md.
///
/// Rows live in chunk artifacts (kind `dataset`, algorithm `dataset-chunk`), each an f32 matrix
/// `[rows, inputWidth + outputWidth]` whose row is the input followed by its effect. Chunk `i` holds
/// dataset rows `i·chunkRows ..< min(count, (i+1)·chunkRows)`.
public struct EffectDatasetManifest: Codable, Sendable, Equatable {
    /// Always `effect-dataset`.
    public var format: String
    /// Layout version of this manifest (1).
    public var formatVersion: Int
    /// Number of rows `N`.
    public var count: Int
    /// `d_model`.
    public var inputWidth: Int
    /// `d_sae`.
    public var outputWidth: Int
    /// Rows per chunk (the last chunk may hold fewer).
    public var chunkRows: Int
    /// Keys of the chunk artifacts, in row order.
    public var chunks: [ContentDigest]
    /// Free-form notes on where the rows came from (source file, dtypes, tool); not part of the key.
    public var provenance: [String: String]

    /// The `format` value.
    public static let formatName = "effect-dataset"
    /// The current `formatVersion`.
    public static let currentVersion = 1

    /// A manifest in the current format.
    public init(
        count: Int, inputWidth: Int, outputWidth: Int, chunkRows: Int, chunks: [ContentDigest],
        provenance: [String: String]
    ) {
        format = Self.formatName
        formatVersion = Self.currentVersion
        self.count = count
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.chunkRows = chunkRows
        self.chunks = chunks
        self.provenance = provenance
    }

    /// Rows in chunk `index`.
    public func rows(inChunk index: Int) -> Int { min(chunkRows, count - index * chunkRows) }

    /// Throws unless the fields describe a consistent dataset.
    public func validate(key: ContentDigest) throws(PipelineError) {
        func fail(_ problem: String) -> PipelineError {
            .invalidInput(
                what: "effect dataset manifest \(key.short)",
                problem: problem + "; the artifact is damaged or was written by a newer tool — re-import the dataset")
        }
        guard format == Self.formatName else { throw fail("format is '\(format)', expected '\(Self.formatName)'") }
        guard formatVersion == Self.currentVersion else { throw fail("formatVersion \(formatVersion) is unknown") }
        guard count > 0, inputWidth > 0, outputWidth > 0, chunkRows > 0 else {
            throw fail("count \(count), widths \(inputWidth)/\(outputWidth), chunkRows \(chunkRows) must be positive")
        }
        guard chunks.count == (count + chunkRows - 1) / chunkRows else {
            throw fail("\(chunks.count) chunks cannot hold \(count) rows of \(chunkRows)")
        }
    }
}

/// Recipes of the artifacts that make up a stored effect dataset.
public enum EffectDatasetRecipes {
    /// Algorithm name of chunk artifacts.
    public static let chunkAlgorithm = "dataset-chunk"
    /// Prefix of the recipe inputs that name a dataset's chunks (`chunk.000000`, …).
    public static let chunkInputPrefix = "chunk."

    /// The recipe of a chunk: its shape and the SHA-256 of its payload, so equal chunks share one key.
    public static func chunk(rows: Int, inputWidth: Int, outputWidth: Int, payloadDigest: ContentDigest) -> Recipe {
        Recipe(
            kind: .dataset, algorithm: chunkAlgorithm, version: 1,
            parameters: [
                "rows": .int(rows), "input-width": .int(inputWidth), "output-width": .int(outputWidth),
                "payload-sha256": .string(payloadDigest.hex),
            ])
    }

    /// The recipe stored for a dataset: `base` with one input per chunk, so `steer store gc` keeps the
    /// chunks of every dataset it keeps.
    public static func manifest(base: Recipe, chunks: [ContentDigest]) throws(PipelineError) -> Recipe {
        if let reserved = base.inputs.keys.sorted().first(where: { $0.hasPrefix(chunkInputPrefix) }) {
            throw .invalidInput(
                what: "dataset recipe input '\(reserved)'",
                problem: "inputs starting with '\(chunkInputPrefix)' are reserved for the dataset's chunks; rename it")
        }
        var recipe = base
        for (index, key) in chunks.enumerated() {
            let name = chunkInputPrefix + String(repeating: "0", count: max(0, 6 - String(index).count)) + String(index)
            recipe.inputs[name] = key
        }
        return recipe
    }

    /// `recipe` without its chunk inputs: the recipe the dataset was written under.
    public static func base(of recipe: Recipe) -> Recipe {
        var base = recipe
        base.inputs = recipe.inputs.filter { !$0.key.hasPrefix(chunkInputPrefix) }
        return base
    }
}
