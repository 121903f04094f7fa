import ArtifactStore
import Foundation
import SteeringCore

/// Finds measured effects in a store and assembles them into (scaled vector, effect) rows — the
/// layout of the method's published `features` / `effects` tensors.
public struct EffectCatalog: Sendable {
    public let store: ArtifactStore

    public init(store: ArtifactStore) { self.store = store }

    /// One stored effect and what it was measured from.
    public struct Entry: Sendable {
        public var effectKey: ContentDigest
        public var vectorKey: ContentDigest
        public var baselineKey: ContentDigest
        public var recipe: Recipe
        /// Sort key: the vector's source and row.
        public var order: String
        /// The dictionary decoder row the probe vector was taken from; nil for a vector read from a file.
        public var probeRow: Int?

        public init(
            effectKey: ContentDigest, vectorKey: ContentDigest, baselineKey: ContentDigest, recipe: Recipe,
            order: String, probeRow: Int? = nil
        ) {
            self.effectKey = effectKey
            self.vectorKey = vectorKey
            self.baselineKey = baselineKey
            self.recipe = recipe
            self.order = order
            self.probeRow = probeRow
        }
    }

    /// Every effect in the store, grouped by baseline (= model, dictionary and protocol).
    public func effectsByBaseline() throws -> [ContentDigest: [Entry]] {
        var groups = [ContentDigest: [Entry]]()
        for (key, header) in try store.list(kind: .effect) {
            let recipe = header.recipe
            guard let vector = recipe.inputs["vector"], let baseline = recipe.inputs["baseline"] else { continue }
            var order = vector.hex
            var probeRow: Int?
            if let vectorRecipe = try store.recipe(vector) {
                let row: Int
                if case .int(let value)? = vectorRecipe.parameters["row"] { row = value } else { row = 0 }
                let source = (vectorRecipe.inputs["dictionary"] ?? vectorRecipe.inputs["file"])?.hex ?? ""
                order = "\(vectorRecipe.algorithm)|\(source)|\(String(format: "%012d", row))"
                if vectorRecipe.inputs["dictionary"] != nil, vectorRecipe.parameters["row"] != nil { probeRow = row }
            }
            groups[baseline, default: []].append(
                Entry(
                    effectKey: key, vectorKey: vector, baselineKey: baseline, recipe: recipe, order: order,
                    probeRow: probeRow))
        }
        return groups.mapValues { $0.sorted { $0.order < $1.order } }
    }

    /// The entries of one measurement set: the only one, or the one whose baseline key starts with `baselinePrefix`.
    public func entries(baselinePrefix: String?) throws -> [Entry] {
        let groups = try effectsByBaseline()
        guard !groups.isEmpty else {
            throw PipelineError.invalidInput(what: "store \(store.path)", problem: "holds no measured effects yet")
        }
        let chosen = groups.filter { group in
            guard let prefix = baselinePrefix else { return true }
            return group.key.hex.hasPrefix(prefix.lowercased())
        }
        guard chosen.count == 1, let only = chosen.first else {
            let list = groups.map { "\($0.key.short) (\($0.value.count) effects)" }.sorted().joined(separator: ", ")
            throw PipelineError.invalidInput(
                what: "effects in \(store.path)",
                problem: "come from \(groups.count) measurement set(s): \(list); choose one with --baseline PREFIX")
        }
        return only.value
    }

    /// The scaled vector (unit vector × scale), the effect and the scale of one entry.
    public func row(_ entry: Entry) throws -> (input: [Float], effect: [Float], scale: Float) {
        guard let vector = try store.get(entry.vectorKey), let effect = try store.get(entry.effectKey) else {
            throw PipelineError.invalidInput(
                what: "effect \(entry.effectKey.short)", problem: "its vector or payload is missing from the store")
        }
        let scale = try self.scale(of: entry.recipe)
        return (try vector.floats().map { $0 * scale }, try effect.floats(), scale)
    }

    /// The scale an effect was measured at: its fixed `scale` parameter or its calibration artifact.
    public func scale(of recipe: Recipe) throws -> Float {
        if case .double(let scale)? = recipe.parameters["scale"] { return Float(scale) }
        guard let key = recipe.inputs["calibration"], let artifact = try store.get(key) else {
            throw PipelineError.invalidInput(
                what: "effect recipe", problem: "names no scale and its calibration artifact is missing")
        }
        return try artifact.decodeJSON(CalibrationResult.self).scale
    }
}
