import Foundation
public import SteeringCore
import TensorFormats

/// An effect model as tensors `W` `[d_model, d_sae]` and `b` `[d_sae]` — the state dict of the authors'
/// `LinearAdapter`. Reads safetensors and, through `NamedTensorFile`, the authors' own `torch.save` file
/// (`adapter_2b_layer_12.pt`) and `.npz`. F32, BF16, F16 or F64.
public struct SafetensorsEstimatorFormat: EstimatorFileFormat {
    /// Name of the weight tensor.
    public var weightTensor: String
    /// Name of the bias tensor.
    public var biasTensor: String

    /// A reader for tensors `weightTensor` and `biasTensor`.
    public init(weightTensor: String = "W", biasTensor: String = "b") {
        self.weightTensor = weightTensor
        self.biasTensor = biasTensor
    }

    /// `safetensors`.
    public var name: String { "safetensors" }

    /// Files ending in `.safetensors`, `.pt`, `.pth`, `.bin` or `.npz` (read through `NamedTensorFile`).
    public func handles(path: String) -> Bool {
        let lower = path.lowercased()
        return [".safetensors", ".pt", ".pth", ".bin", ".npz"].contains { lower.hasSuffix($0) }
    }

    /// Reads `W` and `b`; throws naming the file and tensor when one is missing, mis-shaped or non-finite.
    public func read(path: String) throws -> LinearEffectModel {
        let file = try NamedTensorFile.open(path: path)
        for tensor in [weightTensor, biasTensor] where !file.contains(tensor) {
            throw PipelineError.invalidInput(
                what: "estimator file \(path)",
                problem: "it has no tensor '\(tensor)' (it holds \(file.tensorNames.joined(separator: ", "))); "
                    + "an estimator file needs '\(weightTensor)' [d_model, d_sae] and '\(biasTensor)' [d_sae]")
        }
        let weightShape = try file.shape(of: weightTensor), biasShape = try file.shape(of: biasTensor)
        guard weightShape.count == 2, weightShape[0] > 0, weightShape[1] > 0 else {
            throw PipelineError.invalidInput(
                what: "tensor '\(weightTensor)' of \(path)",
                problem: "expected [d_model, d_sae], got \(weightShape)")
        }
        guard biasShape == [weightShape[1]] else {
            throw PipelineError.invalidInput(
                what: "tensor '\(biasTensor)' of \(path)",
                problem: "expected shape [\(weightShape[1])] to match '\(weightTensor)' \(weightShape), "
                    + "got \(biasShape)")
        }
        let weight = try file.floats(weightTensor)
        let bias = try file.floats(biasTensor)
        try Vector.checkFinite(weight, "tensor '\(weightTensor)' of \(path)")
        try Vector.checkFinite(bias, "tensor '\(biasTensor)' of \(path)")
        return LinearEffectModel(
            weight: Matrix(rows: weightShape[0], columns: weightShape[1], values: weight), bias: bias)
    }

    /// Writes `model` as tensors `W` and `b` (F32), with `metadata` in the header.
    public static func write(_ model: LinearEffectModel, to path: String, metadata: [String: String] = [:]) throws {
        var writer = SafetensorsWriter(metadata: metadata)
        try writer.add("W", floats: model.weight.values, shape: model.weight.shape)
        try writer.add("b", floats: model.bias, shape: [model.outputWidth])
        try writer.write(to: path)
    }
}
