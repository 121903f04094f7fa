import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

@testable import Gemma2

/// The embedded demo model (Demo/model) is a genuine Hugging Face Gemma-2 checkpoint: it loads through
/// the plugin and reproduces the logits transformers computed for it when the recipe trained it.
@Suite("Embedded demo model")
struct DemoModelTests {
    @Test("loads and matches the recipe's reference logits and layer-3 residuals")
    func parity() throws {
        let directory = repositoryRoot.appendingPathComponent("Demo/model").path
        let model = try Gemma2Backend(directory: directory)
        let reference = try SafetensorsFile(path: fixturePath("demo/reference.safetensors"))
        let settings =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: fixturePath("demo/reference.json")))) as! [String: Any]
        let texts = settings["texts"] as! [[String: Any]]
        for (i, item) in texts.enumerated() {
            let tokens = try reference.int32s("tokens.\(i)")
            #expect(model.encode(item["text"] as! String, addBOS: true) == tokens, "tokenizer on text \(i)")
            let result = try model.forward(
                ForwardRequest(sequences: [tokens], captureSites: [ActivationSite(layer: 3)], logits: .all))
            let error = maxAbsDifference(result.logits[0].values, try reference.floats("logits.\(i)"))
            #expect(error <= Tolerance.logitsAbsolute, "text \(i): max |Δ logits| = \(error)")
            let residual = maxRelativeDifference(
                result.activations[ActivationSite(layer: 3)]![0].values, try reference.floats("resid_post.3.\(i)"))
            #expect(residual <= Tolerance.residualRelative, "text \(i): residual relative error \(residual)")
        }
    }
}
