import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats

@testable import Gemma3

/// The tiny reference checkpoints written by Tests/Reference/make_gemma3_fixtures.py (transformers 5.25).
enum Gemma3Fixtures {
    static let names = ["tiny-5to1", "rope-scaled", "softcap-mm"]

    static func directory(_ name: String) -> String { fixturePath("gemma3/\(name)") }

    /// Models are loaded once per process.
    nonisolated(unsafe) private static var cache = [String: Gemma3Backend]()
    private static let lock = NSLock()

    static func model(_ name: String) throws -> Gemma3Backend {
        lock.lock()
        defer { lock.unlock() }
        if let model = cache[name] { return model }
        let model = try Gemma3Backend(path: directory(name))
        cache[name] = model
        return model
    }

    static func reference(_ name: String) throws -> (tensors: SafetensorsFile, settings: [String: Any]) {
        let tensors = try SafetensorsFile(path: directory(name) + "/reference.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: directory(name) + "/reference.json"))
        let settings = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (tensors, settings)
    }

    /// A scratch copy of a fixture checkpoint, for tests that damage files.
    static func scratchCopy(_ name: String) throws -> String {
        let target = try makeTemporaryDirectory("gemma3-\(name)")
        for file in try FileManager.default.contentsOfDirectory(atPath: directory(name)) {
            try FileManager.default.copyItem(atPath: directory(name) + "/" + file, toPath: target + "/" + file)
        }
        return target
    }
}
