import Foundation
import GemmaTokenizer
import Numerics
import SteeringCore
import TensorFormats

/// The Gemma-2 ``ModelBackend``: loads Hugging Face checkpoints (google/gemma-2-2b, 9b, 27b, or any
/// config) and runs the exact transformers forward pass on the CPU, with residual-stream hooks.
public final class Gemma2Backend: ModelBackend {
    public let descriptor: ModelDescriptor
    public let configuration: Gemma2Configuration
    let engine: Gemma2Engine
    let tokenizer: GemmaTokenizer?

    /// Largest number of tokens processed in one internal step: scratch activations stay near
    /// 256 MiB, and logits (when every position's are needed) near 512 MiB.
    func tokensPerStep(allLogits: Bool) -> Int {
        let c = configuration
        let floatsPerToken =
            3 * c.hiddenSize + 2 * c.headCount * c.headDimension + 2 * c.keyValueHeadCount * c.headDimension
            + 2 * c.intermediateSize
        var budget = max(16, min(4096, (256 << 20) / (4 * floatsPerToken)))
        if allLogits { budget = min(budget, max(16, (512 << 20) / (4 * c.vocabularySize))) }
        return budget
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
        let weights = try Gemma2Weights.load(checkpoint: checkpoint, config: configuration, resident: residentWeights)
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
        self.engine = Gemma2Engine(config: configuration, weights: weights)
        self.tokenizer = tokenizer
        self.descriptor = ModelDescriptor(
            backend: "gemma2", name: name, layerCount: configuration.layerCount, hiddenSize: configuration.hiddenSize,
            vocabularySize: configuration.vocabularySize, bosToken: configuration.bosTokenId,
            eosToken: configuration.eosTokenIds.first ?? 1, padToken: configuration.padTokenId,
            maxPositions: configuration.maxPositions, fingerprint: fingerprint)
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

    /// Number of weight matrices used in place from the file mapping (no copy).
    public var zeroCopyWeightCount: Int { engine.weights.borrowedCount }

    /// Bytes of the resident weight matrices.
    public var residentWeightBytes: Int { engine.weights.residentBytes }

    /// Fraction of the resident weight memory on 2 MiB pages (nil where the OS does not say). For
    /// weights in place this is the file mapping, whose pages depend on how the page cache was filled.
    public var weightHugePageFraction: Double? {
        HugePages.coverage(
            of: engine.weights.matrices.map {
                UnsafeRawBufferPointer(start: $0.storage.base, count: $0.storage.byteCount)
            })
    }

    /// Precision of the resident weight matrices (of the embedding; all matrices share it unless
    /// the checkpoint mixes dtypes).
    public var residentWeightElement: WeightElement { engine.weights.embedding.element }

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
        try validate(sequences: request.sequences, interventions: request.interventions)
        for site in request.captureSites where !(0..<configuration.layerCount).contains(site.layer) {
            throw SteeringError.indexOutOfRange(
                what: "capture layer", index: site.layer, validRange: 0..<configuration.layerCount)
        }
        let promptLengths = request.promptLengths ?? request.sequences.map(\.count)
        guard promptLengths.count == request.sequences.count else {
            throw SteeringError.shapeMismatch(
                what: "prompt lengths", expected: "\(request.sequences.count) values", got: "\(promptLengths.count)")
        }
        let captureLayers = Set(request.captureSites.map(\.layer))
        let lastLayer =
            request.logits == .none ? (captureLayers.max() ?? -1) : configuration.layerCount - 1
        var result = ForwardResult()
        for site in request.captureSites { result.activations[site] = [] }
        guard lastLayer >= 0 else { return result }
        let grouped = Dictionary(grouping: request.interventions, by: { $0.site.layer })
        let workspace = StepWorkspace()
        for batch in chunks(request.sequences.map(\.count), budget: tokensPerStep(allLogits: request.logits == .all)) {
            let cache = KVCache(
                layerCount: lastLayer + 1, width: kvWidth, capacities: batch.map { request.sequences[$0].count })
            let options = StepOptions(
                interventions: grouped, promptLengths: batch.map { promptLengths[$0] }, captureLayers: captureLayers,
                logits: request.logits, lastLayer: lastLayer)
            let entries = batch.enumerated().map {
                StepEntry(sequence: $0.offset, tokens: request.sequences[$0.element])
            }
            let output = engine.step(entries, cache: cache, options: options, workspace: workspace)
            for site in request.captureSites { result.activations[site]! += output.captures[site.layer] ?? [] }
            result.logits += output.logits
        }
        return result
    }

