import SteeringCore

/// Garbage collection: everything not reachable from an alias is removed.
extension ArtifactStore {
    /// Removes every artifact that no alias reaches, in one transaction.
    ///
    /// Reachable means: the target of an alias, or an input of a reachable artifact. Inputs are
    /// followed through the digests in `recipe.inputs` that are themselves keys in the store; input
    /// digests that name something outside the store (a model fingerprint, a prompt set) end the walk.
    /// A store without aliases therefore loses everything.
    ///
    /// - Parameter dryRun: Only report what would be removed.
    /// - Returns: The keys removed (or that would be), sorted.
    /// - Throws: ``ArtifactStoreError/corruptArtifact(key:problem:)`` if a reachable artifact's header
    ///   cannot be read (its inputs would be unknown, so nothing is removed).
    @discardableResult
    public func gc(dryRun: Bool = false) throws -> [ContentDigest] {
        if dryRun || isReadOnly {
            guard dryRun else { throw ArtifactStoreError.readOnly(path: path, operation: "collect garbage") }
            return try environment.read { txn in try Self.unreachable(txn) }
        }
        return try environment.write(describing: "garbage collection") { txn in
            let doomed = try Self.unreachable(txn)
            for key in doomed { try txn.delete(in: txn.databases.artifacts, key: key.bytes) }
            return doomed
        }
    }

    /// The keys no alias reaches, sorted.
    static func unreachable(_ txn: borrowing some StoreTransaction & ~Copyable) throws -> [ContentDigest] {
        var reachable = Set<ContentDigest>()
        var pending: [ContentDigest] = []
        for target in try readAliases(txn).values where try txn.contains(target.bytes, in: txn.databases.artifacts) {
            if reachable.insert(target).inserted { pending.append(target) }
        }
        while let key = pending.popLast() {
            let header = try txn.withValue(in: txn.databases.artifacts, key: key.bytes) { value in
                try ArtifactValueLayout.header(value, key: key.hex)
            }
            let inputs = header.map { Array($0.recipe.inputs.values) } ?? []
            for input in inputs where !reachable.contains(input) {
                if try txn.contains(input.bytes, in: txn.databases.artifacts) {
                    reachable.insert(input)
                    pending.append(input)
                }
            }
        }
        var doomed: [ContentDigest] = []
        var malformedKeys: [[UInt8]] = []
        try txn.scan(txn.databases.artifacts) { keyBytes, _ in
            if keyBytes.count != 32 {
                malformedKeys.append(Array(keyBytes))
                return true
            }
            let key = try digest(fromKey: keyBytes)
            if !reachable.contains(key) { doomed.append(key) }
            return true
        }
        if let first = malformedKeys.first {
            throw ArtifactStoreError.corruptArtifact(
                key: hexString(first),
                problem:
                    "the key is \(first.count) bytes, not 32; gc removes nothing until `steer store verify` is clean")
        }
        return doomed
    }
}
