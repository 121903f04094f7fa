import Foundation
import GemmaTokenizer
import SteeringCore
import SteeringNumerics
import TensorFormats
import TransformerRuntime

/// The Gemma-2 ``ModelBackend``: loads Hugging Face checkpoints (google/gemma-2-2b, 9b, 27b, or any
/// config) and runs the exact transformers forward pass on the CPU, with residual-stream hooks.
public final class Gemma2Backend: TransformerBackend {
    public let descriptor: ModelDescriptor
    public let configuration: Gemma2Configuration
    /// The shared runtime driving Gemma-2's block arithmetic.
    let runtime: TransformerRuntime<Gemma2Blocks>
    let tokenizer: GemmaTokenizer?

    /// The block arithmetic and weights.
    var engine: Gemma2Blocks { runtime.model }

    /// Loads a Hugging Face checkpoint directory (see ``init(directory:residentWeights:)``) or a
    /// `.gguf` file (`gemma2.*` metadata, tensors dequantised to float32 unless `residentWeights` asks
    /// for f16/bf16, the tokenizer from `tokenizer.ggml.*`).
    public convenience init(path: String, residentWeights: WeightElement? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Gemma2Error.missingFile(
                path: path,
                hint: "Pass a Hugging Face checkpoint directory (config.json + *.safetensors) or a .gguf file.")
        }
        if isDirectory.boolValue {
            try self.init(directory: path, residentWeights: residentWeights)
            return
        }
        let file = try GGUFFile(path: path)
        let configuration = try Gemma2Configuration(gguf: file)
        let source = GGUFTensorSource(file: file, resident: residentWeights)
        let weights = try Gemma2Weights.load(from: source, config: configuration)
        let tokenizer = try GemmaTokenizer(ggufMetadata: file.metadata)
        var builder = DigestBuilder()
        builder.update(field: "gemma2-gguf")
        builder.update(field: try FileFingerprint.digest(ofFile: path).hex)
        if weights.changedPrecision, let residentWeights {
            builder.update(field: "resident-weights=\(residentWeights.rawValue)")
        }
        self.init(
            configuration: configuration, weights: weights, tokenizer: tokenizer,
            name: URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent, fingerprint: builder.finalize())
    }

    /// Loads `config.json`, the safetensors weights (single file or sharded) and the tokenizer
    /// (`tokenizer.json` or `tokenizer.model`) from `directory`. Weights stay in the checkpoint's
    /// precision, used in place from the file mapping, unless `residentWeights` is given (f32, f16
    /// or bf16): then they are converted or copied once into huge-page memory while loading, which
    /// takes seconds but makes batch-1 decoding faster.
    public convenience init(directory: String, residentWeights: WeightElement? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw Gemma2Error.missingFile(
                path: directory, hint: "Pass the directory of a Hugging Face checkpoint (config.json + *.safetensors).")
        }
        guard isDirectory.boolValue else {
            throw Gemma2Error.missingFile(
                path: directory, hint: "This is a file; pass the checkpoint directory that contains it.")
        }
        let configPath = directory + "/config.json"
        let configuration = try Gemma2Configuration.load(path: configPath)
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let source: SafetensorsTensorSource
        do {
            source = try SafetensorsTensorSource(checkpoint: checkpoint, resident: residentWeights)
        } catch let error as CheckpointLayoutError {
            throw Gemma2Error.weightProblems(directory: error.path, problems: error.problems)
        }
        let weights = try Gemma2Weights.load(from: source, config: configuration)
        let tokenizer = try GemmaTokenizer.load(directory: directory)
        var fingerprint = try Self.fingerprint(directory: directory, checkpoint: checkpoint)
        if weights.changedPrecision, let residentWeights {
            // Rounded weights give other activations: artifacts computed with them get other keys.
            var builder = DigestBuilder()
            builder.update(field: fingerprint.hex)
            builder.update(field: "resident-weights=\(residentWeights.rawValue)")
            fingerprint = builder.finalize()
        }
        let name = URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
        self.init(
            configuration: configuration, weights: weights, tokenizer: tokenizer, name: name, fingerprint: fingerprint)
    }

    init(
        configuration: Gemma2Configuration, weights: Gemma2Weights, tokenizer: GemmaTokenizer?, name: String,
        fingerprint: ContentDigest
    ) {
        self.configuration = configuration
        self.tokenizer = tokenizer
        let descriptor = ModelDescriptor(
            backend: "gemma2", name: name, layerCount: configuration.layerCount, hiddenSize: configuration.hiddenSize,
            vocabularySize: configuration.vocabularySize, bosToken: configuration.bosTokenId,
            eosToken: configuration.eosTokenIds.first ?? 1, padToken: configuration.padTokenId,
            maxPositions: configuration.maxPositions, fingerprint: fingerprint)
        self.descriptor = descriptor
        self.runtime = TransformerRuntime(
            model: Gemma2Blocks(config: configuration, weights: weights), descriptor: descriptor)
    }

    /// A model with random weights and the given configuration, resident as `element` (no
    /// tokenizer; for benchmarks and tests).
    public static func random(
        configuration: Gemma2Configuration, seed: UInt64 = 0, std: Float = 0.02, element: WeightElement = .f32
    ) -> Gemma2Backend {
        let weights = Gemma2Weights.random(config: configuration, seed: seed, std: std, element: element)
        var builder = DigestBuilder()
        builder.update(field: "random-gemma2")
        builder.update(field: "\(configuration)")
        builder.update(field: "\(seed)|\(std)|\(element.rawValue)")
        return Gemma2Backend(
            configuration: configuration, weights: weights, tokenizer: nil, name: "random-gemma2",
            fingerprint: builder.finalize())
    }

    /// The model's sizes.
    public var architecture: DecoderArchitecture { configuration.architecture }

    /// Every resident weight matrix, embedding first.
    public var weightMatrices: [WeightMatrix] { engine.weights.matrices }

    /// Digest of config.json, the index and every shard (cached by path, size and mtime).
    static func fingerprint(directory: String, checkpoint: SafetensorsCheckpoint) throws -> ContentDigest {
        var files = ["config.json"]
        if FileManager.default.fileExists(atPath: directory + "/model.safetensors.index.json") {
            files.append("model.safetensors.index.json")
        }
        let shards = Set(try checkpoint.tensorNames.map { try checkpoint.file(containing: $0).path })
        var builder = DigestBuilder()
        for name in files {
            builder.update(field: name)
            builder.update(field: try FileFingerprint.digest(ofFile: directory + "/" + name).hex)
        }
        for shard in shards.sorted() {
            builder.update(field: URL(fileURLWithPath: shard).lastPathComponent)
            builder.update(field: try FileFingerprint.digest(ofFile: shard).hex)
        }
        return builder.finalize()
    }

    // MARK: ModelBackend

    public func encode(_ text: String, addBOS: Bool) -> [Int32] {
        guard let tokenizer else { return addBOS ? [descriptor.bosToken] : [] }
        return tokenizer.encode(text, addBOS: addBOS)
    }

    public func decode(_ tokens: [Int32], skipSpecialTokens: Bool) -> String {
        guard let tokenizer else { return tokens.map(String.init).joined(separator: " ") }
        return tokenizer.decode(tokens, skipSpecialTokens: skipSpecialTokens)
    }

    public func forward(_ request: ForwardRequest) throws -> ForwardResult {
        try runtime.forward(request)
    }

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

extension Gemma2Backend: IncrementalDecoding {
    public func makeDecodingSession() -> any DecodingSession { runtime.makeDecodingSession() }
}
