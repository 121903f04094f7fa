import ArgumentParser
import Foundation
import Gemma2
import Gemma3
import JumpReLUSAE
import Pipeline
import SteeringCore
import SteeringNumerics
import SteeringPlugins
import TensorFormats
import TransformerRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// `steer-bench`: the inference and probe-cost benchmarks, an executable of its own so that the `steer` CLI
/// reaches plugins only through the registry (the benchmark builds random models of concrete backends).
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer-bench",
        abstract:
            "Measure inference throughput on a random-weight model of a real shape (no download), or a checkpoint.",
        discussion: """
            Builds a random model with the google/gemma-2-2b configuration (--backend gemma3: google/gemma-3-270m; or \
            --config FILE), or loads --model (a checkpoint directory or a .gguf file), \
            and reports, as the median of --repeats runs after one warm-up: (a) prefill of 8 sequences × 64 tokens \
            with last-position and with all-position logits, (b) generation of 32 sequences × 32 tokens (top-k 50, \
            steered at --layer), (c) batch-1 decode of 64 tokens, (d) the effect re-encode pass (N × 32 tokens up to \
            --layer, then a random JumpReLU SAE and a streaming mean), (e) this machine's sgemm rate on the model's \
            shapes and its memory read bandwidth. Each figure gives tokens/s, effective GFLOP/s and its share of the \
            sgemm rate (decode: GB/s of weights read); the run ends with peak RSS against the resident weight bytes \
            and, with --model, the time to first token. Figures drift on shared machines: compare ratios taken in \
            one run (Docs/Benchmarks.md). --probe instead times the method's effect protocol for --probes \
            vectors (calibration grid, steered rollouts, site readout, SAE mean), with --execution reencode \
            (the method's passes as written) and capture (site read while generating, calibration from cached \
            site residuals) side by side.
            """)

    @Option(
        help: "config.json of the shape to build (default: google/gemma-2-2b, or gemma-3-270m with --backend gemma3).")
    var config: String?

    @Option(help: "Load this checkpoint (directory or .gguf) instead of building random weights.")
    var model: String?

    @Option(help: "Backend of the random model (gemma2 or gemma3), or of --model (default: from the checkpoint).")
    var backend: String?

    @Option(
        help: "Resident weight precision: f32, f16 or bf16 (default: f32 for random weights, the file's for --model).")
    var weights: String?

    @Option(help: "Timed runs per figure (median reported).")
    var repeats = 3

    @Option(help: "Steering layer and SAE site.")
    var layer = 12

    @Option(help: "Sequences in the re-encode pass (the method's default protocol: 896 per probe).")
    var reencodeSequences = 128

    @Option(help: "SAE width for the re-encode pass.")
    var saeWidth = 16384

    @Option(help: "Which figures: any of a,b,c,d,e.")
    var only = "a,b,c,d,e"

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(
        help: ArgumentHelp(
            "Time the method's effect protocol for --probes probe vectors instead of figures a–e.",
            discussion:
                "Seconds per probe split into generation, the re-encode pass, SAE encoding and calibration (each with tokens/s and GFLOP/s), the baseline apart; each --execution runs in turn on the same model."
        ))
    var probe = false

    @Option(help: "Probe vectors to measure (--probe).")
    var probes = 2

    @Option(help: "Rollouts per prompt (--probe; the method's 64, for 14 prompts).")
    var rollouts = 64

    @Option(help: "Total tokens per rollout and per calibration sequence (--probe).")
    var length = 32

    @Option(help: "Calibration grid points 0, 20, … (--probe; every probe walks all of them).")
    var gridPoints = 11

    @Option(help: "Calibration batches × sequences per batch (--probe), e.g. 2x64.")
    var calibration = "2x64"

    @Option(help: "Baseline rollouts = this × --rollouts per prompt (--probe; the method's 10).")
    var baselineMultiplier = 10

    @Option(help: "capture, reencode or both (--probe; both runs reencode first).")
    var execution = "both"

    @Option(help: "With capture, probes share one generation until their rollouts reach this many rows (--probe).")
    var probeBatchRows = 1024

    @Option(help: "A JumpReLU SAE (directory or file) instead of a random one of --sae-width (--probe).")
    var sae: String?

    /// Checks `STEER_KERNEL_LEVEL` before the benchmark starts, as `steer` does.
    static func main() async {
        do {
            _ = try Kernels.environmentLevel()
        } catch {
            exit(withError: error)
        }
        await main(nil)
    }

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        if let weights, WeightElement(rawValue: weights) == nil {
            throw ValidationError("--weights must be f32, f16 or bf16, got '\(weights)'")
        }
        guard ["both", "capture", "reencode"].contains(execution) else {
            throw ValidationError("--execution must be capture, reencode or both, got '\(execution)'")
        }
        guard probes >= 1, rollouts >= 1, length >= 2, gridPoints >= 2, baselineMultiplier >= 1 else {
            throw ValidationError(
                "--probes, --rollouts and --baseline-multiplier must be ≥ 1, --length and --grid-points ≥ 2")
        }
        guard calibrationShape != nil else {
            throw ValidationError("--calibration must be BATCHESxSIZE with both ≥ 1, e.g. 2x64; got '\(calibration)'")
        }
        let unknown = only.split(separator: ",").map(String.init).filter { !["a", "b", "c", "d", "e"].contains($0) }
        guard unknown.isEmpty else { throw ValidationError("--only takes letters a to e, got \(unknown)") }
    }

    func run() async throws {
        let element = weights.flatMap(WeightElement.init(rawValue:))
        let backendName =
            try backend ?? model.map {
                try PluginRegistry.standard.backendName(forArchitecture: try ModelArchitecture.detect(path: $0))
            } ?? "gemma2"
        let architecture = try Self.architecture(backend: backendName, model: model, config: config)
        guard (0..<architecture.layerCount).contains(layer) else {
            throw ValidationError("--layer must be in 0..<\(architecture.layerCount), got \(layer)")
        }
        let shape = FlopModel(architecture: architecture)
        let cpu = CPUDescription.current
        let figures = probe ? [] : Set(only.split(separator: ",").map(String.init))
        var results: [String: Any] = [:]
        // (e) first, before the model is in memory (its buffers must not count in the peak RSS):
        // the reference rates the other figures are compared with.
        var sgemmRate: [Int: Double] = [:]
        var bandwidth: Double?
        if figures.contains("e") {
            for rows in [512, 32] {
                let rate = shape.measureProducts(rows: rows, repeats: repeats, kernel: false)
                sgemmRate[rows] = rate
                results["e_sgemm_gflops_m\(rows)"] = rate
                report("e_sgemm_model_shapes_m\(rows)", String(format: "%8.1f GFLOP/s", rate))
                let ours = shape.measureProducts(rows: rows, repeats: repeats, kernel: true)
                results["e_kernel_gflops_m\(rows)"] = ours
                report(
                    "e_our_product_model_shapes_m\(rows)",
                    String(
                        format: "%8.1f GFLOP/s (%.2f × sgemm; %@ kernel)", ours, ours / rate,
                        Kernels.productKernel(count: rows)))
            }
            let large = FlopModel.measureSGEMM(m: 256, n: 9216, k: 2304, repeats: repeats)
            results["e_sgemm_gflops_256x2304x9216"] = large
            report("e_sgemm_256x2304x9216", String(format: "%8.1f GFLOP/s", large))
            let read = FlopModel.measureReadBandwidth(repeats: repeats)
            bandwidth = read
            results["e_memory_read_gbps"] = read
            report("e_memory_read", String(format: "%8.1f GB/s", read))
            let pooled = FlopModel.measureRegion(pool: true)
            let dispatched = FlopModel.measureRegion(pool: false)
            results["e_region_8x20us_pool_us"] = pooled
            results["e_region_8x20us_gcd_us"] = dispatched
            report(
                "e_parallel_region_8x20us",
                String(
                    format: "%8.1f µs with the worker pool, %.1f µs through GCD (ideal %.0f on %d cores)", pooled,
                    dispatched, 20.0 * Double((8 + Parallel.width - 1) / Parallel.width), Parallel.width))
        }

        let start = ProgressReporter.now()
        let backend: any TransformerBackend
        var ttft: Double?
        if let model {
            let loaded = try PluginRegistry.standard.backend(
                forModelAt: PluginOptions(path: model, values: element.map { ["weights": $0.rawValue] } ?? [:]),
                name: backendName)
            guard let transformer = loaded as? any TransformerBackend else {
                throw ValidationError(
                    "backend \(backendName) does not run on the transformer runtime; bench needs one that does")
            }
            backend = transformer
            // Time to first token: load (mmap) plus one greedy token after an 8-token prompt.
            _ = try backend.generate(
                prompts: [[backend.descriptor.bosToken] + (1..<8).map { Int32($0 + 100) }],
                sampling: .greedy(maxNewTokens: 1, stopAtEOS: false), interventions: [])
            ttft = ProgressReporter.now() - start
        } else {
            printError(
                "building random \((element ?? .f32).rawValue) \(backendName) weights for \(architecture.layerCount) layers × d_model \(architecture.hiddenSize)…"
            )
            backend = try Self.randomModel(backend: backendName, config: config, element: element ?? .f32)
        }
        let loadSeconds = ProgressReporter.now() - start
        let d = backend.descriptor
        var generator = SplitMix64(seed: 7)
        func token() -> Int32 { Int32(3 + generator.next() % UInt64(d.vocabularySize - 3)) }
        func sequences(_ count: Int, _ length: Int) -> [[Int32]] {
            (0..<count).map { _ in [d.bosToken] + (1..<length).map { _ in token() } }
        }
        let site = ActivationSite(layer: layer)
        let steering = Intervention(
            site: site, vector: Vector.normalized((0..<d.hiddenSize).map { _ in Float(generator.nextUnit() - 0.5) }),
            scale: 8)
        results.merge(
            [
                "model": model ?? "random", "layers": d.layerCount, "d_model": d.hiddenSize,
                "weights": backend.residentWeightElement.rawValue,
                "resident_weight_bytes": backend.residentWeightBytes,
                "zero_copy_matrices": backend.zeroCopyWeightCount, "load_seconds": loadSeconds,
                "quantized_matrices": Kernels.usesQuantizedRows ? backend.quantizedWeightCount : 0,
                "decode_weight_bytes": backend.decodeWeightBytes,
                "cores": Parallel.width, "blas_threads": blasThreads, "avx2": Kernels.vectorized,
                "avx512_products": Kernels.productKernel(count: 32) == "packed AVX-512", "repeats": repeats,
                "kernel_level": Kernels.levelNames[Kernels.level],
                "kernel_level_forced": ProcessInfo.processInfo.environment["STEER_KERNEL_LEVEL"] ?? "",
                "products_32_rows": Kernels.productKernel(count: 32),
                "products_512_rows": Kernels.productKernel(count: 512), "cpu_model": cpu.model,
                "cpu_avx512f": cpu.avx512f, "cpu_avx2": cpu.avx2, "openblas_core": blasCoreName,
            ], uniquingKeysWith: { $1 })
        if let ttft { results["ttft_seconds"] = ttft }
        let hugePages = backend.weightHugePageFraction
        if let hugePages { results["weights_on_huge_pages_fraction"] = hugePages }
        if !json {
            print(
                "\(cpu.model) (avx2: \(cpu.avx2 ? "yes" : "no"), avx512f: \(cpu.avx512f ? "yes" : "no")); kernels at level \(Kernels.levelNames[Kernels.level])\(ProcessInfo.processInfo.environment["STEER_KERNEL_LEVEL"].map { " (STEER_KERNEL_LEVEL=\($0))" } ?? ""); products of 32 rows: \(Kernels.productKernel(count: 32)), of 512: \(Kernels.productKernel(count: 512))"
            )
            print(
                String(
                    format:
                        "%@ weights, %.2f GB resident (%d matrices in place%@%@), ready in %.1f s%@; %d cores",
                    backend.residentWeightElement.rawValue, Double(backend.residentWeightBytes) / 1e9,
                    backend.zeroCopyWeightCount,
                    Kernels.usesQuantizedRows && backend.quantizedWeightCount > 0
                        ? String(
                            format: "; %d decode from the file's quantised blocks, %.2f GB per token",
                            backend.quantizedWeightCount, Double(backend.decodeWeightBytes) / 1e9) : "",
                    hugePages.map { String(format: "; %.0f %% on 2 MiB pages", $0 * 100) } ?? "", loadSeconds,
                    ttft.map { String(format: ", first token after %.2f s", $0) } ?? "",
                    Parallel.width))
            if let hugePages, hugePages < 0.5, backend.zeroCopyWeightCount > 0 {
                fflush(nil)  // the line above first
                printError(
                    "note: the checkpoint's page cache is mostly on 4 KiB pages (a copy written in small pieces, or memory pressure when it was read), which batch-1 decoding streams more slowly than 2 MiB pages. Drop the file from the cache (dd if=FILE iflag=nocache count=0) so the next load reads it onto 2 MiB pages, or copy the weights into huge-page memory with --weights \(backend.residentWeightElement.rawValue)."
                )
            }
            if let core = suggestedBLASCoreType(
                core: blasCoreName, cpuHasAVX2: cpu.avx2, cpuHasAVX512: cpu.avx512f)
            {
                fflush(nil)
                printError(
                    "note: OpenBLAS runs its \(blasCoreName) kernels on this CPU (it does not know the model), so what goes through it (SAE encoding, ridge and Adam fits, products when STEER_GEMM=blas) is several times slower than it could be; start with OPENBLAS_CORETYPE=\(core) in the environment."
                )
            }
        }

        if probe {
            let (batches, size) = calibrationShape!
            let dictionary: any FeatureDictionary =
                try sae.map { try JumpReLUSAE(path: $0, site: site) }
                ?? randomSAE(width: saeWidth, dModel: d.hiddenSize, site: site)
            let bench = ProbeBench(
                backend: backend, dictionary: dictionary, layer: layer, probes: probes, rollouts: rollouts,
                length: length, gridPoints: gridPoints, calibrationBatches: batches, calibrationBatchSize: size,
                baselineMultiplier: baselineMultiplier,
                executions: execution == "both" ? [.reencode, .capture] : [MeasurementExecution(rawValue: execution)!],
                batchRows: probeBatchRows)
            results.merge(try bench.run(report: report), uniquingKeysWith: { $1 })
            results["peak_rss_bytes"] = peakResidentBytes()
            if json {
                let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }

        func measure(_ name: String, tokens: Int, flops: Double, rateRows: Int?, _ body: () throws -> Void) rethrows {
            try body()  // warm-up
            var times = [Double]()
            for _ in 0..<repeats {
                let t0 = ProgressReporter.now()
                try body()
                times.append(ProgressReporter.now() - t0)
            }
            let median = times.sorted()[times.count / 2]
            let gflops = flops / median / 1e9
            results[name + "_seconds"] = median
            results[name + "_tokens_per_second"] = Double(tokens) / median
            results[name + "_gflops"] = gflops
            var line = String(format: "%8.2f tok/s  %7.1f GFLOP/s", Double(tokens) / median, gflops)
            if let rows = rateRows, let rate = sgemmRate[rows] {
                results[name + "_percent_of_sgemm"] = 100 * gflops / rate
                line += String(format: " (%3.0f%% of sgemm)", 100 * gflops / rate)
            } else if rateRows == nil {
                let gbps = Double(backend.decodeWeightBytes) * Double(tokens) / median / 1e9
                results[name + "_weight_gbps"] = gbps
                line += String(format: "  %5.1f GB/s of weights", gbps)
                if let bandwidth { line += String(format: " (%3.0f%% of read bandwidth)", 100 * gbps / bandwidth) }
            }
            line += String(format: "  [%.2f s for %d tokens]", median, tokens)
            report(name, line)
        }
        /// (a): a forward pass over 8 × 64 tokens with last- or all-position logits.
        func measurePrefill(allLogits: Bool) throws {
            let batch = sequences(8, 64)
            try measure(
                "a_prefill_8x64_\(allLogits ? "all" : "last")_logits", tokens: 8 * 64,
                flops: shape.flops(
                    sequences: 8, positions: 64, layers: d.layerCount, logitRows: allLogits ? 8 * 64 : 8),
                rateRows: 512
            ) {
                _ = try backend.forward(ForwardRequest(sequences: batch, logits: allLogits ? .all : .last))
            }
        }
        if figures.contains("a") { try measurePrefill(allLogits: false) }
        if figures.contains("b") {
            let prompts = sequences(32, 3)
            let sampling = SamplingConfig(temperature: 1, topK: 50, maxNewTokens: 32, stopAtEOS: false, seed: 3)
            try measure(
                "b_generate_32x32_steered", tokens: 32 * 32,
                flops: shape.flops(sequences: 32, positions: 3 + 31, layers: d.layerCount, logitRows: 32 * 32),
                rateRows: 32
            ) {
                _ = try backend.generate(prompts: prompts, sampling: sampling, interventions: [steering])
            }
        }
        if figures.contains("c") {
            let prompt = sequences(1, 3)
            try measure(
                "c_decode_batch1_64", tokens: 64,
                flops: shape.flops(sequences: 1, positions: 3 + 63, layers: d.layerCount, logitRows: 64), rateRows: nil
            ) {
                _ = try backend.generate(
                    prompts: prompt, sampling: .greedy(maxNewTokens: 64, stopAtEOS: false), interventions: [])
            }
        }
        if figures.contains("d") {
            let sae = try randomSAE(width: saeWidth, dModel: d.hiddenSize, site: site)
            let batch = sequences(reencodeSequences, 32)
            let flops =
                shape.flops(sequences: reencodeSequences, positions: 32, layers: layer + 1, logitRows: 0)
                + Double(reencodeSequences * 32) * 2 * Double(d.hiddenSize * saeWidth)
            try measure(
                "d_reencode_\(reencodeSequences)x32_to_L\(layer)_sae\(saeWidth)", tokens: reencodeSequences * 32,
                flops: flops, rateRows: 512
            ) {
                var mean = StreamingFeatureMean(featureCount: saeWidth)
                for chunk in stride(from: 0, to: batch.count, by: 64) {
                    let part = Array(batch[chunk..<min(chunk + 64, batch.count)])
                    for activations in try backend.activations(at: site, sequences: part) {
                        try mean.add(activations, through: sae)
                    }
                }
            }
        }
        // Peak memory of inference proper, then of the figure whose output alone is 0.5 GB at this
        // shape (every position's logits: 512 × vocabulary floats).
        let peak = peakResidentBytes()
        results["peak_rss_bytes"] = peak
        results["peak_rss_over_weights"] = Double(peak) / Double(backend.residentWeightBytes)
        var peakWithLogits: Int?
        if figures.contains("a") {
            try measurePrefill(allLogits: true)
            peakWithLogits = peakResidentBytes()
            results["peak_rss_with_all_logits_bytes"] = peakWithLogits
            results["peak_rss_with_all_logits_over_weights"] =
                Double(peakWithLogits!) / Double(backend.residentWeightBytes)
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format: "peak RSS %.2f GB = %.3f × the resident weights", Double(peak) / 1e9,
                    Double(peak) / Double(backend.residentWeightBytes)))
            if let peakWithLogits {
                print(
                    String(
                        format: "peak RSS with all-position logits %.2f GB = %.3f × the resident weights",
                        Double(peakWithLogits) / 1e9, Double(peakWithLogits) / Double(backend.residentWeightBytes)))
            }
        }
    }

    /// `--calibration` as (batches, size).
    private var calibrationShape: (Int, Int)? {
        let parts = calibration.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { return nil }
        return (parts[0], parts[1])
    }

    private func report(_ name: String, _ line: String) {
        guard !json else { return }
        print(String(format: "%-40@ %@", name as NSString, line))
    }

    private func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024  // Linux reports kilobytes
    }

    private func randomSAE(width: Int, dModel: Int, site: ActivationSite) throws -> JumpReLUSAE {
        var generator = SplitMix64(seed: 11)
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in Float(generator.nextUnit() * 2 - 1) * scale }
        }
        let encoder = Matrix(rows: dModel, columns: width, values: values(dModel * width, 0.05))
        let decoder = Matrix(rows: width, columns: dModel, values: values(dModel * width, 0.05))
        return try JumpReLUSAE(
            parameters: JumpReLUParameters(
                encoder: encoder, decoder: decoder, encoderBias: values(width, 0.1), decoderBias: values(dModel, 0.1),
                threshold: values(width, 0.5).map { abs($0) }),
            name: "random-\(width)", site: site)
    }
}

