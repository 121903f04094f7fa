import Foundation
import SteeringCore
import SteeringNumerics
import TensorFormats

/// Named tensors of a decoder checkpoint, with names relative to the text model in Hugging Face's
/// spelling (`embed_tokens.weight`, `layers.3.self_attn.q_proj.weight`, `norm.weight`,
/// `lm_head.weight`), whatever the file calls them. Model plugins build their weights from one.
public protocol CheckpointTensorSource {
    /// The checkpoint's path, for messages.
    var path: String { get }
    /// Shape of a tensor (outermost first), or nil when absent.
    func shape(of name: String) -> [Int]?
    /// The name the file uses, for messages.
    func fileName(of name: String) -> String
    /// Names (relative) of every tensor of the text model in the file.
    var textTensorNames: [String] { get }
    /// Problems with element types, listed before anything is loaded.
    func typeProblems(names: [String]) -> [String]
    /// A weight matrix, resident in the precision asked for.
    func matrix(_ name: String) throws -> WeightMatrix
    /// `1 + w` of a Gemma-style norm weight `w`, in float32 as transformers computes it.
    func norm(_ name: String) throws -> [Float]
    /// Whether some matrix was rounded to another precision than its file's.
    var changedPrecision: Bool { get }
}

extension CheckpointTensorSource {
    /// Every missing, mis-shaped, unexpected or unreadable tensor, listed at once (empty when the
    /// checkpoint matches). `expected` uses relative names; an `lm_head.weight` is allowed beside
    /// them when it has `headShape` (a tied copy, or an untied head the model loads).
    public func problems(expected: [(name: String, shape: [Int])], headShape: [Int]) -> [String] {
        var problems = [String]()
        for (name, expectedShape) in expected {
            guard let found = shape(of: name) else {
                problems.append("missing tensor '\(fileName(of: name))' (expected shape \(expectedShape))")
                continue
            }
            if found != expectedShape {
                problems.append(
                    "tensor '\(fileName(of: name))' has shape \(found), the configuration implies \(expectedShape)")
            }
        }
        if let head = shape(of: "lm_head.weight"), head != headShape {
            problems.append("tensor '\(fileName(of: "lm_head.weight"))' has shape \(head), expected the embedding's")
        }
        let known = Set(expected.map(\.name) + ["lm_head.weight"])
        for name in textTensorNames where !known.contains(name) {
            problems.append("unexpected tensor '\(fileName(of: name))'")
        }
        return problems + typeProblems(names: expected.map(\.name))
    }
}

/// A checkpoint whose tensors cannot be found where a decoder's should be.
public struct CheckpointLayoutError: Error, Sendable, Equatable {
    /// The checkpoint's path.
    public let path: String
    /// What is wrong, one entry per problem.
    public let problems: [String]
}

extension CheckpointLayoutError: CustomStringConvertible {
    public var description: String { "\(path): " + problems.joined(separator: "; ") }
}

/// The tensors of a Hugging Face checkpoint directory (single or sharded safetensors). The text model
/// sits under `model.` (text-only checkpoints), `model.language_model.` (multimodal, transformers 5.x)
/// or `language_model.model.` (multimodal, 4.x); tensors outside it (a vision tower) are ignored.
public final class SafetensorsTensorSource: CheckpointTensorSource {
    /// The checkpoint's files.
    public let checkpoint: SafetensorsCheckpoint
    /// The precision matrices are made resident in; nil keeps the file's, in place.
    public let resident: WeightElement?
    /// Where the text model's tensors sit (one of ``prefixes``).
    public let prefix: String
    /// The file's name of the output head.
    public let headName: String
    public private(set) var changedPrecision = false

    /// Prefixes of the text model, probed in this order.
    public static let prefixes = ["model.", "model.language_model.", "language_model.model."]

    /// Finds the text model in `checkpoint`.
    /// - Throws: ``CheckpointLayoutError`` when no embedding sits under any of ``prefixes``.
    public init(checkpoint: SafetensorsCheckpoint, resident: WeightElement?) throws {
        self.checkpoint = checkpoint
        self.resident = resident
        let names = Set(checkpoint.tensorNames)
        guard let prefix = Self.prefixes.first(where: { names.contains($0 + "embed_tokens.weight") }) else {
            throw CheckpointLayoutError(
                path: checkpoint.directory,
                problems: [
                    "no embedding found under any of "
                        + Self.prefixes.map { "'\($0)embed_tokens.weight'" }.joined(separator: ", ")
                ])
        }
        self.prefix = prefix
        headName = prefix == "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight"
    }

