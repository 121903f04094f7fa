import Foundation
import SteeringNumerics
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

    @Test("checkpoints are used in place from the file mapping, in f32, bf16 and f16", arguments: Gemma2Fixtures.names)
    func zeroCopy(name: String) throws {
        let model = try Gemma2Fixtures.model(name)
        #expect(model.zeroCopyWeightCount == 1 + 7 * model.configuration.layerCount)
    }

    @Test(
        "half-precision checkpoints widened to f32 at load give the reference logits too",
        arguments: ["mqa-odd-bf16", "gqa-f16"])
    func widenedAtLoad(name: String) throws {
        let model = try Gemma2Backend(directory: Gemma2Fixtures.directory(name), residentWeights: .f32)
        #expect(model.zeroCopyWeightCount == 0)
        #expect(model.residentWeightElement == .f32)
        let (reference, _) = try Gemma2Fixtures.reference(name)
        let tokens = try reference.int32s("tokens.0")
        let result = try model.forward(ForwardRequest(sequences: [tokens], logits: .all))
        let error = maxAbsDifference(result.logits[0].values, try reference.floats("logits.0"))
        #expect(error <= Tolerance.logitsAbsolute, "\(name): max |Δ| = \(error)")
    }

    @Test("f32 weights narrowed at load hold exactly the rounded values", arguments: [WeightElement.f16, .bf16])
    func narrowedAtLoad(element: WeightElement) throws {
        let directory = Gemma2Fixtures.directory("tiny-f32")
        let model = try Gemma2Backend(directory: directory, residentWeights: element)
        #expect(model.zeroCopyWeightCount == 0)
        // Rounded weights change results, so the model's fingerprint (part of artifact keys) changes;
        // asking for the file's own precision copies the weights but keeps the fingerprint.
        let inPlace = try Gemma2Fixtures.model("tiny-f32")
        #expect(model.descriptor.fingerprint != inPlace.descriptor.fingerprint)
        let same = try Gemma2Backend(directory: directory, residentWeights: .f32)
        #expect(same.descriptor.fingerprint == inPlace.descriptor.fingerprint)
        #expect(same.zeroCopyWeightCount == 0, "an explicit precision means an owned (huge-page) copy")
        #expect(same.engine.weights.layers[1].down.storage.base != inPlace.engine.weights.layers[1].down.storage.base)
        #expect(model.residentWeightBytes * 2 == inPlace.residentWeightBytes)
        let file = try SafetensorsCheckpoint(directory: directory)
        let original = try file.floats("model.layers.1.mlp.down_proj.weight")
        let storage = model.engine.weights.layers[1].down.storage
        let bits = UnsafeBufferPointer(start: storage.base.assumingMemoryBound(to: UInt16.self), count: storage.count)
        let expected = original.map {
            element == .f16 ? HalfPrecision.floatToFloat16($0) : HalfPrecision.floatToBFloat16($0)
        }
        #expect(Array(bits) == expected)
        // The model still runs; its logits move by about the rounding of the weights.
        let (reference, _) = try Gemma2Fixtures.reference("tiny-f32")
        let tokens = try reference.int32s("tokens.0")
        let logits = try model.forward(ForwardRequest(sequences: [tokens], logits: .all)).logits[0].values
        let error = maxAbsDifference(logits, try reference.floats("logits.0"))
        #expect(error > 0 && error < 0.5, "\(element): max |Δ| = \(error)")
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
