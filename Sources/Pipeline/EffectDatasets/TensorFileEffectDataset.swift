import Foundation
public import SteeringCore
public import TensorFormats

/// An effect dataset in any tensor file `NamedTensorFile` reads: safetensors, the SAE-TS authors'
/// `effects_2b.pt` (a `torch.save` dict with `features` `[N, d_model]` and `effects` `[N, d_sae]`,
/// method.md §3), or `.npz`. Rows are decoded in runs of consecutive indices straight from the file
/// mapping (F32, BF16, F16 or F64), so a safetensors or checkpoint file is never copied into memory whole.
public final class TensorFileEffectDataset: EffectDataSource {
    /// The opened file.
    public let file: NamedTensorFile
    /// Name of the `[N, d_model]` input tensor.
    public let inputTensor: String
    /// Name of the `[N, d_sae]` effect tensor.
    public let effectTensor: String
    /// Number of rows.
    public let count: Int
    /// `d_model`.
    public let inputWidth: Int
    /// `d_sae`.
    public let outputWidth: Int
    /// The dataset digest (enters estimator recipes).
    public let digest: ContentDigest
    /// The element types of the two tensors as the file spells them (`F32`, `BF16`, `<f4`, …).
    public let dtypes: (inputs: String, effects: String)

    /// Opens `path` and checks the two tensors (names, ranks, float element types, matching row counts).
    ///
    /// - Parameters:
    ///   - digest: The dataset digest; `nil` uses the file's SHA-256 (cached by path, size and mtime).
    ///   - inputTensor: Name of the `[N, d_model]` tensor.
    ///   - effectTensor: Name of the `[N, d_sae]` tensor.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming the file and tensor when a tensor is
    ///   missing, not 2-D, of a non-float type, or when the row counts differ; format errors of the file.
    public init(
        path: String, digest: ContentDigest? = nil, inputTensor: String = "features", effectTensor: String = "effects"
    ) throws {
        let file = try NamedTensorFile.open(path: path)
        func describe(_ name: String) throws -> (shape: [Int], dtype: String) {
            guard file.contains(name) else {
                throw PipelineError.invalidInput(
                    what: "effect dataset \(path)",
                    problem: "it has no tensor '\(name)' (it holds \(file.tensorNames.joined(separator: ", "))); "
                        + "an effect dataset needs '\(inputTensor)' [N, d_model] and '\(effectTensor)' [N, d_sae]")
            }
            let (shape, type, isFloat) = try file.layout(of: name)
            guard shape.count == 2, shape[1] > 0 else {
                throw PipelineError.invalidInput(
                    what: "tensor '\(name)' of \(path)", problem: "expected a 2-D [N, width] tensor, got shape \(shape)"
                )
            }
            guard isFloat else {
                throw PipelineError.invalidInput(
                    what: "tensor '\(name)' of \(path)",
                    problem: "dtype \(type) is not a float type; use F32, BF16, F16 or F64")
            }
            return (shape, type)
        }
        let input = try describe(inputTensor), effect = try describe(effectTensor)
        let inputShape = input.shape, effectShape = effect.shape
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
        dtypes = (input.dtype, effect.dtype)
        self.digest = try digest ?? FileFingerprint.digest(ofFile: path)
    }

    /// Decodes `rows` (ascending, in range) from the file.
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

    /// The reader for a dataset file in any format `NamedTensorFile` reads.
    public static func open(path: String, digest: ContentDigest? = nil) throws -> any EffectDataSource {
        try TensorFileEffectDataset(path: path, digest: digest)
    }
}