    public func nextTokenLoss(sequences: [[Int32]], interventions: [Intervention]) throws -> [Double] {
        try validate(sequences: sequences, interventions: interventions)
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        var losses = [Double](repeating: 0, count: sequences.count)
        let vocab = configuration.vocabularySize
        let workspace = StepWorkspace()
        for batch in chunks(sequences.map(\.count), budget: tokensPerStep(allLogits: true)) {
            let cache = KVCache(
                layerCount: configuration.layerCount, width: kvWidth, capacities: batch.map { sequences[$0].count })
            // Logits for every position, computed in slices of rows to bound memory.
            let options = StepOptions(
                interventions: grouped, promptLengths: batch.map { sequences[$0].count }, captureLayers: [],
                logits: .all, lastLayer: configuration.layerCount - 1)
            let entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: sequences[$0.element]) }
            let output = engine.step(entries, cache: cache, options: options, workspace: workspace)
            for (i, index) in batch.enumerated() {
                let tokens = sequences[index]
                guard tokens.count > 1 else { continue }
                var total = 0.0
                output.logits[i].values.withUnsafeBufferPointer { logits in
                    for t in 0..<(tokens.count - 1) {
                        let row = UnsafeBufferPointer(rebasing: logits[(t * vocab)..<((t + 1) * vocab)])
                        total += Self.crossEntropy(row, target: Int(tokens[t + 1]))
                    }
                }
                losses[index] = total / Double(tokens.count - 1)
            }
        }
        return losses
    }

    public func generate(prompts: [[Int32]], sampling: SamplingConfig, interventions: [Intervention]) throws
        -> [[Int32]]
    {
        try sampling.validate()
        try validate(sequences: prompts, interventions: interventions)
        if let prompt = prompts.first(where: { $0.count + sampling.maxNewTokens > configuration.maxPositions }) {
            throw Gemma2Error.sequenceTooLong(
                length: prompt.count + sampling.maxNewTokens, maxPositions: configuration.maxPositions)
        }
        let grouped = Dictionary(grouping: interventions, by: { $0.site.layer })
        let sampler = TokenSampler(config: sampling)
        var sequences = prompts
        guard sampling.maxNewTokens > 0 else { return sequences }
        // Rows are sampled with their own generator, so results do not depend on how rows are batched.
        let batches = chunks(prompts.map { $0.count + sampling.maxNewTokens }, budget: tokensPerStep(allLogits: false))
        let workspace = StepWorkspace()
        for batch in batches {
            let cache = KVCache(
                layerCount: configuration.layerCount, width: kvWidth,
                capacities: batch.map { prompts[$0].count + sampling.maxNewTokens })
            var generators = batch.map { SplitMix64(seed: sampling.seed, row: $0) }
            var active = Array(batch.indices)
            var options = StepOptions(
                interventions: grouped, promptLengths: batch.map { prompts[$0].count }, logits: .last,
                lastLayer: configuration.layerCount - 1)
            var entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: prompts[$0.element]) }
            for _ in 0..<sampling.maxNewTokens {
                let output = engine.step(entries, cache: cache, options: options, workspace: workspace)
                var next = [Int]()
                var nextEntries = [StepEntry]()
                // Rows sample independently (each with its own generator), so they run in parallel.
                var tokens = [Int32](repeating: 0, count: active.count)
                tokens.withUnsafeMutableBufferPointer { tokens in
                    generators.withUnsafeMutableBufferPointer { generators in
                        Parallel.forEach(count: active.count, grain: 1) { slots in
                            for slot in slots {
                                tokens[slot] = output.logits[slot].values.withUnsafeBufferPointer {
                                    sampler.sample($0, generator: &generators[active[slot]])
                                }
                            }
                        }
                    }
                }
                for (slot, local) in active.enumerated() {
                    let token = tokens[slot]
                    sequences[batch[local]].append(token)
                    let stopped = sampling.stopAtEOS && configuration.eosTokenIds.contains(token)
                    if !stopped {
                        next.append(local)
                        nextEntries.append(StepEntry(sequence: local, tokens: [token]))
                    }
                }
                active = next
                entries = nextEntries
                options.logits = .last
                if active.isEmpty { break }
            }
        }
        return sequences
    }

    // MARK: Helpers

    private var kvWidth: Int { configuration.keyValueHeadCount * configuration.headDimension }

    /// Splits sequence indices into consecutive groups whose total length stays within the step budget.
    private func chunks(_ lengths: [Int], budget: Int) -> [[Int]] {
        var out = [[Int]]()
        var current = [Int]()
        var tokens = 0
        for (i, length) in lengths.enumerated() {
            if !current.isEmpty && tokens + length > budget {
                out.append(current)
                current = []
                tokens = 0
            }
            current.append(i)
            tokens += length
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    private func validate(sequences: [[Int32]], interventions: [Intervention]) throws {
        for intervention in interventions { try validate(intervention) }
        let vocab = configuration.vocabularySize
        for (i, sequence) in sequences.enumerated() {
            guard !sequence.isEmpty else { throw Gemma2Error.emptySequence(index: i) }
            guard sequence.count <= configuration.maxPositions else {
                throw Gemma2Error.sequenceTooLong(length: sequence.count, maxPositions: configuration.maxPositions)
            }
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= vocab }) {
                throw Gemma2Error.tokenOutOfRange(token: bad, vocabularySize: vocab)
            }
        }
    }

    /// `logsumexp(row) − row[target]`, in double precision.
    static func crossEntropy(_ row: UnsafeBufferPointer<Float>, target: Int) -> Double {
        var maximum = -Float.infinity
        for v in row where v > maximum { maximum = v }
        var sum = 0.0
        for v in row { sum += Foundation.exp(Double(v - maximum)) }
        return Foundation.log(sum) + Double(maximum) - Double(row[target])
    }
}