/// Floating-point operation counts of a Gemma-2 shape, and this machine's reference rates.
extension Bench {
    /// The sizes of the model to measure, read before it is loaded (so (e) runs without it in memory).
    static func architecture(backend: String, model: String?, config: String?) throws -> DecoderArchitecture {
        switch backend {
        case "gemma2":
            return try
                (model.map { try Gemma2Configuration.load(path: $0 + "/config.json") }
                ?? config.map { try Gemma2Configuration.load(path: $0) } ?? .gemma2_2b).architecture
        case "gemma3":
            if let model {
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory)
                return try
                    (isDirectory.boolValue
                    ? Gemma3Configuration.load(path: model + "/config.json")
                    : Gemma3Configuration(gguf: GGUFFile(path: model))).architecture
            }
            return try (config.map { try Gemma3Configuration.load(path: $0) } ?? .gemma3_270m).architecture
        default:
            throw ValidationError("steer-bench knows the shapes of gemma2 and gemma3, not '\(backend)'")
        }
    }

    /// A random-weight model of the backend's default shape or of `config`.
    static func randomModel(backend: String, config: String?, element: WeightElement) throws -> any TransformerBackend {
        switch backend {
        case "gemma2":
            let configuration = try config.map { try Gemma2Configuration.load(path: $0) } ?? .gemma2_2b
            return Gemma2Backend.random(configuration: configuration, seed: 1, element: element)
        case "gemma3":
            let configuration = try config.map { try Gemma3Configuration.load(path: $0) } ?? .gemma3_270m
            return Gemma3Backend.random(configuration: configuration, seed: 1, element: element)
        default:
            throw ValidationError("steer-bench builds random gemma2 and gemma3 models, not '\(backend)'")
        }
    }
}

