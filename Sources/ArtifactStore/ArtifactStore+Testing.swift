import SteeringCore

/// Hooks for tests in this package: they bypass every check, to simulate damage.
extension ArtifactStore {
    /// Stores `bytes` verbatim under the raw `key`, replacing what is there.
    package func testingWriteRawValue(_ bytes: [UInt8], forKey key: [UInt8]) throws {
        try environment.write(describing: "a raw test value") { txn in
            try txn.put(in: txn.databases.artifacts, key: key, value: bytes)
        }
    }

    /// The stored bytes under `key`, exactly as in the database.
    package func testingRawValue(forKey key: ContentDigest) throws -> [UInt8]? {
        try environment.read { txn in try txn.value(in: txn.databases.artifacts, key: key.bytes) }
    }
}

extension ArtifactStore {
    /// Stores `bytes` verbatim under `name` in the `meta` database (to fake a newer format version).
    package func testingWriteMeta(_ bytes: [UInt8], forName name: String) throws {
        try environment.write(describing: "a raw test value") { txn in
            try txn.put(in: txn.databases.meta, key: Array(name.utf8), value: bytes)
        }
    }

    /// Stores `bytes` verbatim as the value of the alias `name`.
    package func testingWriteRawAlias(_ bytes: [UInt8], forName name: String) throws {
        try environment.write(describing: "a raw test value") { txn in
            try txn.put(in: txn.databases.aliases, key: Array(name.utf8), value: bytes)
        }
    }
}
