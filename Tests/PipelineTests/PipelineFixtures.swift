import ArtifactStore
import Foundation
import Gemma2
import JumpReLUSAE
import Pipeline
import SteeringCore
import SteeringTestSupport

/// Tiny model, tiny SAE at its layer 1, and a tiny protocol, shared by the pipeline tests.
enum PipelineFixtures {
    static let modelPath = fixturePath("gemma2/tiny-f32")
    static let saePath = fixturePath("sae/gemma_scope/layer_1/width_256/average_l0_20")

    static func model() throws -> Gemma2Backend { try Gemma2Backend(directory: modelPath) }
    static func sae() throws -> JumpReLUSAE { try JumpReLUSAE(path: saePath) }

    static let measurement = MeasurementProtocol(
        site: ActivationSite(layer: 1), prompts: ["", "the cat"], rolloutsPerPrompt: 4, totalLength: 8,
        baselineMultiplier: 2, seed: 5)

    /// Command-line flags for the same protocol.
    static let protocolFlags = [
        "--prompts-file", promptsFile(), "--rollouts", "4", "--length", "8", "--baseline-multiplier", "2", "--seed",
        "5",
    ]

    static func promptsFile() -> String {
        let path = NSTemporaryDirectory() + "pipeline-prompts.txt"
        try? "\nthe cat\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A calibration text of plain sentences.
    static func calibrationFile() throws -> String {
        let path = try makeTemporaryDirectory("calibration") + "/calibration.txt"
        var rng = SeededGenerator(seed: 3)
        let words = "the cat sat on a mat and then it ran to the big red house where many people live".split(
            separator: " ")
        let documents = (0..<40).map { _ in
            (0..<30).map { _ in String(words[Int(rng.next() % UInt64(words.count))]) }.joined(separator: " ")
        }
        try documents.joined(separator: "\n\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func probes(_ sae: JumpReLUSAE, _ range: Range<Int>) throws -> [ProbeVector] {
        try ProbeVector.decoderRows(of: sae, range: range)
    }

    /// (key, payload digest) of every artifact, for comparing whole stores.
    static func contents(_ store: ArtifactStore) throws -> [String: String] {
        var out = [String: String]()
        for (key, header) in try store.list() { out[key.hex] = header.payloadDigest.hex }
        return out
    }
}