/// The CPU's model name and vector extensions, from /proc/cpuinfo (empty on other systems).
struct CPUDescription {
    let model: String
    let avx2: Bool
    let avx512f: Bool

    static var current: CPUDescription {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap {
                $0.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
            }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        return CPUDescription(
            model: field("model name") ?? "unknown CPU", avx2: flags.contains("avx2"),
            avx512f: flags.contains("avx512f"))
    }
}

struct FlopModel {
    let architecture: DecoderArchitecture

    /// `(rows, columns)` of every weight matrix of one decoder block.
    var layerMatrices: [(Int, Int)] { architecture.blockMatrices.map { ($0.rows, $0.columns) } }

    /// Multiply-adds × 2 of `sequences` sequences of `positions` tokens through the first `layers`
    /// blocks (projections and attention), plus the head for `logitRows` rows.
    func flops(sequences: Int, positions: Int, layers: Int, logitRows: Int) -> Double {
        let c = architecture
        let perToken = 2 * Double(layerMatrices.reduce(0) { $0 + $1.0 * $1.1 })
        var total = 0.0
        for layer in 0..<layers {
            let window = c.slidingLayers[layer] ? (c.slidingWindow ?? Int.max) : Int.max
            var attended = 0
            for p in 0..<positions { attended += min(p + 1, window) }
            total += Double(positions) * perToken + 4 * Double(attended * c.headCount * c.headDimension)
        }
        return Double(sequences) * total + 2 * Double(logitRows) * Double(c.vocabularySize * c.hiddenSize)
    }

