public import ArtifactStore
import Foundation
public import SteeringCore

/// Turns a request's ``SteeringSpec`` terms into interventions for the served model: vectors from
/// the store (opened read-only), decoder rows of the server's dictionary, or inline values.
public struct SteeringResolver: Sendable {
    public let model: ModelDescriptor
    public let store: ArtifactStore?
    public let dictionary: (any FeatureDictionary)?

    public init(model: ModelDescriptor, store: ArtifactStore?, dictionary: (any FeatureDictionary)?) {
        self.model = model
        self.store = store
        self.dictionary = dictionary
    }

    /// The interventions for `specs`, in order.
    /// - Throws: ``APIError``: 404 for an unknown alias or key, 400 for a missing store or
    ///   dictionary, an artifact that is not a vector, a width that is not the model's, a layer out
    ///   of range, a feature out of range, or a term with no known layer.
    public func interventions(for specs: [SteeringSpec]) throws(APIError) -> [Intervention] {
        var out = [Intervention]()
        for (i, spec) in specs.enumerated() {
            let name = "steering[\(i)]"
            let values: [Float]
            var defaultLayer: Int?
            var param = name
            switch spec.source {
            case .vector(let reference):
                param = name + ".vector"
                (values, defaultLayer) = try vector(reference, param: param)
            case .feature(let feature):
                param = name + ".feature"
                guard let dictionary else {
                    throw .invalid(
                        "\(name) asks for SAE feature \(feature), but the server has no dictionary; start it with --sae.",
                        param: param)
                }
                let count = dictionary.descriptor.featureCount
                guard feature < count else {
                    throw .invalid(
                        "\(name).feature \(feature) is out of range; the dictionary \(dictionary.descriptor.name) has "
                            + "features 0..<\(count).", param: param)
                }
                do {
                    values = try dictionary.decoderRows([feature]).values
                } catch {
                    throw .invalid("\(name): \(error)", param: param)
                }
                defaultLayer = dictionary.descriptor.site?.layer
            case .values(let inline):
                param = name + ".values"
                values = inline
            }
            guard values.count == model.hiddenSize else {
                throw .invalid(
                    "\(param) has \(values.count) values, but \(model.name) needs \(model.hiddenSize) (its hidden size).",
                    param: param, code: "wrong_vector_width")
            }
            guard let layer = spec.layer ?? defaultLayer else {
                throw .invalid(
                    "\(name) needs a 'layer' (the block after which it is added, 0..<\(model.layerCount)): "
                        + "its source records none.", param: name + ".layer")
            }
            guard (0..<model.layerCount).contains(layer) else {
                throw .invalid(
                    "\(name).layer \(layer) is out of range; \(model.name) has blocks 0..<\(model.layerCount).",
                    param: name + ".layer")
            }
            let intervention = Intervention(
                site: ActivationSite(layer: layer), vector: values, scale: spec.scale, positions: spec.positions)
            do {
                try intervention.validate(for: model)
            } catch {
                throw .invalid("\(name): \(error)", param: name)
            }
            out.append(intervention)
        }
        return out
    }

    /// A vector artifact's values and recorded layer.
    func vector(_ reference: String, param: String) throws(APIError) -> ([Float], Int?) {
        guard let store else {
            throw .invalid(
                "\(param): the server has no store, so vector '\(reference)' cannot be looked up; start it with "
                    + "--store, or send the direction as 'values'.", param: param)
        }
        let key: ContentDigest
        let artifact: Artifact?
        do {
            key = try store.resolve(reference)
            artifact = try store.get(key)
        } catch let error as ArtifactStoreError {
            switch error {
            case .unknownAlias, .unknownKey:
                throw .notFound(
                    "\(param): no vector '\(reference)' in the store. \(error) GET /v1/steering/vectors lists them.",
                    param: param, code: "vector_not_found")
            default:
                throw .invalid("\(param): \(error)", param: param)
            }
        } catch {
            throw APIError(status: 500, message: "\(param): \(error)", type: "server_error", param: param)
        }
        guard let artifact else {
            throw .notFound(
                "\(param): vector '\(reference)' was removed from the store.", param: param, code: "vector_not_found")
        }
        guard artifact.header.kind == .vector else {
            throw .invalid(
                "\(param): '\(reference)' is a \(artifact.header.kind.rawValue) artifact, not a vector.", param: param)
        }
        let values: [Float]
        do {
            values = try artifact.floats()
        } catch {
            throw .invalid("\(param): \(error)", param: param)
        }
        return (values, Self.recordedLayer(artifact.header.recipe))
    }

    /// The `layer` parameter of a vector's recipe.
    static func recordedLayer(_ recipe: Recipe) -> Int? {
        if case .int(let layer) = recipe.parameters["layer"] { return layer }
        return nil
    }

    /// `GET /v1/steering/vectors`: every vector artifact with its aliases, width and recorded layer,
    /// and the dictionary's features.
    public func listing() throws -> [String: Any] {
        var data = [[String: Any]]()
        if let store {
            let aliases = try store.aliases()
            var byKey: [ContentDigest: [String]] = [:]
            for (name, key) in aliases { byKey[key, default: []].append(name) }
            for (key, header) in try store.list(kind: .vector) {
                let names = (byKey[key] ?? []).sorted()
                data.append([
                    "id": names.first ?? key.hex, "object": "steering.vector", "key": key.hex, "aliases": names,
                    "width": header.shape.last ?? 0, "layer": Self.recordedLayer(header.recipe) as Any? ?? NSNull(),
                    "algorithm": header.recipe.algorithm, "usable": (header.shape.last ?? 0) == model.hiddenSize,
                ])
            }
        }
        var result: [String: Any] = ["object": "list", "data": data]
        if let dictionary {
            let d = dictionary.descriptor
            result["dictionary"] = [
                "name": d.name, "features": d.featureCount, "layer": d.site?.layer as Any? ?? NSNull(),
                "width": d.inputWidth,
            ]
        }
        return result
    }
}
