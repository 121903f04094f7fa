import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

@Suite("Token sampling")
struct TokenSamplerTests {
    func draw(_ logits: [Float], _ config: SamplingConfig, seed: UInt64 = 1, count: Int = 4000) -> [Int: Int] {
        var counts = [Int: Int]()
        var generator = SplitMix64(seed: seed, row: 0)
        let sampler = TokenSampler(config: config)
        for _ in 0..<count {
            let token = logits.withUnsafeBufferPointer { sampler.sample($0, generator: &generator) }
            counts[Int(token), default: 0] += 1
        }
        return counts
    }

    @Test("greedy takes the first maximum")
    func greedy() {
        let counts = draw([1, 3, 3, 2], .greedy(maxNewTokens: 1), count: 10)
        #expect(counts == [1: 10])
    }

    @Test("top-k keeps ties at the threshold (Hugging Face semantics)")
    func topKTies() {
        let counts = draw([5, 4, 4, 1, 0], SamplingConfig(temperature: 1, topK: 2, topP: 1))
        #expect(Set(counts.keys) == [0, 1, 2])
    }

    @Test("top-p keeps the smallest prefix reaching the mass, including the boundary token")
    func topP() {
        // probabilities ∝ e^{2}, e^{1}, e^{0}, e^{-5}: ≈ 0.665, 0.245, 0.090, 0.0004
        let logits: [Float] = [2, 1, 0, -5]
        #expect(Set(draw(logits, SamplingConfig(temperature: 1, topK: 0, topP: 0.6)).keys) == [0])
        #expect(Set(draw(logits, SamplingConfig(temperature: 1, topK: 0, topP: 0.7)).keys) == [0, 1])
        #expect(Set(draw(logits, SamplingConfig(temperature: 1, topK: 0, topP: 0.95)).keys) == [0, 1, 2])
    }

    @Test("TransformerLens mode ignores top-p whenever top-k is set")
    func transformerLensMode() {
        let logits: [Float] = [2, 1, 0, -5]
        let hf = draw(logits, SamplingConfig(temperature: 1, topK: 3, topP: 0.6, mode: .huggingFace))
        let tl = draw(logits, SamplingConfig(temperature: 1, topK: 3, topP: 0.6, mode: .transformerLens))
        #expect(Set(hf.keys) == [0])
        #expect(Set(tl.keys) == [0, 1, 2])
    }

    @Test("sampled frequencies follow softmax(logits / T)")
    func frequencies() {
        let logits: [Float] = [1, 0, -1]
        let counts = draw(logits, SamplingConfig(temperature: 2, topK: 0, topP: 1), count: 20000)
        let weights = logits.map { Foundation.exp(Double($0) / 2) }
        let total = weights.reduce(0, +)
        for i in 0..<3 {
            let expected = weights[i] / total
            let observed = Double(counts[i, default: 0]) / 20000
            #expect(abs(observed - expected) < 0.015, "token \(i): \(observed) vs \(expected)")
        }
    }

    @Test("same seed and row give the same stream; rows differ")
    func determinism() {
        let config = SamplingConfig(temperature: 1, topK: 0, topP: 1)
        let logits: [Float] = (0..<50).map { Float($0 % 7) }
        #expect(draw(logits, config, seed: 9) == draw(logits, config, seed: 9))
        var a = SplitMix64(seed: 9, row: 0), b = SplitMix64(seed: 9, row: 1)
        #expect(a.next() != b.next())
    }

    @Test("kth largest equals a sort", arguments: [1, 5, 50, 100])
    func kthLargest(k: Int) {
        var rng = SeededGenerator(seed: UInt64(k))
        let values = (0..<100).map { _ in Float(Int(rng.normal() * 3)) }
        let expected = values.sorted(by: >)[k - 1]
        #expect(values.withUnsafeBufferPointer { TokenSampler.kthLargest($0, k: k) } == expected)
    }

    @Test(
        "kth largest of vocabulary-sized rows equals a sort (ties, rising and falling runs)", arguments: [1, 50, 257])
    func kthLargestLongRows(k: Int) {
        var rng = SeededGenerator(seed: UInt64(1000 + k))
        let rows: [[Float]] = [
            (0..<8192).map { _ in Float(rng.normal()) },
            (0..<8192).map { _ in Float(Int(rng.normal() * 4)) },
            (0..<8192).map { Float($0) },
            (0..<8192).map { Float(-$0) },
        ]
        for values in rows {
            let expected = values.sorted(by: >)[k - 1]
            #expect(values.withUnsafeBufferPointer { TokenSampler.kthLargest($0, k: k) } == expected)
        }
    }
}
