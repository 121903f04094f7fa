import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Gemma2

@Suite("Gemma-2 parity with Hugging Face transformers (f32, eager)")
struct Gemma2ParityTests {
    @Test("logits and every layer's residual stream match, unsteered and steered", arguments: Gemma2Fixtures.names)
    func forwardParity(name: String) throws {
        let model = try Gemma2Fixtures.model(name)
        let (reference, settings) = try Gemma2Fixtures.reference(name)
        let layers = model.configuration.layerCount
        let steerLayer = settings["steer_layer"] as! Int
        let steerScale = Float(settings["steer_scale"] as! Double)
        let vector = try reference.floats("steer_vector")
        let sites = (0..<layers).map { ActivationSite(layer: $0) }
        let steering = Intervention(site: ActivationSite(layer: steerLayer), vector: vector, scale: steerScale)
        for i in 0..<(settings["num_sequences"] as! Int) {
            let tokens = try reference.int32s("tokens.\(i)")
            for (prefix, interventions) in [("", [Intervention]()), ("steered_", [steering])] {
                let result = try model.forward(
                    ForwardRequest(sequences: [tokens], interventions: interventions, captureSites: sites, logits: .all)
                )
                let logits = try reference.floats("\(prefix)logits.\(i)")
                let logitError = maxAbsDifference(result.logits[0].values, logits)
                #expect(logitError <= Tolerance.logitsAbsolute, "\(name) \(prefix)logits.\(i): max |Δ| = \(logitError)")
                for layer in 0..<layers {
                    let expected = try reference.floats("\(prefix)resid_post.\(i).\(layer)")
                    let got = result.activations[sites[layer]]![0].values
                    let error = maxRelativeDifference(got, expected)
                    #expect(
                        error <= Tolerance.residualRelative,
                        "\(name) \(prefix)resid_post.\(i).\(layer): relative error \(error)")
                }
            }
        }
    }

    @Test("greedy generations are token-identical, unsteered and steered", arguments: Gemma2Fixtures.names)
    func greedyParity(name: String) throws {
        let model = try Gemma2Fixtures.model(name)
        let (reference, settings) = try Gemma2Fixtures.reference(name)
        let steering = Intervention(
            site: ActivationSite(layer: settings["steer_layer"] as! Int), vector: try reference.floats("steer_vector"),
            scale: Float(settings["steer_scale"] as! Double))
        for j in 0..<(settings["num_greedy_prompts"] as! Int) {
            let prompt = try reference.int32s("greedy.\(j).prompt")
            for (tag, interventions) in [("greedy", [Intervention]()), ("greedy_steered", [steering])] {
                let expected = try reference.int32s("\(tag).\(j).output")
                let sampling = SamplingConfig.greedy(maxNewTokens: settings["max_new_tokens"] as! Int)
                let output = try model.generate(prompts: [prompt], sampling: sampling, interventions: interventions)
                #expect(output[0] == expected, "\(name) \(tag).\(j)")
            }
        }
    }

    @Test("next-token loss equals the cross-entropy of the reference logits")
    func lossParity() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let (reference, _) = try Gemma2Fixtures.reference("tiny-f32")
        let tokens = try reference.int32s("tokens.2")
        let logits = try reference.floats("logits.2")
        let vocab = model.configuration.vocabularySize
        var expected = 0.0
        for t in 0..<(tokens.count - 1) {
            let row = logits[(t * vocab)..<((t + 1) * vocab)].map(Double.init)
            let maximum = row.max()!
            let logSum = Foundation.log(row.map { Foundation.exp($0 - maximum) }.reduce(0, +)) + maximum
            expected += logSum - row[Int(tokens[t + 1])]
        }
        expected /= Double(tokens.count - 1)
        let loss = try model.nextTokenLoss(sequences: [tokens], interventions: [])[0]
        #expect(abs(loss - expected) < 1e-5)
    }

    @Test("f32 checkpoints are used in place from the file mapping")
    func zeroCopy() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        #expect(model.zeroCopyWeightCount == 1 + 7 * model.configuration.layerCount)
        let bf16 = try Gemma2Fixtures.model("mqa-odd-bf16")
        #expect(bf16.zeroCopyWeightCount == 0)
    }

    @Test("the checkpoint's tokenizer.json and tokenizer.model agree with Hugging Face on its own vocabulary")
    func tinyTokenizer() throws {
        let model = try Gemma2Fixtures.model("tiny-f32")
        let data = try Data(contentsOf: URL(fileURLWithPath: Gemma2Fixtures.directory("tiny-f32") + "/tokenized.json"))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        #expect(!cases.isEmpty)
        for item in cases {
            let text = item["text"] as! String
            let ids = (item["ids"] as! [Int]).map(Int32.init)
            #expect(model.encode(text, addBOS: true) == ids, "\(text.debugDescription)")
        }
    }
}
