import ArgumentParser
import Foundation
import Gemma2
import JumpReLUSAE
import Numerics
import SteeringCore

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure inference throughput on a random-weight Gemma-2 of the real shape (no download).",
        discussion: """
            Builds a random model with the google/gemma-2-2b configuration (or --config FILE, or loads --model DIR) \
            and reports, as the median of --repeats runs after one warm-up: (a) prefill of 8 sequences × 64 tokens \
            (last-position logits), (b) generation of 32 sequences × 32 tokens (top-k 50, steered at --layer), \
            (c) batch-1 decode of 64 tokens, (d) the effect re-encode pass (N × 32 tokens up to --layer, then a \
            random 16k JumpReLU SAE and a streaming mean). Numbers drift on shared machines: compare ratios taken \
            in one run.
            """)

    @Option(help: "config.json of the shape to build (default: google/gemma-2-2b).")
    var config: String?

    @Option(help: "Load this checkpoint instead of building random weights.")
    var model: String?

    @Option(help: "Timed runs per figure (median reported).")
    var repeats = 3

    @Option(help: "Steering layer and SAE site.")
    var layer = 12

    @Option(help: "Sequences in the re-encode pass (the method: 896).")
    var reencodeSequences = 64

    @Option(help: "SAE width for the re-encode pass.")
    var saeWidth = 16384

    @Option(help: "Which figures: any of a,b,c,d.")
    var only = "a,b,c,d"

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let start = ProgressReporter.now()
        let backend: any ModelBackend
        if let model {
            backend = try ModelOptions.parse(["--model", model]).load()
        } else {
            let configuration = try config.map { try Gemma2Configuration.load(path: $0) } ?? .gemma2_2b
            printError(
                "building random weights for \(configuration.layerCount) layers × d_model \(configuration.hiddenSize)…")
            backend = Gemma2Backend.random(configuration: configuration, seed: 1)
        }
        let d = backend.descriptor
        let loadSeconds = ProgressReporter.now() - start
        var generator = SplitMix64(seed: 7)
        func token() -> Int32 { Int32(3 + generator.next() % UInt64(d.vocabularySize - 3)) }
        func sequences(_ count: Int, _ length: Int) -> [[Int32]] {
            (0..<count).map { _ in [d.bosToken] + (1..<length).map { _ in token() } }
        }
        let site = ActivationSite(layer: layer)
        let steering = Intervention(
            site: site, vector: Vector.normalized((0..<d.hiddenSize).map { _ in Float(generator.nextUnit() - 0.5) }),
            scale: 8)
        var results = [String: Double]()
        func measure(_ name: String, tokens: Int, _ body: () throws -> Void) rethrows {
            try body()  // warm-up
            var times = [Double]()
            for _ in 0..<repeats {
                let t0 = ProgressReporter.now()
                try body()
                times.append(ProgressReporter.now() - t0)
            }
            let median = times.sorted()[times.count / 2]
            results[name + "_seconds"] = median
            results[name + "_tokens_per_second"] = Double(tokens) / median
            if !json {
                print(
                    String(
                        format: "%-36@ %8.2f tok/s  (%.2f s for %d tokens)", name as NSString, Double(tokens) / median,
                        median, tokens))
            }
        }
        let figures = Set(only.split(separator: ",").map(String.init))
        if figures.contains("a") {
            let batch = sequences(8, 64)
            try measure("a_prefill_8x64_last_logits", tokens: 8 * 64) {
                _ = try backend.forward(ForwardRequest(sequences: batch, logits: .last))
            }
        }
        if figures.contains("b") {
            let prompts = sequences(32, 3)
            let sampling = SamplingConfig(temperature: 1, topK: 50, maxNewTokens: 32, stopAtEOS: false, seed: 3)
            try measure("b_generate_32x32_steered", tokens: 32 * 32) {
                _ = try backend.generate(prompts: prompts, sampling: sampling, interventions: [steering])
            }
        }
        if figures.contains("c") {
            let prompt = sequences(1, 3)
            try measure("c_decode_batch1_64", tokens: 64) {
                _ = try backend.generate(
                    prompts: prompt, sampling: .greedy(maxNewTokens: 64, stopAtEOS: false), interventions: [])
            }
        }
        if figures.contains("d") {
            let sae = try randomSAE(width: saeWidth, dModel: d.hiddenSize, site: site)
            let batch = sequences(reencodeSequences, 32)
            try measure("d_reencode_\(reencodeSequences)x32_to_L\(layer)_sae", tokens: reencodeSequences * 32) {
                var mean = StreamingFeatureMean(featureCount: saeWidth)
                for chunk in stride(from: 0, to: batch.count, by: 64) {
                    let part = Array(batch[chunk..<min(chunk + 64, batch.count)])
                    for activations in try backend.activations(at: site, sequences: part) {
                        try mean.add(activations, through: sae)
                    }
                }
            }
        }
        results["load_seconds"] = loadSeconds
        results["blas_threads"] = Double(blasThreads)
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "model ready in %.1f s; OpenBLAS threads: %d", loadSeconds, blasThreads))
        }
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
