/// Where in a model an activation is read or edited.
public struct ActivationSite: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The hook point within a block.
    public enum Hook: String, Sendable, Hashable, Codable {
        /// The residual stream after block `layer` (HF `hidden_states[layer + 1]`, TransformerLens
        /// `blocks.{layer}.hook_resid_post`).
        case residPost = "hook_resid_post"
    }

    /// 0-based block index.
    public var layer: Int
    /// Hook point within the block.
    public var hook: Hook

    public init(layer: Int, hook: Hook = .residPost) {
        self.layer = layer
        self.hook = hook
    }

    /// Parses TransformerLens names such as `blocks.12.hook_resid_post`.
    public init?(transformerLensName name: String) {
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[0] == "blocks", let layer = Int(parts[1]),
            let hook = Hook(rawValue: String(parts[2]))
        else { return nil }
        self.init(layer: layer, hook: hook)
    }

    /// The TransformerLens hook name, e.g. `blocks.12.hook_resid_post`.
    public var transformerLensName: String { "blocks.\(layer).\(hook.rawValue)" }
    public var description: String { transformerLensName }
}

/// Which token positions of a sequence an intervention touches.
public struct PositionPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The span of positions, before the BOS rule is applied.
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
        /// Every position: prompt and generated (the method's choice).
        case all
        /// Only the prompt positions processed at prefill.
        case promptOnly = "prompt"
        /// Only positions produced by generation.
        case generatedOnly = "generated"
    }

    public var scope: Scope
    /// Whether position 0 (BOS) is included when it falls in `scope`.
    public var includeBOS: Bool

    public init(scope: Scope = .all, includeBOS: Bool = true) {
        self.scope = scope
        self.includeBOS = includeBOS
    }

    /// The method's default: every position including BOS.
    public static let all = PositionPolicy()

    /// Whether absolute position `position` of a sequence whose prompt has `promptLength` tokens is steered.
    @inlinable
    public func applies(position: Int, promptLength: Int) -> Bool {
        if position == 0 && !includeBOS { return false }
        switch scope {
        case .all: return true
        case .promptOnly: return position < promptLength
        case .generatedOnly: return position >= promptLength
        }
    }

    public var description: String { "\(scope.rawValue)\(includeBOS ? "" : "-no-bos")" }
}

/// Adds `scale × vector` to the activation at `site`, at the positions selected by `positions`.
public struct Intervention: Sendable, Equatable {
    public var site: ActivationSite
    public var vector: [Float]
    public var scale: Float
    public var positions: PositionPolicy

    public init(site: ActivationSite, vector: [Float], scale: Float, positions: PositionPolicy = .all) {
        self.site = site
        self.vector = vector
        self.scale = scale
        self.positions = positions
    }

    /// `scale × vector`, the quantity actually added.
    public var scaledVector: [Float] { vector.map { $0 * scale } }
}

/// A steering direction in the residual stream, with where it came from.
public struct SteeringVector: Sendable, Equatable {
    /// The direction, `hiddenSize` values.
    public var values: [Float]
    /// The site it is meant for.
    public var site: ActivationSite
    /// Strategy name and inputs, recorded in artifact recipes.
    public var provenance: [String: String]

    public init(values: [Float], site: ActivationSite, provenance: [String: String] = [:]) {
        self.values = values
        self.site = site
        self.provenance = provenance
    }

    /// Euclidean norm.
    public var norm: Float { Vector.norm(values) }

    /// The same direction at unit norm.
    public func normalized() -> SteeringVector {
        SteeringVector(values: Vector.normalized(values), site: site, provenance: provenance)
    }
}
