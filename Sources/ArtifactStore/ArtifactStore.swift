import Foundation
import SteeringCore

#if canImport(Glibc)
    import Glibc
#endif

/// A content-addressed store of artifacts in an LMDB environment (Docs/Artifacts.md).
///
/// Every artifact is stored under its recipe's key (``Recipe/key``, 32 raw bytes), so the same
/// computation always lands under the same key, on any machine. Values are write-once: putting a
/// key that exists leaves the stored artifact unchanged.
///
/// Many processes may read while one process writes (LMDB semantics). Every operation is one
/// synchronous LMDB transaction that never crosses an `await`; values are copied out before it ends.
/// The memory map grows by doubling when a write does not fit, up to ``maxMapSize``.
///
/// All instances of a process that open the same directory share one LMDB environment, as LMDB requires.
public final class ArtifactStore: Sendable {
    /// The store directory.
    public let path: String
    /// Whether writes are refused.
    public let isReadOnly: Bool
    let environment: LMDBEnvironment

    /// Environment variable that caps the map size (bytes, optionally with a K, M, G or T suffix).
    public static let maxMapSizeVariable = "STEER_STORE_MAX_MAP_SIZE"

    /// Opens the store in the directory `path`, creating the directory and an empty store unless
    /// `readOnly`.
    ///
    /// - Parameters:
    ///   - path: The store directory (holding `data.mdb` and `lock.mdb`). `~` is expanded.
    ///   - readOnly: Open with `MDB_RDONLY`; the store must exist. Use this in downstream tools.
    ///   - maxMapSize: Largest size in bytes the memory map may grow to; writes that do not fit fail with
    ///     ``ArtifactStoreError/storeFull(path:needed:limit:)`` and write nothing. Defaults to
    ///     `STEER_STORE_MAX_MAP_SIZE`, else 1 TiB.
    ///   - initialMapSize: Map size of a new store (default 64 MiB); an existing smaller map is grown to it.
    /// - Throws: ``ArtifactStoreError`` when the path is not a usable directory, a read-only store does
    ///   not exist, or LMDB cannot open it.
    public init(path: String, readOnly: Bool = false, maxMapSize: Int? = nil, initialMapSize: Int? = nil) throws {
        let directory = Self.directoryPath(path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ArtifactStoreError.notADirectory(path: directory) }
        } else if readOnly {
            throw ArtifactStoreError.storeMissing(path: directory)
        } else {
            try Self.makeDirectories(directory)
        }
        let limit = try maxMapSize ?? Self.maxMapSizeFromEnvironment() ?? LMDBEnvironment.defaultMaxMapSize
        guard limit > 0 else {
            throw ArtifactStoreError.invalidSetting(name: "maxMapSize", value: "\(limit)", problem: "must be positive")
        }
        if let initialMapSize, initialMapSize <= 0 {
            throw ArtifactStoreError.invalidSetting(
                name: "initialMapSize", value: "\(initialMapSize)", problem: "must be positive")
        }
        self.path = directory
        self.isReadOnly = readOnly
        self.environment = try EnvironmentRegistry.acquire(
            directory: directory, readOnly: readOnly, initialMapSize: initialMapSize, maxMapSize: limit)
    }

    deinit { EnvironmentRegistry.release(environment) }

    /// Whether `path` holds a store (a directory with an LMDB `data.mdb`). Opens nothing.
    public static func exists(at path: String) -> Bool {
        FileManager.default.fileExists(atPath: directoryPath(path) + "/data.mdb")
    }

    /// `path` with `~` expanded and redundant components removed.
    static func directoryPath(_ path: String) -> String {
        ((path as NSString).expandingTildeInPath as NSString).standardizingPath
    }

    /// The largest size the memory map may grow to, in bytes.
    public var maxMapSize: Int { environment.maxMapSize }

    /// The current size of the memory map, in bytes (the data file may be smaller: it is sparse).
    public var mapSize: Int { environment.mapSize }

    /// Number of artifacts in the store.
    public var count: Int {
        get throws { try environment.read { txn in try txn.count(txn.databases.artifacts) } }
    }

    // MARK: Writing

    /// Stores an artifact and returns its key, `recipe.key`. If the key is already present, the stored
    /// artifact is left unchanged (values are write-once; use ``remove(_:)`` first to replace one).
    ///
    /// - Parameters:
    ///   - recipe: Everything that determines the payload; its key is the artifact's key.
    ///   - dtype: Element type of `payload`.
    ///   - shape: Dimensions; their product times the element size must equal `payload.count`.
    ///   - payload: Little-endian elements, row-major.
    /// - Throws: ``ArtifactStoreError/invalidArtifact(problem:)`` if shape and payload disagree,
    ///   ``ArtifactStoreError/storeFull(path:needed:limit:)`` if it does not fit (nothing is written).
    @discardableResult
    public func put(recipe: Recipe, dtype: ArtifactDType, shape: [Int], payload: [UInt8]) throws -> ContentDigest {
        try putBatch([NewArtifact(recipe: recipe, dtype: dtype, shape: shape, payload: payload)])[0]
    }

    /// Stores `Float` values as an `f32` artifact. See ``put(recipe:dtype:shape:payload:)``.
    @discardableResult
    public func put(recipe: Recipe, floats: [Float], shape: [Int]) throws -> ContentDigest {
        try putBatch([.floats(recipe: recipe, floats, shape: shape)])[0]
    }

    /// Stores `Int32` values as an `i32` artifact. See ``put(recipe:dtype:shape:payload:)``.
    @discardableResult
    public func put(recipe: Recipe, int32s: [Int32], shape: [Int]) throws -> ContentDigest {
        try putBatch([.int32s(recipe: recipe, int32s, shape: shape)])[0]
    }

    /// Stores a matrix as a 2-D `f32` artifact. See ``put(recipe:dtype:shape:payload:)``.
    @discardableResult
    public func put(recipe: Recipe, matrix: Matrix) throws -> ContentDigest {
        try putBatch([.floats(recipe: recipe, matrix.values, shape: matrix.shape)])[0]
    }

    /// Stores a value as a `json` artifact (keys sorted). See ``put(recipe:dtype:shape:payload:)``.
    @discardableResult
    public func put(recipe: Recipe, json value: some Encodable) throws -> ContentDigest {
        try putBatch([.json(recipe: recipe, value)])[0]
    }

    /// Stores several artifacts in one transaction: either all are written or none is.
    ///
    /// Digests and headers are computed before the transaction starts, so the writer lock is held
    /// only while bytes are copied into the map.
    /// - Returns: The keys, in the order of `artifacts`.
    /// - Throws: As ``put(recipe:dtype:shape:payload:)``.
    @discardableResult
    public func putBatch(_ artifacts: [NewArtifact]) throws -> [ContentDigest] {
        guard !isReadOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "put artifacts") }
        let createdAt = ArtifactHeader.now()
        var prepared: [(key: [UInt8], prefix: [UInt8], payload: [UInt8])] = []
        var keys: [ContentDigest] = []
        var totalBytes = 0
        for artifact in artifacts {
            if let problem = ArtifactHeader.shapeProblem(
                dtype: artifact.dtype, shape: artifact.shape, payloadSize: artifact.payload.count)
            {
                throw ArtifactStoreError.invalidArtifact(problem: problem)
            }
            let header = ArtifactHeader(
                recipe: artifact.recipe, dtype: artifact.dtype, shape: artifact.shape,
                payloadDigest: ContentDigest(of: artifact.payload), payloadSize: artifact.payload.count,
                createdAt: createdAt)
            let prefix = ArtifactValueLayout.prefix(for: header)
            let key = artifact.recipe.key
            keys.append(key)
            prepared.append((key.bytes, prefix, artifact.payload))
            totalBytes += prefix.count + artifact.payload.count
        }
        let what =
            artifacts.count == 1
            ? "artifact \(keys[0].short) (\(totalBytes) bytes)"
            : "a batch of \(artifacts.count) artifacts (\(totalBytes) bytes)"
        try environment.write(describing: what) { txn in
            for item in prepared {
                if try txn.contains(item.key, in: txn.databases.artifacts) { continue }
                try txn.put(in: txn.databases.artifacts, key: item.key, size: item.prefix.count + item.payload.count) {
                    destination in
                    item.prefix.withUnsafeBytes { destination.copyMemory(from: $0) }
                    item.payload.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: destination[item.prefix.count...]).copyMemory(from: $0)
                    }
                }
            }
        }
        return keys
    }

    /// Deletes an artifact; returns whether it existed. Aliases that point to it are kept (they work
    /// again once the artifact is recomputed, and ``verify()`` lists them meanwhile).
    @discardableResult
    public func remove(_ key: ContentDigest) throws -> Bool {
        guard !isReadOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "remove an artifact") }
        return try environment.write(describing: "a removal") { txn in
            try txn.delete(in: txn.databases.artifacts, key: key.bytes)
        }
    }

    // MARK: Reading

    /// The artifact under `key`, or `nil` if there is none.
    ///
    /// - Parameter verifyingDigest: Also recompute the payload's SHA-256 and compare it with the header.
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)`` if the stored value is damaged.
    public func get(_ key: ContentDigest, verifyingDigest: Bool = false) throws -> Artifact? {
        let artifact = try environment.read { txn in
            try txn.withValue(in: txn.databases.artifacts, key: key.bytes) { value in
                let (header, range) = try ArtifactValueLayout.parse(value, key: key.hex)
                return Artifact(key: key, header: header, payload: Array(value[range]))
            }
        }
        if let artifact, verifyingDigest, ContentDigest(of: artifact.payload) != artifact.header.payloadDigest {
            throw ArtifactStoreError.corruptArtifact(
                key: key.hex, problem: "the payload's SHA-256 differs from the digest in its header")
        }
        return artifact
    }

    /// The header of the artifact under `key` (the payload is not copied), or `nil`.
    public func header(_ key: ContentDigest) throws -> ArtifactHeader? {
        try environment.read { txn in
            try txn.withValue(in: txn.databases.artifacts, key: key.bytes) { value in
                try ArtifactValueLayout.header(value, key: key.hex)
            }
        }
    }

    /// The recipe of the artifact under `key`, or `nil`.
    public func recipe(_ key: ContentDigest) throws -> Recipe? { try header(key)?.recipe }

    /// Whether an artifact is stored under `key`.
    public func has(_ key: ContentDigest) throws -> Bool {
        try environment.read { txn in
            try txn.contains(key.bytes, in: txn.databases.artifacts)
        }
    }

    /// Every artifact (or every one of `kind`) with its header, in key order.
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)`` at the first damaged value;
    ///   ``verify()`` lists them all.
    public func list(kind: ArtifactKind? = nil) throws -> [(key: ContentDigest, header: ArtifactHeader)] {
        try environment.read { txn in
            var out: [(key: ContentDigest, header: ArtifactHeader)] = []
            try txn.scan(txn.databases.artifacts) { keyBytes, value in
                let key = try Self.digest(fromKey: keyBytes)
                let header = try ArtifactValueLayout.header(value, key: key.hex)
                if kind == nil || header.kind == kind { out.append((key, header)) }
                return true
            }
            return out
        }
    }

    // MARK: Helpers

    /// Converts a raw LMDB key to a digest, or explains why it is not one.
    static func digest(fromKey bytes: UnsafeRawBufferPointer) throws(ArtifactStoreError) -> ContentDigest {
        let hex = hexString(bytes)
        guard bytes.count == 32, let digest = ContentDigest(hex: hex) else {
            throw ArtifactStoreError.corruptArtifact(key: hex, problem: "the key is \(bytes.count) bytes, not 32")
        }
        return digest
    }

    /// Lowercase hex of `bytes`.
    static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `mkdir -p` that reports which component failed and why.
    private static func makeDirectories(_ directory: String) throws {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, 0o755) == 0 { continue }
            let code = errno
            var isDirectory: ObjCBool = false
            if code == EEXIST, FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) {
                if isDirectory.boolValue { continue }
                throw ArtifactStoreError.cannotCreate(path: directory, reason: "\(prefix) is a file, not a directory")
            }
            throw ArtifactStoreError.cannotCreate(
                path: directory, reason: "cannot create \(prefix): \(String(cString: strerror(code)))")
        }
    }

    /// Reads `STEER_STORE_MAX_MAP_SIZE`: bytes, optionally with a binary K, M, G or T suffix.
    static func maxMapSizeFromEnvironment() throws -> Int? {
        guard let text = ProcessInfo.processInfo.environment[maxMapSizeVariable], !text.isEmpty else { return nil }
        guard let size = parseByteCount(text), size > 0 else {
            throw ArtifactStoreError.invalidSetting(
                name: maxMapSizeVariable, value: text, problem: "give a positive byte count such as 1073741824 or 64G")
        }
        return size
    }

    /// Parses `123`, `64K`, `512M`, `2G`, `1T` (powers of 1024); `nil` if malformed or overflowing.
    package static func parseByteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var digits = Substring(trimmed)
        var shift = 0
        if let last = trimmed.last, let s = shifts[last] {
            shift = s
            digits = digits.dropLast()
        } else if trimmed.hasSuffix("B") {
            return nil
        }
        guard let base = Int(digits), base >= 0 else { return nil }
        let (value, overflow) = base.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }
}
