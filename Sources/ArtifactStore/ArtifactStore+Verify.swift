import SteeringCore

/// One damaged entry found by ``ArtifactStore/verify()`` or refused by ``ArtifactStore/merge(from:)``.
public struct StoreProblem: Sendable, Hashable, CustomStringConvertible {
    /// The entry: a 64-character key in hex (or the raw key in hex, or `alias 'name'`).
    public var key: String
    /// What is wrong with it.
    public var problem: String

    /// Creates a problem record.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// `key: problem`.
    public var description: String { "\(key): \(problem)" }
}

/// The outcome of ``ArtifactStore/verify()``.
public struct VerifyReport: Sendable, Equatable {
    /// Number of artifacts examined.
    public var checked: Int
    /// Damaged artifacts and aliases, in key order.
    public var problems: [StoreProblem]
    /// Aliases whose target is not in the store (after ``ArtifactStore/remove(_:)``, say). Not damage:
    /// they work again once the artifact is recomputed.
    public var danglingAliases: [String: ContentDigest]

    /// Whether nothing is damaged (dangling aliases do not count).
    public var isClean: Bool { problems.isEmpty }
}

extension ArtifactStore {
    /// Checks every artifact: the value layout and header parse, the stored key equals the recipe's key,
    /// the header's kind matches the recipe, the payload has the promised size and shape, and the
    /// payload's SHA-256 equals the header's digest. Also checks that every alias holds a 32-byte key.
    ///
    /// Each artifact is checked in its own short read transaction, so writers are not held up and
    /// the file does not grow while a large store is verified.
    public func verify() throws -> VerifyReport {
        let keys: [[UInt8]] = try environment.read { txn in
            var keys: [[UInt8]] = []
            try txn.scan(txn.databases.artifacts) { key, _ in
                keys.append(Array(key))
                return true
            }
            return keys
        }
        var report = VerifyReport(checked: 0, problems: [], danglingAliases: [:])
        for key in keys {
            let problem: String?? = try environment.read { txn in
                try txn.withValue(in: txn.databases.artifacts, key: key) { value in
                    key.withUnsafeBytes { Self.problem(key: $0, value: value) }
                }
            }
            guard let problem else { continue }  // removed since the listing
            report.checked += 1
            if let problem { report.problems.append(StoreProblem(key: Self.hexString(key), problem: problem)) }
        }
        try environment.read { txn in
            try txn.scan(txn.databases.aliases) { nameBytes, value in
                let name = String(decoding: nameBytes, as: UTF8.self)
                do {
                    let target = try Self.aliasTarget(value, name)
                    if try !txn.contains(target.bytes, in: txn.databases.artifacts) {
                        report.danglingAliases[name] = target
                    }
                } catch let error as ArtifactStoreError {
                    guard case .corruptArtifact(let key, let problem) = error else { throw error }
                    report.problems.append(StoreProblem(key: key, problem: problem))
                }
                return true
            }
        }
        return report
    }

    /// Everything wrong with one stored entry, or `nil` if it is sound. Hashes the payload in place.
    static func problem(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> String? {
        guard key.count == 32 else { return "the key is \(key.count) bytes, not 32" }
        let hex = hexString(key)
        let header: ArtifactHeader
        let payload: Range<Int>
        do {
            (header, payload) = try ArtifactValueLayout.parse(value, key: hex)
        } catch {
            if case .corruptArtifact(_, let problem) = error { return problem }
            return error.description
        }
        let recipeKey = header.recipe.key
        guard recipeKey.hex == hex else {
            return "it is stored under a key that is not its recipe's key (\(recipeKey.hex))"
        }
        let digest = ContentDigest(of: UnsafeRawBufferPointer(rebasing: value[payload]))
        guard digest == header.payloadDigest else {
            return "the payload's SHA-256 \(digest.short)… differs from the header's \(header.payloadDigest.short)…"
        }
        return nil
    }
}
