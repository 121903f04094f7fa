import Foundation
import GemmaTokenizer
import SteeringCore
import SteeringNumerics
import TensorFormats
import TransformerRuntime

/// The Gemma-3 ``ModelBackend`` (text model, `Gemma3ForCausalLM` semantics): loads a Hugging Face
/// checkpoint directory (text-only, or the language model of a multimodal one) or a GGUF file
/// (every tensor type the `gguf` package dequantises), and runs the exact transformers forward pass
/// on the CPU through the shared ``TransformerRuntime``.
public final class Gemma3Backend: TransformerBackend {
    public let descriptor: ModelDescriptor
    public let configuration: Gemma3Configuration
    let runtime: TransformerRuntime<Gemma3Blocks>
    let tokenizer: GemmaTokenizer?

    /// The block arithmetic and weights.
    var engine: Gemma3Blocks { runtime.model }

    /// Loads a checkpoint directory (config.json + safetensors + tokenizer) or a `.gguf` file (with its
    /// tokenizer from the metadata). Weights stay in the checkpoint's precision (safetensors, in place
    /// from the file mapping) or are dequantised to float32 (GGUF), unless `residentWeights` asks for
    /// another precision. GGUF matrices dequantised to float32 also keep the file's quantised blocks,
    /// which decoding (a few rows per product) reads instead, unless `quantizedRows` is false.
    public convenience init(path: String, residentWeights: WeightElement? = nil, quantizedRows: Bool = true) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Gemma3Error.missingFile(
                path: path,
                hint: "Pass a Hugging Face checkpoint directory (config.json + *.safetensors) or a .gguf file.")
        }
        let name = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        if isDirectory.boolValue {
            let configuration = try Gemma3Configuration.load(path: path + "/config.json")
            let checkpoint = try SafetensorsCheckpoint(directory: path)
            let source: SafetensorsTensorSource
            do {
                source = try SafetensorsTensorSource(checkpoint: checkpoint, resident: residentWeights)
            } catch let error as CheckpointLayoutError {
                throw Gemma3Error.weightProblems(path: error.path, problems: error.problems)
            }
            let weights = try Gemma3Weights.load(from: source, config: configuration)
            let tokenizer = try GemmaTokenizer.load(directory: path)
            var files = [path + "/config.json"]
            if FileManager.default.fileExists(atPath: path + "/model.safetensors.index.json") {
                files.append(path + "/model.safetensors.index.json")
            }
            files += checkpoint.files.map(\.path).sorted()
            let fingerprint = try Self.fingerprint(
                files: files, resident: weights.changedPrecision ? residentWeights : nil)
            self.init(
                configuration: configuration, weights: weights, tokenizer: tokenizer, name: name,
                fingerprint: fingerprint)
        } else {
            let file = try GGUFFile(path: path)
            let configuration = try Gemma3Configuration(gguf: file)
            let source = GGUFTensorSource(file: file, resident: residentWeights, quantizedRows: quantizedRows)
            let weights = try Gemma3Weights.load(from: source, config: configuration)
            let tokenizer = try GemmaTokenizer(ggufMetadata: file.metadata)
            let fingerprint = try Self.fingerprint(
                files: [path], resident: weights.changedPrecision ? residentWeights : nil)
            self.init(
                configuration: configuration, weights: weights, tokenizer: tokenizer, name: name,
                fingerprint: fingerprint)
        }
    }

    init(
        configuration: Gemma3Configuration, weights: Gemma3Weights, tokenizer: GemmaTokenizer?, name: String,
        fingerprint: ContentDigest
    ) {
        self.configuration = configuration
        self.tokenizer = tokenizer
        let descriptor = ModelDescriptor(
            backend: "gemma3", name: name, layerCount: configuration.layerCount, hiddenSize: configuration.hiddenSize,
            vocabularySize: configuration.vocabularySize, bosToken: configuration.bosTokenId,
            eosToken: configuration.eosTokenIds.first ?? 1, padToken: configuration.padTokenId,
            maxPositions: configuration.maxPositions, fingerprint: fingerprint)
        self.descriptor = descriptor
        runtime = TransformerRuntime(
            model: Gemma3Blocks(config: configuration, weights: weights), descriptor: descriptor)
    }

    /// A model with random weights and the given configuration (no tokenizer; benchmarks and tests).
    public static func random(
        configuration: Gemma3Configuration, seed: UInt64 = 0, std: Float = 0.02, element: WeightElement = .f32
    ) -> Gemma3Backend {
        let weights = Gemma3Weights.random(config: configuration, seed: seed, std: std, element: element)
        var builder = DigestBuilder()
        builder.update(field: "random-gemma3")
        builder.update(field: "\(configuration)")
        builder.update(field: "\(seed)|\(std)|\(element.rawValue)")
        return Gemma3Backend(
            configuration: configuration, weights: weights, tokenizer: nil, name: "random-gemma3",
            fingerprint: builder.finalize())
    }

    /// Digest of the files (cached by path, size and mtime), and of the resident precision when it
    /// rounds the weights (rounded weights give other activations: artifacts get other keys).
    static func fingerprint(files: [String], resident: WeightElement?) throws -> ContentDigest {
        var builder = DigestBuilder()
        builder.update(field: "gemma3")
        for file in files {
            builder.update(field: URL(fileURLWithPath: file).lastPathComponent)
            builder.update(field: try FileFingerprint.digest(ofFile: file).hex)
        }
        if let resident { builder.update(field: "resident-weights=\(resident.rawValue)") }
        return builder.finalize()
    }

    /// The model's sizes.
    public var architecture: DecoderArchitecture { configuration.architecture }

    /// Every resident weight matrix, embedding first.
    public var weightMatrices: [WeightMatrix] { engine.weights.matrices }

    // MARK: ModelBackend

    public func encode(_ text: String, addBOS: Bool) -> [Int32] {
        guard let tokenizer else { return addBOS ? [descriptor.bosToken] : [] }
        return tokenizer.encode(text, addBOS: addBOS)
    }

    public func decode(_ tokens: [Int32], skipSpecialTokens: Bool) -> String {
        guard let tokenizer else { return tokens.map(String.init).joined(separator: " ") }
        return tokenizer.decode(tokens, skipSpecialTokens: skipSpecialTokens)
    }

    public func forward(_ request: ForwardRequest) throws -> ForwardResult { try runtime.forward(request) }

    public func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double] {
        try runtime.nextTokenLoss(sequences: sequences, interventions: interventions)
    }

    public func tokenLogLikelihoods(sequences: [[Int32]], positions: [Range<Int>]) throws -> [[Double]] {
        try runtime.tokenLogLikelihoods(sequences: sequences, positions: positions)
    }

    public func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws
        -> [[Int32]]
    {
        try runtime.generate(prompts: prompts, sampling: sampling, interventions: interventions)
    }
}

extension Gemma3Backend: IncrementalDecoding {
    /// A continuous-batching session on the shared runtime (rows join and leave between steps).
    public func makeDecodingSession() -> any DecodingSession { runtime.makeDecodingSession() }
}