    public var path: String { checkpoint.directory }

    public func fileName(of name: String) -> String { name == "lm_head.weight" ? headName : prefix + name }

    public func shape(of name: String) -> [Int]? {
        let file = fileName(of: name)
        guard checkpoint.tensorNames.contains(file) else { return nil }
        return try? checkpoint.info(file).shape
    }

    public var textTensorNames: [String] {
        checkpoint.tensorNames.compactMap { name in
            if name == headName { return "lm_head.weight" }
            return name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : nil
        }
    }

    public func typeProblems(names: [String]) -> [String] {
        names.compactMap { name in
            guard let info = try? checkpoint.info(fileName(of: name)), ![.f32, .bf16, .f16].contains(info.dtype)
            else { return nil }
            return
                "tensor '\(fileName(of: name))' has dtype \(info.dtype.rawValue); only F32, BF16 and F16 are supported"
        }
    }

    public func matrix(_ name: String) throws -> WeightMatrix {
        let fileName = fileName(of: name)
        let info = try checkpoint.info(fileName)
        let file = try checkpoint.file(containing: fileName)
        let stored: WeightElement = info.dtype == .f32 ? .f32 : info.dtype == .f16 ? .f16 : .bf16
        let target = resident ?? stored
        changedPrecision = changedPrecision || target != stored
        let bytes = try file.rawBytes(fileName)
        let rows = info.shape[0], columns = info.shape[1], count = info.elementCount
        if resident == nil, let base = bytes.baseAddress, Int(bitPattern: base) % stored.byteWidth == 0 {
            return WeightMatrix(
                rows: rows, columns: columns,
                storage: WeightStorage(borrowing: base, count: count, element: stored, owner: file))
        }
        defer { file.mapping.releasePages(of: bytes) }
        if let view = try file.float32Pointer(fileName), let base = view.baseAddress {
            let storage = WeightStorage(converting: base, count: count, to: target) { piece in
                file.mapping.releasePages(
                    of: UnsafeRawBufferPointer(start: base + piece.lowerBound, count: piece.count * 4))
            }
            return WeightMatrix(rows: rows, columns: columns, storage: storage)
        }
        return WeightMatrix(rows: rows, columns: columns, values: try file.floats(fileName), element: target)
    }

    public func norm(_ name: String) throws -> [Float] {
        let values = try checkpoint.floats(fileName(of: name))
        try Vector.checkFinite(values, "tensor '\(fileName(of: name))'")
        return values.map { 1 + $0 }
    }
}

/// The tensors of a GGUF model file (llama.cpp's names: `token_embd`, `blk.N.attn_q`, …), dequantised
/// exactly as the `gguf` Python package does. llama.cpp's converter stores Gemma norm weights as
/// `1 + w`; transformers subtracts 1 when loading, and so do we (in float32) before adding it back.
public final class GGUFTensorSource: CheckpointTensorSource {
    /// The model file.
    public let file: GGUFFile
    /// The precision dequantised matrices are stored in (f32 unless asked otherwise).
    public let resident: WeightElement
    /// Whether f32 matrices of quantised tensors keep the file's blocks for small-batch products.
    public let quantizedRows: Bool
    public private(set) var changedPrecision = false

    /// Reads tensors of `file`, dequantised to float32 and stored as `resident` (f32 when nil). With
    /// `quantizedRows` (and f32), matrices of the types ``QuantizedFormat`` lists also keep their
    /// blocks in the mapping, which decoding then reads.
    public init(file: GGUFFile, resident: WeightElement?, quantizedRows: Bool = true) {
        self.file = file
        self.resident = resident ?? .f32
        self.quantizedRows = quantizedRows
        // Dequantised float32 is what the reference computes with; rounding it changes the values.
        changedPrecision = self.resident != .f32
    }

    public var path: String { file.path }

    public func fileName(of name: String) -> String { Self.ggufName(of: name) }

