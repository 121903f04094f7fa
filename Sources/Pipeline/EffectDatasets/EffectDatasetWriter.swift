import ArtifactStore
import Foundation
public import SteeringCore

/// Assembles an effect dataset in the artifact store row by row, writing a chunk artifact every
/// `chunkRows` rows so memory stays bounded, then the manifest (Docs/Estimators.md).
///
/// ```swift
/// let writer = try EffectDatasetWriter(store: store, inputWidth: 2304, outputWidth: 16384)
/// for (x, y) in pairs { try writer.append(input: x, effect: y) }
/// let key = try writer.finish(recipe: Recipe(kind: .dataset, algorithm: "effect-collection", inputs: [...]))
/// ```
///
/// The stored key is the key of `recipe` with one input per chunk added (``EffectDatasetRecipes``), so
/// it also depends on the rows; ``StoredEffectDataset/find(recipe:in:)`` finds it again from `recipe`.
/// Not thread-safe: use one writer from one task.
public final class EffectDatasetWriter {
    /// The store written to.
    public let store: ArtifactStore
    /// `d_model`.
    public let inputWidth: Int
    /// `d_sae`.
    public let outputWidth: Int
    /// Rows per chunk artifact.
    public let chunkRows: Int
    /// Rows appended so far.
    public private(set) var count = 0
    private var buffer: [Float] = []
    private var chunks: [ContentDigest] = []
    private var finished = false

    /// A writer for rows of `inputWidth` + `outputWidth` values.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` for non-positive widths or chunk size.
    public init(store: ArtifactStore, inputWidth: Int, outputWidth: Int, chunkRows: Int = 1024) throws(PipelineError) {
        guard inputWidth > 0, outputWidth > 0, chunkRows > 0 else {
            throw .invalidInput(
                what: "effect dataset writer",
                problem: "input width \(inputWidth), output width \(outputWidth) and chunkRows \(chunkRows) "
                    + "must all be positive")
        }
        self.store = store
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.chunkRows = chunkRows
        buffer.reserveCapacity(min(chunkRows, 1 << 16) * (inputWidth + outputWidth))
    }

    /// Appends one (steering vector, effect) pair as the next row.
    /// - Throws: ``SteeringError/shapeMismatch(what:expected:got:)`` for a wrong length,
    ///   ``SteeringError/nonFinite(what:index:)`` naming the row for NaN or infinity, store errors.
    public func append(input: [Float], effect: [Float]) throws {
        try checkOpen()
        guard input.count == inputWidth else {
            throw SteeringError.shapeMismatch(
                what: "input of dataset row \(count)", expected: "\(inputWidth) values", got: "\(input.count)")
        }
        guard effect.count == outputWidth else {
            throw SteeringError.shapeMismatch(
                what: "effect of dataset row \(count)", expected: "\(outputWidth) values", got: "\(effect.count)")
        }
        try Vector.checkFinite(input, "input of dataset row \(count)")
        try Vector.checkFinite(effect, "effect of dataset row \(count)")
        buffer.append(contentsOf: input)
        buffer.append(contentsOf: effect)
        count += 1
        if buffer.count == chunkRows * (inputWidth + outputWidth) { try flush() }
    }

    /// Appends every row of two matrices with the same number of rows.
    /// - Throws: As ``append(input:effect:)``.
    public func append(inputs: Matrix, effects: Matrix) throws {
        guard inputs.rows == effects.rows else {
            throw SteeringError.shapeMismatch(
                what: "effects appended to the dataset", expected: "\(inputs.rows) rows", got: "\(effects.rows)")
        }
        for r in 0..<inputs.rows { try append(input: inputs.row(r), effect: effects.row(r)) }
    }

    /// Writes the last chunk and the manifest, and returns the dataset's key.
    ///
    /// - Parameters:
    ///   - recipe: What the rows are (kind `dataset`); chunk inputs are added to it.
    ///   - provenance: Notes kept in the manifest (not part of the key).
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` for an empty dataset, a recipe of another
    ///   kind, a second `finish`, or store errors.
    public func finish(recipe: Recipe, provenance: [String: String] = [:]) throws -> ContentDigest {
        try checkOpen()
        guard recipe.kind == .dataset else {
            throw PipelineError.invalidInput(
                what: "dataset recipe", problem: "its kind is '\(recipe.kind.rawValue)'; a dataset needs kind 'dataset'"
            )
        }
        guard count > 0 else {
            throw PipelineError.invalidInput(what: "effect dataset", problem: "no rows were appended")
        }
        _ = try EffectDatasetRecipes.manifest(base: recipe, chunks: [])
        if !buffer.isEmpty { try flush() }
        let manifest = EffectDatasetManifest(
            count: count, inputWidth: inputWidth, outputWidth: outputWidth, chunkRows: chunkRows, chunks: chunks,
            provenance: provenance)
        let key = try store.put(recipe: EffectDatasetRecipes.manifest(base: recipe, chunks: chunks), json: manifest)
        finished = true
        return key
    }

    private func flush() throws {
        let rows = buffer.count / (inputWidth + outputWidth)
        let payloadDigest = ContentDigest(ofFloats: buffer)
        let recipe = EffectDatasetRecipes.chunk(
            rows: rows, inputWidth: inputWidth, outputWidth: outputWidth, payloadDigest: payloadDigest)
        chunks.append(try store.put(recipe: recipe, floats: buffer, shape: [rows, inputWidth + outputWidth]))
        buffer.removeAll(keepingCapacity: true)
    }

    private func checkOpen() throws(PipelineError) {
        guard !finished else {
            throw .invalidInput(
                what: "effect dataset writer", problem: "finish() was already called; make a new writer")
        }
    }
}
