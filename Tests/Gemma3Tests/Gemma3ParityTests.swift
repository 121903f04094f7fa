import Foundation
import SteeringNumerics
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Gemma3

/// Tiny random Gemma-3 checkpoints written by transformers 5.25 (f32, eager): a 5 : 1 layer pattern with
/// a window shorter than the inputs and one KV head; explicit layer types with linear RoPE scaling on
/// full layers; a multimodal checkpoint (`language_model.model.` names) with both soft-caps set.
@Suite("Gemma-3 parity with Hugging Face transformers (f32, eager)")
struct Gemma3ParityTests {
    @Test(
        "logits (max |Δ| ≤ 1e-4) and every layer's residual (relative ≤ 1e-5) match, unsteered and steered",
        arguments: Gemma3Fixtures.names)
    func forwardParity(name: String) throws {
        let model = try Gemma3Fixtures.model(name)
        let (reference, settings) = try Gemma3Fixtures.reference(name)
        let layers = model.configuration.layerCount
        let steering = Intervention(
            site: ActivationSite(layer: settings["steer_layer"] as! Int), vector: try reference.floats("steer_vector"),
            scale: Float(settings["steer_scale"] as! Double))
        let sites = (0..<layers).map { ActivationSite(layer: $0) }
        for i in 0..<(settings["num_sequences"] as! Int) {
            let tokens = try reference.int32s("tokens.\(i)")
            for (prefix, interventions) in [("", [Intervention]()), ("steered_", [steering])] {
                let result = try model.forward(
                    ForwardRequest(sequences: [tokens], interventions: interventions, captureSites: sites, logits: .all)
                )
                let logitError = maxAbsDifference(result.logits[0].values, try reference.floats("\(prefix)logits.\(i)"))
                #expect(logitError <= Tolerance.logitsAbsolute, "\(name) \(prefix)logits.\(i): max |Δ| = \(logitError)")
                for layer in 0..<layers {
                    let expected = try reference.floats("\(prefix)resid_post.\(i).\(layer)")
                    let error = maxRelativeDifference(result.activations[sites[layer]]![0].values, expected)
                    #expect(
                        error <= Tolerance.residualRelative,
                        "\(name) \(prefix)resid_post.\(i).\(layer): relative error \(error)")
                }
            }
        }
    }

    @Test(
        "greedy generations are token-identical, unsteered and steered (hook in prefill and every step)",
        arguments: Gemma3Fixtures.names)
    func greedyParity(name: String) throws {
        let model = try Gemma3Fixtures.model(name)
        let (reference, settings) = try Gemma3Fixtures.reference(name)
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

    @Test("configurations resolve as transformers resolves them", arguments: Gemma3Fixtures.names)
    func configurationParity(name: String) throws {
        let model = try Gemma3Fixtures.model(name)
        let (_, settings) = try Gemma3Fixtures.reference(name)
        let resolved = settings["resolved_by_transformers"] as! [String: Any]
        let types = resolved["layer_types"] as! [String]
        #expect(model.configuration.slidingLayers == types.map { $0 == "sliding_attention" })
        #expect(model.configuration.slidingWindow == resolved["sliding_window"] as! Int)
        #expect(
            model.configuration.queryPreAttentionScalar == (resolved["query_pre_attn_scalar"] as! NSNumber).doubleValue)
        let rope = resolved["rope_parameters"] as! [String: [String: Any]]
        #expect(model.configuration.globalRopeBase == (rope["full_attention"]!["rope_theta"] as! NSNumber).doubleValue)
        #expect(
            model.configuration.localRopeBase == (rope["sliding_attention"]!["rope_theta"] as! NSNumber).doubleValue)
        let factor = (rope["full_attention"]!["factor"] as? NSNumber)?.doubleValue ?? 1
        #expect(model.configuration.globalRopeScaling == factor)
    }
}

@Suite("ModelBackend conformance")
struct ModelBackendConformanceTests {
    @Test("the gemma3 backend satisfies the ModelBackend contract", arguments: Gemma3Fixtures.names)
    func gemma3(name: String) throws {
        let model = try Gemma3Fixtures.model(name)
        try checkModelBackend(
            model, prompts: [[2, 10, 200, 300, 41, 77, 120, 9, 33], [2, 5, 6], [2, 400, 17, 88, 3, 12]])
    }
}