    /// Relative HF name → llama.cpp's GGUF name.
    public static func ggufName(of name: String) -> String {
        let map: [String: String] = [
            "embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
            "lm_head.weight": "output.weight",
        ]
        if let mapped = map[name] { return mapped }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "layers" else { return name }
        let local: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
            "self_attn.o_proj.weight": "attn_output.weight", "self_attn.q_norm.weight": "attn_q_norm.weight",
            "self_attn.k_norm.weight": "attn_k_norm.weight",
            "post_attention_layernorm.weight": "post_attention_norm.weight",
            "pre_feedforward_layernorm.weight": "ffn_norm.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
            "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
        ]
        guard let suffix = local[String(parts[2])] else { return name }
        return "blk.\(parts[1]).\(suffix)"
    }

    /// GGUF name → relative HF name (inverse of ``fileName(of:)``), nil for names it does not know.
    private lazy var relativeNames: [String: String] = {
        var out = [String: String]()
        let layerCount =
            file.tensorNames.filter { $0.hasPrefix("blk.") }.compactMap {
                Int($0.split(separator: ".")[1])
            }.max().map { $0 + 1 } ?? 0
        let names =
            ["embed_tokens.weight", "norm.weight", "lm_head.weight"]
            + (0..<layerCount).flatMap { i in
                [
                    "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "self_attn.q_norm", "self_attn.k_norm", "post_attention_layernorm", "pre_feedforward_layernorm",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "post_feedforward_layernorm",
                ].map { "layers.\(i).\($0).weight" }
            }
        for name in names { out[fileName(of: name)] = name }
        return out
    }()

    public var textTensorNames: [String] { file.tensorNames.map { relativeNames[$0] ?? $0 } }

    public func shape(of name: String) -> [Int]? { try? file.info(fileName(of: name)).shape }

    public func typeProblems(names: [String]) -> [String] {
        names.compactMap { name in
            guard let info = try? file.info(fileName(of: name)), !info.type.isDequantizable else { return nil }
            return "tensor '\(fileName(of: name))' has type \(info.type), which this reader does not dequantise "
                + "(it reads \(GGUFTensorType.dequantizable.map { "\($0)" }.joined(separator: ", ")))"
        }
    }

    public func matrix(_ name: String) throws -> WeightMatrix {
        let fileName = fileName(of: name)
        let info = try file.info(fileName)
        let rows = info.shape[0], columns = info.shape[1]
        // Validate once up front (type, shape): the parallel fill below cannot throw.
        var probe = [Float](repeating: 0, count: columns)
        try probe.withUnsafeMutableBufferPointer { try file.dequantize(fileName, rows: 0..<min(1, rows), into: $0) }
        let rowsPerBlock = max(1, (1 << 16) / max(columns, 1))
        var failure: (any Error)?
        let lock = NSLock()
        let storage = WeightStorage(count: rows * columns, element: resident, block: rowsPerBlock * columns) {
            range, target in
            let firstRow = range.lowerBound / columns, rowCount = range.count / columns
            do {
                try file.dequantize(
                    fileName, rows: firstRow..<(firstRow + rowCount),
                    into: UnsafeMutableBufferPointer(start: target, count: range.count))
            } catch {
                lock.withLock { failure = error }
            }
        }
        if let failure { throw failure }
        return WeightMatrix(rows: rows, columns: columns, storage: storage, quantized: try quantizedRows(info))
    }

    /// The tensor's blocks in the mapping, for the quantised row kernels: when the resident matrix
    /// is the exact float32 dequantisation (`resident` f32) and the kernels read the type.
    private func quantizedRows(_ info: GGUFTensorInfo) throws -> QuantizedStorage? {
        guard quantizedRows, resident == .f32, info.shape.count == 2,
            let format = QuantizedFormat(rawValue: info.type.rawValue)
        else { return nil }
        let bytes = try file.data(info.name)
        guard let base = bytes.baseAddress, bytes.count == info.shape[0] * format.rowBytes(columns: info.shape[1])
        else { return nil }
        return QuantizedStorage(format: format, base: base, byteCount: bytes.count, owner: file)
    }

    public func norm(_ name: String) throws -> [Float] {
        let values = try file.floats(fileName(of: name))
        try Vector.checkFinite(values, "tensor '\(fileName(of: name))'")
        return values.map { 1 + ($0 - 1) }
    }
}
