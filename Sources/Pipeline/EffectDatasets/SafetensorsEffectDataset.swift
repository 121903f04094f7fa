import Foundation
import SteeringNumerics
public import SteeringCore
public import TensorFormats

/// An effect dataset in a safetensors file with tensors `features` `[N, d_model]` and `effects`
/// `[N, d_sae]` — the layout of the SAE-TS authors' `effects_2b.pt` (method.md §3). Rows are decoded on
/// demand from the memory map (F32, BF16, F16 or F64), so the file is never copied into memory whole.
public final class SafetensorsEffectDataset: EffectDataSource {
    /// The mapped file.
    public let file: SafetensorsFile
    /// Name of the input tensor.
    public let inputTensor: String
    /// Name of the effect tensor.
    public let effectTensor: String
    /// Number of rows.
    public let count: Int
    /// `d_model`.
    public let inputWidth: Int
    /// `d_sae`.
    public let outputWidth: Int
    /// The dataset digest (enters estimator recipes).
    public let digest: ContentDigest
    private let inputInfo: TensorInfo
    private let effectInfo: TensorInfo

    /// Maps `path` and checks the two tensors.
    ///
    /// - Parameters:
    ///   - digest: The dataset digest; `nil` uses the file's SHA-256 (cached by path, size and mtime).
    ///   - inputTensor: Name of the `[N, d_model]` tensor.
    ///   - effectTensor: Name of the `[N, d_sae]` tensor.
    /// - Throws: ``PipelineError/invalidInput(what:problem:)`` naming the file and tensor when a tensor is
    ///   missing, not 2-D, of a non-float dtype, or when the row counts differ; format errors of the file.
    public init(
        path: String, digest: ContentDigest? = nil, inputTensor: String = "features", effectTensor: String = "effects"
    ) throws {
        let file = try SafetensorsFile(path: path)
        self.file = file
        self.inputTensor = inputTensor
        self.effectTensor = effectTensor
        func describe(_ name: String) throws -> TensorInfo {
            guard file.contains(name) else {
                throw PipelineError.invalidInput(
                    what: "effect dataset \(path)",
                    problem: "it has no tensor '\(name)' (it holds \(file.tensorNames.joined(separator: ", "))); "
                        + "an effect dataset needs '\(inputTensor)' [N, d_model] and '\(effectTensor)' [N, d_sae]")
            }
            let info = try file.info(name)
            guard info.shape.count == 2, info.shape[1] > 0 else {
                throw PipelineError.invalidInput(
                    what: "tensor '\(name)' of \(path)",
                    problem: "expected a 2-D [N, width] tensor, got shape \(info.shape)")
            }
            guard [.f32, .bf16, .f16, .f64].contains(info.dtype) else {
                throw PipelineError.invalidInput(
                    what: "tensor '\(name)' of \(path)",
                    problem: "dtype \(info.dtype.rawValue) is not a float type; use F32, BF16, F16 or F64")
            }
            return info
        }
        inputInfo = try describe(inputTensor)
        effectInfo = try describe(effectTensor)
        guard inputInfo.shape[0] == effectInfo.shape[0] else {
            throw PipelineError.invalidInput(
                what: "effect dataset \(path)",
                problem: "'\(inputTensor)' has \(inputInfo.shape[0]) rows but '\(effectTensor)' has "
                    + "\(effectInfo.shape[0]); every steering vector needs exactly one effect")
        }
        count = inputInfo.shape[0]
        inputWidth = inputInfo.shape[1]
        outputWidth = effectInfo.shape[1]
        self.digest = try digest ?? FileFingerprint.digest(ofFile: path)
    }

    /// The element types of the input and effect tensors.
    public var dtypes: (inputs: TensorDType, effects: TensorDType) { (inputInfo.dtype, effectInfo.dtype) }

    /// Decodes `rows` (ascending, in range) from the map.
    public func read(rows: [Int]) throws -> (inputs: Matrix, effects: Matrix) {
        try EffectRowSelection.validate(rows, count: count, source: "effect dataset \(file.path)")
        let raw = file.mapping.bytes
        return (
            Self.decodeRows(raw, info: inputInfo, rows: rows), Self.decodeRows(raw, info: effectInfo, rows: rows)
        )
    }

    /// Decodes `rows` of a validated 2-D float tensor.
    static func decodeRows(_ raw: UnsafeRawBufferPointer, info: TensorInfo, rows: [Int]) -> Matrix {
        let width = info.shape[1]
        let size = info.dtype.byteSize
        var out = Matrix(rows: rows.count, columns: width)
        out.values.withUnsafeMutableBufferPointer { destination in
            for (index, row) in rows.enumerated() {
                let start = info.dataRange.lowerBound + row * width * size
                let source = UnsafeRawBufferPointer(rebasing: raw[start..<(start + width * size)])
                let target = destination.baseAddress! + index * width
                switch info.dtype {
                case .f32:
                    #if _endian(little)
                        UnsafeMutableRawPointer(target).copyMemory(from: source.baseAddress!, byteCount: width * 4)
                    #else
                        for c in 0..<width {
                            target[c] = Float(
                                bitPattern: UInt32(
                                    littleEndian: source.loadUnaligned(fromByteOffset: c * 4, as: UInt32.self)))
                        }
                    #endif
                case .bf16:
                    for c in 0..<width {
                        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: c * 2, as: UInt16.self))
                        target[c] = HalfPrecision.bfloat16ToFloat(bits)
                    }
                case .f16:
                    for c in 0..<width {
                        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: c * 2, as: UInt16.self))
                        target[c] = HalfPrecision.float16ToFloat(bits)
                    }
                default:
                    for c in 0..<width {
                        let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: c * 8, as: UInt64.self))
                        target[c] = Float(Double(bitPattern: bits))
                    }
                }
            }
        }
        return out
    }
}
