import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@testable import Gemma2
@testable import TransformerRuntime

@Suite("Gemma-2 generation: KV cache, batching, steering policies, sampling")
struct Gemma2GenerationTests {
    /// Greedy decoding by re-running the whole sequence every step (no KV cache reused).
    func greedyWithoutCache(
        _ model: Gemma2Backend, prompt: [Int32], steps: Int, interventions: [Intervention]
    ) throws -> [Int32] {
        var sequence = prompt
        for _ in 0..<steps {
            let result = try model.forward(
                ForwardRequest(
                    sequences: [sequence], interventions: interventions, promptLengths: [prompt.count], logits: .all))
            let logits = result.logits[0]
            let last = Array(logits.values[((logits.rows - 1) * logits.columns)...])
            let next = last.withUnsafeBufferPointer { TokenSampler.argmax($0) }
            sequence.append(Int32(next))
        }
        return sequence
    }

    static let policies: [PositionPolicy] = PositionPolicy.Scope.allCases.flatMap { scope in
        [true, false].map { PositionPolicy(scope: scope, includeBOS: $0) }
    }

    @Test("steered generation with the KV cache equals recomputing the whole sequence", arguments: policies)
    func cacheMatchesRecompute(policy: PositionPolicy) throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        var rng = SeededGenerator(seed: 5)
        let vector = Vector.normalized((0..<model.configuration.hiddenSize).map { _ in rng.normal() })
        let steering = Intervention(site: ActivationSite(layer: 1), vector: vector, scale: 6, positions: policy)
        let prompt: [Int32] = [2, 300, 41, 77, 120]
        let cached = try model.generate(
            prompts: [prompt], sampling: .greedy(maxNewTokens: 10, stopAtEOS: false), interventions: [steering])[0]
        let recomputed = try greedyWithoutCache(model, prompt: prompt, steps: 10, interventions: [steering])
        #expect(cached == recomputed, "policy \(policy)")
    }

    @Test("several interventions at several layers compose")
    func composedInterventions() throws {
        let model = try Gemma2Fixtures.model("mqa-odd-bf16")
        let d = model.configuration.hiddenSize
        var rng = SeededGenerator(seed: 9)
        let a = Intervention(site: ActivationSite(layer: 0), vector: (0..<d).map { _ in rng.normal() }, scale: 0.5)
        let b = Intervention(
            site: ActivationSite(layer: 3), vector: (0..<d).map { _ in rng.normal() }, scale: -0.7,
            positions: PositionPolicy(scope: .all, includeBOS: false))
        let prompt: [Int32] = [2, 10, 200, 300]
        let cached = try model.generate(
            prompts: [prompt], sampling: .greedy(maxNewTokens: 8, stopAtEOS: false), interventions: [a, b])[0]
        #expect(cached == (try greedyWithoutCache(model, prompt: prompt, steps: 8, interventions: [a, b])))
        // The edit at layer 0 must show up in the captured layer-0 residual exactly as added.
        let plain = try model.activations(at: ActivationSite(layer: 0), sequences: [prompt])[0]
        let steered = try model.activations(at: ActivationSite(layer: 0), sequences: [prompt], interventions: [a])[0]
        for c in 0..<d { #expect(abs(steered[1, c] - plain[1, c] - 0.5 * a.vector[c]) < 1e-5) }
    }

    @Test("batching prompts of different lengths changes no result")
    func batchInvariance() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let prompts: [[Int32]] = [[2, 5], [2, 100, 200, 300, 400, 401, 402], [2, 7, 8, 9]]
        let greedy = SamplingConfig.greedy(maxNewTokens: 6, stopAtEOS: false)
        let batched = try model.generate(prompts: prompts, sampling: greedy, interventions: [])
        for (i, prompt) in prompts.enumerated() {
            #expect(batched[i] == (try model.generate(prompts: [prompt], sampling: greedy, interventions: [])[0]))
        }
        let sampling = SamplingConfig(temperature: 1, topK: 20, maxNewTokens: 6, stopAtEOS: false, seed: 3)
        let sampledBatch = try model.generate(prompts: prompts, sampling: sampling, interventions: [])
        let again = try model.generate(prompts: prompts, sampling: sampling, interventions: [])
        #expect(sampledBatch == again)
        let forwardBatch = try model.forward(ForwardRequest(sequences: prompts))
        for (i, prompt) in prompts.enumerated() {
            let single = try model.forward(ForwardRequest(sequences: [prompt]))
            #expect(maxAbsDifference(forwardBatch.logits[i].values, single.logits[0].values) < 1e-5)
        }
    }

    @Test("plain generation batches rows by their prompts (as the site readout does) and still matches each row alone")
    func plainGenerationBatchesByPrompt() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let budget = model.runtime.tokensPerStep(allLogits: false)
        let newTokens = 24
        // Prompts that fit one step together, although prompts plus their new tokens do not: before,
        // plain generation split such rows into several batches by prompt + new tokens.
        let rows = budget / (4 + newTokens) * 2
        let prompts: [[Int32]] = (0..<rows).map { (i: Int) -> [Int32] in
            let a = Int32(10 + i % 50), b = Int32(300 + i % 7), c = Int32(41 + i % 3)
            return [2, a, b, c]
        }
        let promptLengths: [Int] = prompts.map { $0.count }
        #expect(rows * 4 <= budget && rows * (4 + newTokens) > budget)
        #expect(model.runtime.generationChunks(promptLengths, newTokens: newTokens) == [Array(0..<rows)])
        let sampling = SamplingConfig(temperature: 1, topK: 20, maxNewTokens: newTokens, stopAtEOS: true, seed: 11)
        let batched = try model.generate(prompts: prompts, sampling: sampling, interventions: [])
        for i in stride(from: 0, to: rows, by: 37) {
            // Row i samples from stream i in the batch; alone it is given the same stream.
            let single = try model.runtime.generate(
                prompts: [prompts[i]], sampling: sampling, interventions: [], rowInterventions: nil, streams: [i],
                readLayer: nil, groups: nil, sink: { _, _ in })
            #expect(batched[i] == single[0], "row \(i)")
        }
    }

    @Test("all-position logits of long sequences (own product) and short ones (grouped) match each sequence alone")
    func allPositionLogitsGrouping() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let vocab = model.configuration.vocabularySize
        var rng = SeededGenerator(seed: 11)
        // Around TransformerRuntime<Gemma2Blocks>.headGroupRows: long ones get their own product, short ones are grouped
        // (3 + 5 + 30 crosses the threshold mid-batch; 1 + 2 stay a trailing group).
        let lengths = [40, 3, 5, 30, 33, 1, 2]
        #expect(
            lengths.contains { $0 >= TransformerRuntime<Gemma2Blocks>.headGroupRows }
                && lengths.contains { $0 < TransformerRuntime<Gemma2Blocks>.headGroupRows })
        let sequences = lengths.map { n in
            [Int32(2)] + (1..<n).map { _ in Int32(3 + Int(rng.next() % UInt64(vocab - 3))) }
        }
        let batched = try model.forward(ForwardRequest(sequences: sequences, logits: .all))
        #expect(batched.logits.count == sequences.count)
        for (i, sequence) in sequences.enumerated() {
            #expect(batched.logits[i].rows == sequence.count && batched.logits[i].columns == vocab)
            let single = try model.forward(ForwardRequest(sequences: [sequence], logits: .all))
            #expect(maxAbsDifference(batched.logits[i].values, single.logits[0].values) < 1e-5, "sequence \(i)")
            let last = try model.forward(ForwardRequest(sequences: [sequence], logits: .last)).logits[0].values
            #expect(maxAbsDifference(Array(batched.logits[i].values.suffix(vocab)), last) < 1e-5, "sequence \(i)")
        }
    }

    @Test("sampling is seeded: same seed same tokens, another seed other tokens")
    func seeded() throws {
        // A random model at a high temperature gives a flat next-token distribution, so samples really vary.
        var config = try Gemma2Fixtures.model("tiny-f32").configuration
        config.layerCount = 2
        config.slidingLayers = [true, false]
        let model = Gemma2Backend.random(configuration: config, seed: 4, std: 0.02)
        let prompts = Array(repeating: [Int32(2), 50], count: 4)
        func run(_ seed: UInt64) throws -> [[Int32]] {
            try model.generate(
                prompts: prompts,
                sampling: SamplingConfig(temperature: 30, topK: 50, maxNewTokens: 12, stopAtEOS: false, seed: seed),
                interventions: [])
        }
        let a = try run(1)
        #expect(a == (try run(1)))
        #expect(a != (try run(2)))
        #expect(Set(a).count > 1, "rows of one batch draw different samples")
        #expect(a.allSatisfy { $0.count == 14 }, "fixed-length mode never stops early")
    }

    @Test("a forward that needs only an early layer stops there and matches the full pass")
    func earlyStop() throws {
        let model = try Gemma2Fixtures.model("mha-sharded")
        let tokens: [Int32] = [2, 9, 99, 199]
        let early = try model.activations(at: ActivationSite(layer: 1), sequences: [tokens])[0]
        let full = try model.forward(
            ForwardRequest(sequences: [tokens], captureSites: [ActivationSite(layer: 1)], logits: .all))
        #expect(early == full.activations[ActivationSite(layer: 1)]![0])
    }
}

@Suite("ModelBackend conformance (Gemma-2)")
struct Gemma2ConformanceTests {
    @Test("the gemma2 backend satisfies the ModelBackend contract", arguments: Gemma2Fixtures.names)
    func gemma2(name: String) throws {
        let model = try Gemma2Fixtures.model(name)
        try checkModelBackend(
            model, prompts: [[2, 10, 200, 300, 41, 77, 120, 9, 33], [2, 5, 6], [2, 400, 17, 88, 3, 12]])
    }
}
