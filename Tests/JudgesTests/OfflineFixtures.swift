import Foundation
import Gemma2
import SteeringCore
import SteeringTestSupport

@testable import Judges

/// The tiny Gemma-2 fixture and helpers shared by the offline-judge tests.
enum OfflineFixtures {
    /// The checkpoint directory.
    static let modelDirectory = fixturePath("gemma2/tiny-f32")

    /// The tiny model, loaded once per process.
    static let model: Gemma2Backend = {
        do { return try Gemma2Backend(directory: modelDirectory) } catch {
            fatalError("cannot load the tiny Gemma-2 fixture: \(error)")
        }
    }()

    /// The prompts used for generated completions.
    static let prompts = ["I think", "Breaking news", "The weather", "Last night", "For sale"]

    /// Greedy continuations (whole sequences, BOS and prompt included) of `prompts`.
    static func greedyRequests(newTokens: Int = 16) throws -> [JudgeRequest] {
        let encoded = prompts.map { model.encode($0, addBOS: true) }
        let sequences = try model.generate(
            prompts: encoded, sampling: .greedy(maxNewTokens: newTokens, stopAtEOS: false), interventions: [])
        return zip(prompts, zip(encoded, sequences)).map { prompt, pair in
            let completion = model.decode(Array(pair.1[pair.0.count...]), skipSpecialTokens: true)
            return JudgeRequest(prompt: prompt, completion: completion, criterion: "coherent", tokens: pair.1)
        }
    }

    /// Uniformly random non-special tokens after each prompt (token soup), as long as `like`.
    static func soupRequests(like requests: [JudgeRequest], seed: UInt64 = 7) -> [JudgeRequest] {
        var rng = SeededGenerator(seed: seed)
        let vocabulary = UInt64(model.descriptor.vocabularySize)
        return requests.map { request in
            let prompt = model.encode(request.prompt, addBOS: true)
            let soup = (prompt.count..<request.tokens.count).map { _ in Int32(3 + rng.next() % (vocabulary - 3)) }
            return JudgeRequest(
                prompt: request.prompt, completion: model.decode(soup, skipSpecialTokens: true), criterion: "coherent",
                tokens: prompt + soup)
        }
    }
}

/// A small ReLU feature dictionary with seeded random weights, standing in for an SAE at layer 1.
struct RandomReLUDictionary: FeatureDictionary {
    let descriptor: DictionaryDescriptor
    let encoder: Matrix  // [inputWidth, featureCount]
    let bias: [Float]
    let decoder: Matrix  // [featureCount, inputWidth]

    init(inputWidth: Int = 64, featureCount: Int = 96, layer: Int = 1, seed: UInt64 = 11) {
        var rng = SeededGenerator(seed: seed)
        encoder = rng.matrix(rows: inputWidth, columns: featureCount, scale: 1 / Float(inputWidth).squareRoot())
        bias = (0..<featureCount).map { _ in -0.5 + 0.1 * rng.normal() }
        decoder = rng.matrix(rows: featureCount, columns: inputWidth, scale: 0.1)
        var digest = DigestBuilder()
        digest.update(field: "random-relu-\(seed)-\(inputWidth)-\(featureCount)")
        descriptor = DictionaryDescriptor(
            kind: "random-relu", name: "random-relu", site: ActivationSite(layer: layer), inputWidth: inputWidth,
            featureCount: featureCount, fingerprint: digest.finalize())
    }

    func encode(_ activations: Matrix) throws -> Matrix {
        guard activations.columns == descriptor.inputWidth else {
            throw SteeringError.shapeMismatch(
                what: "random-relu input", expected: "\(descriptor.inputWidth)", got: "\(activations.columns)")
        }
        var out = Matrix(rows: activations.rows, columns: descriptor.featureCount)
        for r in 0..<activations.rows {
            for f in 0..<descriptor.featureCount {
                var sum = bias[f]
                for c in 0..<descriptor.inputWidth { sum += activations[r, c] * encoder[c, f] }
                out[r, f] = max(0, sum)
            }
        }
        return out
    }

    func decode(_ features: Matrix) throws -> Matrix {
        var out = Matrix(rows: features.rows, columns: descriptor.inputWidth)
        for r in 0..<features.rows {
            for f in 0..<descriptor.featureCount where features[r, f] != 0 {
                for c in 0..<descriptor.inputWidth { out[r, c] += features[r, f] * decoder[f, c] }
            }
        }
        return out
    }

    func decoderRows(_ features: [Int]) throws -> Matrix {
        Matrix(
            stacking: try features.map { feature in
                guard (0..<descriptor.featureCount).contains(feature) else {
                    throw SteeringError.indexOutOfRange(
                        what: "feature", index: feature, validRange: 0..<descriptor.featureCount)
                }
                return decoder.row(feature)
            })
    }
}
