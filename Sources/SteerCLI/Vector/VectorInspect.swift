import ArgumentParser
import Foundation
import Pipeline
import SteeringCore
import TensorFormats

struct VectorInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract:
            "Preview a vector's side effects: the estimator's predicted feature changes (and, with --measure, the measured ones)."
    )

    @Argument(help: "Vector: a .npy file, or a store key, prefix or alias.")
    var vector: String

    @Option(help: "Estimator: store key, prefix or alias, or a .safetensors file with W and b.")
    var estimator: String

    @Option(help: "On-target features (default: the vector recipe's targets).")
    var target: String?

    @Option(help: "Features listed on and off target.")
    var top = 10

    @Flag(
        help: "Also measure the effect through the effect pipeline (needs --model, --sae and --scale or --calibration)."
    )
    var measure = false

    @Option(help: "Checkpoint directory, for --measure.")
    var model: String?

    @Option(help: "SAE, for --measure.")
    var sae: String?

    @OptionGroup var measurement: MeasurementOptions
    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if measure && (model == nil || sae == nil) { throw ValidationError("--measure needs --model and --sae.") }
    }

    func run() async throws {
        let store = try storeOptions.open(readOnly: false, create: true)
        let (_, effectModel) = try EstimatorReference.resolve(estimator, store: store)
        var targets = try target.map { try FeatureTarget.parseList($0) } ?? []
        let values: [Float]
        if vector.hasSuffix(".npy") {
            values = try NPY.read(path: vector).floats()
        } else {
            let key = try store.resolve(vector)
            guard let artifact = try store.get(key) else { throw ValidationError("No artifact \(vector).") }
            values = try artifact.floats()
            if targets.isEmpty, case .array(let items)? = artifact.header.recipe.parameters["targets"] {
                targets = items.compactMap { item in
                    guard case .array(let pair) = item, case .int(let feature)? = pair.first else { return nil }
                    return FeatureTarget(feature: feature)
                }
            }
        }
        let predicted = EffectPrediction.predict(values, with: effectModel)
        print("predicted effect (estimator, input normalised to unit length):")
        print(EffectPrediction.describe(predicted, targets: targets.map(\.feature), top: top))
        guard measure, let model, let sae else { return }
        let backend = try ModelOptions.load(model)
        let dictionary = try SAEOptions.load(sae)
        guard let site = dictionary.descriptor.site else { throw ValidationError("The SAE's layer is unknown.") }
        let measurer = try EffectMeasurer(
            model: backend, dictionary: dictionary, store: store,
            measurement: try measurement.measurementProtocol(layer: site.layer),
            scaling: try measurement.scaling(model: backend), execution: try measurement.measurementExecution(),
            batchRows: measurement.batchRows)
        let probe = try ProbeVector(
            values: values,
            recipe: Recipe(
                kind: .vector, algorithm: "inspected", parameters: [:],
                inputs: ["values": ContentDigest(ofFloats: values)]), label: "inspected vector")
        let measured = try measurer.measure(probe)
        print("measured effect at scale \(measured.scale):")
        print(EffectPrediction.describe(measured.effect, targets: targets.map(\.feature), top: top))
        print(String(format: "cosine(predicted, measured) = %.4f", Vector.cosine(predicted, measured.effect)))
    }
}
