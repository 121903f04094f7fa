import Foundation
import Synchronization

/// SHA-256 digests of files, cached by (path, size, modification time) so a multi-gigabyte
/// checkpoint is hashed once. The cache lives in `$STEER_CACHE_DIR/fingerprints.json`
/// (default `~/.cache/steer`); a missing or unreadable cache only costs a re-hash.
public enum FileFingerprint {
    private static let memo = Mutex([String: String]())

    /// The digest of the file at `path`.
    /// - Throws: ``SteeringError/io(path:problem:)`` when the file cannot be read.
    public static func digest(ofFile path: String) throws -> ContentDigest {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw SteeringError.io(path: path, problem: "cannot read file attributes (\(error.localizedDescription))")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let cacheKey = "\(absolute)|\(size)|\(modified)"
        if let hex = memo.withLock({ $0[cacheKey] }) ?? loadCache()[cacheKey], let cached = ContentDigest(hex: hex) {
            return cached
        }
        let digest = try hashFile(path)
        memo.withLock { $0[cacheKey] = digest.hex }
        storeCache(key: cacheKey, value: digest.hex)
        return digest
    }

    /// Hashes a file in 16 MiB chunks.
    public static func hashFile(_ path: String) throws -> ContentDigest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SteeringError.io(path: path, problem: "cannot open for reading")
        }
        defer { try? handle.close() }
        var builder = DigestBuilder()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 16 << 20)
            } catch {
                throw SteeringError.io(path: path, problem: "read failed (\(error.localizedDescription))")
            }
            guard let chunk, !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { builder.update($0) }
        }
        return builder.finalize()
    }

    /// Where the cache file lives.
    public static var cacheDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["STEER_CACHE_DIR"], !dir.isEmpty { return dir }
        return NSHomeDirectory() + "/.cache/steer"
    }

    private static func loadCache() -> [String: String] {
        guard let data = FileManager.default.contents(atPath: cacheDirectory + "/fingerprints.json"),
            let table = try? JSONDecoder().decode([String: String].self, from: data)
        else { return [:] }
        memo.withLock { $0.merge(table) { current, _ in current } }
        return table
    }

    private static func storeCache(key: String, value: String) {
        var table = loadCache()
        table[key] = value
        guard
            (try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true))
                != nil,
            let data = try? JSONEncoder().encode(table)
        else { return }
        try? AtomicFile.write(Array(data), to: cacheDirectory + "/fingerprints.json")
    }
}