    /// GFLOP/s over one block's projection shapes with `rows` input rows (their mix), through
    /// OpenBLAS sgemm or through our product kernel (`kernel`).
    func measureProducts(rows: Int, repeats: Int, kernel: Bool) -> Double {
        var flops = 0.0, seconds = 0.0
        for (n, k) in layerMatrices {
            let rate = Self.measureSGEMM(m: rows, n: n, k: k, repeats: repeats, kernel: kernel)
            let f = 2 * Double(rows * n * k)
            flops += f
            seconds += f / (rate * 1e9)
        }
        return flops / seconds / 1e9
    }

    /// GFLOP/s of `C[m×n] = A[m×k] · B[n×k]ᵀ` through OpenBLAS, or our product kernel (`kernel`;
    /// median of `repeats` after a warm-up).
    static func measureSGEMM(m: Int, n: Int, k: Int, repeats: Int, kernel: Bool = false) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { [a, b, c].forEach { $0.deallocate() } }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Kernels.scratchFloats(count: m, columns: k))
        defer { scratch.deallocate() }
        a.initialize(repeating: 0.5, count: m * k)
        b.initialize(repeating: 0.25, count: n * k)
        var times = [Double]()
        for i in 0...repeats {
            let t0 = ProgressReporter.now()
            if kernel {
                Kernels.multiply(
                    a, count: m, weights: UnsafeRawPointer(b), element: .f32, rows: n, columns: k, into: c,
                    scratch: scratch)
            } else {
                sgemm(.none, .transpose, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: c, ldc: n)
            }
            if i > 0 { times.append(ProgressReporter.now() - t0) }
        }
        return 2 * Double(m * n * k) / times.sorted()[times.count / 2] / 1e9
    }

    /// Mean µs of a parallel region of eight pieces that each busy-wait 20 µs, through the worker
    /// pool or GCD, with 50 µs of serial work before each region (as between a decode step's
    /// products): what starting the other cores costs.
    static func measureRegion(pool: Bool, regions: Int = 2000) -> Double {
        func busy(_ microseconds: Double) {
            let end = ProgressReporter.now() + microseconds * 1e-6
            while ProgressReporter.now() < end {}
        }
        var total = 0.0
        for i in 0...regions {
            busy(50)
            let t0 = ProgressReporter.now()
            Parallel.forEach(count: 8, grain: 1, pool: pool) { _ in busy(20) }
            if i > 0 { total += ProgressReporter.now() - t0 }
        }
        return total / Double(regions) * 1e6
    }

    /// GB/s of streaming a 2 GiB float32 matrix through the batch-1 row kernel on every core: the
    /// read bandwidth decoding can reach (median of `repeats` after a warm-up).
    static func measureReadBandwidth(repeats: Int) -> Double {
        let columns = 4096, rows = (1 << 29) / columns
        let matrix = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer {
            matrix.deallocate()
            out.deallocate()
        }
        matrix.initialize(repeating: 1, count: rows * columns)
        let ones = [Float](repeating: 1, count: columns)
        var scratch = [Float](repeating: 0, count: Kernels.scratchFloats(count: 1, columns: columns))
        var times = [Double]()
        for i in 0...repeats {
            let t0 = ProgressReporter.now()
            Kernels.multiply(
                ones, count: 1, weights: UnsafeRawPointer(matrix), element: .f32, rows: rows, columns: columns,
                into: out, scratch: &scratch)
            if i > 0 { times.append(ProgressReporter.now() - t0) }
        }
        return Double(rows * columns * 4) / times.sorted()[times.count / 2] / 1e9
    }
}

/// Writes `message` and a newline to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
