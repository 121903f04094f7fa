import Foundation
public import SteeringCore
public import TensorFormats

/// An effect dataset in any tensor file `NamedTensorFile` reads — above all the SAE-TS authors'
/// `effects_2b.pt` (a `torch.save` dict with `features` `[N, d_model]` and `effects` `[N, d_sae]`),
/// also `.npz`. Rows are read in runs of consecutive indices straight from the file mapping.
public final class TensorFileEffectDataset: EffectDataSource {
    public let file: NamedTensorFile
    public let inputTensor: String
    public let effectTensor: String
    public let count: Int
    public let inputWidth: Int
    public let outputWidth: Int
    public let digest: ContentDigest

    /// Opens `path` and checks the two tensors (names, ranks, matching row counts).
    public init(
        path: String, digest: ContentDigest? = nil, inputTensor: String = "features", effectTensor: String = "effects"
    ) throws {
        let file = try NamedTensorFile.open(path: path)
        func shape(_ name: String) throws -> [Int] {
            guard file.contains(name) else {
                throw PipelineError.invalidInput(
                    what: "effect dataset \(path)",
                    problem: "it has no tensor '\(name)' (it holds \(file.tensorNames.joined(separator: ", "))); "
                        + "an effect dataset needs '\(inputTensor)' [N, d_model] and '\(effectTensor)' [N, d_sae]")
            }
            let shape = try file.shape(of: name)
            guard shape.count == 2, shape[1] > 0 else {
                throw PipelineError.invalidInput(
                    what: "tensor '\(name)' of \(path)", problem: "expected a 2-D [N, width] tensor, got shape \(shape)"
                )
            }
            return shape
        }
        let inputShape = try shape(inputTensor), effectShape = try shape(effectTensor)
        guard inputShape[0] == effectShape[0] else {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem: "'\(inputTensor)' has \(inputShape[0]) rows but '\(effectTensor)' has \(effectShape[0]); "
                    + "every steering vector needs exactly one effect")
        }
        self.file = file
        self.inputTensor = inputTensor
        self.effectTensor = effectTensor
        count = inputShape[0]
        inputWidth = inputShape[1]
        outputWidth = effectShape[1]
        self.digest = try digest ?? FileFingerprint.digest(ofFile: path)
    }

    public func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        try EffectRowSelection.validate(rows, count: count, source: "effect dataset \(file.path)")
        var inputs = [Float](), effects = [Float]()
        inputs.reserveCapacity(rows.count * inputWidth)
        effects.reserveCapacity(rows.count * outputWidth)
        var start = 0
        while start < rows.count {
            var end = start + 1
            while end < rows.count && rows[end] == rows[end - 1] + 1 { end += 1 }
            let run = rows[start]..<(rows[end - 1] + 1)
            inputs += try file.floats(inputTensor, rows: run)
            effects += try file.floats(effectTensor, rows: run)
            start = end
        }
        return (
            Matrix(rows: rows.count, columns: inputWidth, values: inputs),
            Matrix(rows: rows.count, columns: outputWidth, values: effects)
        )
    }

    /// The reader for a dataset file: memory-mapped safetensors, or any other format `NamedTensorFile` reads.
    public static func open(path: String, digest: ContentDigest? = nil) throws -> any EffectDataSource {
        if path.lowercased().hasSuffix(".safetensors") {
            return try SafetensorsEffectDataset(path: path, digest: digest)
        }
        return try TensorFileEffectDataset(path: path, digest: digest)
    }
}
