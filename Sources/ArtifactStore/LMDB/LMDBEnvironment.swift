import CLMDB
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One open LMDB environment (a store directory holding `data.mdb` and `lock.mdb`).
///
/// Transactions run inside synchronous closures (``read(_:)``, ``write(describing:_:)``) that retry
/// after the map was grown by this or another process. Obtain instances through
/// ``EnvironmentRegistry`` only: LMDB forbids opening the same environment twice in one process.
///
/// `@unchecked Sendable`: `handle` is an `MDB_env` opened with `MDB_NOTLS`, which LMDB documents as
/// usable from any thread; each transaction is confined to one synchronous call on one thread; and
/// `mdb_env_set_mapsize` runs only while ``gate`` is held exclusively, when no transaction of this
/// process is active. Every other stored property is an immutable value.
final class LMDBEnvironment: @unchecked Sendable {
    /// Version of the value layout and database set written by this build (see Docs/Artifacts.md).
    static let formatVersion: UInt32 = 1
    /// Map size of a new store unless `initialMapSize` says otherwise.
    static let defaultInitialMapSize = 64 << 20
    /// Growth stops here unless `maxMapSize` or `STEER_STORE_MAX_MAP_SIZE` says otherwise.
    static let defaultMaxMapSize = 1 << 40

    let handle: OpaquePointer
    let path: String
    let readOnly: Bool
    let maxMapSize: Int
    let databases: StoreDatabases
    private let gate = ResizeGate()

    /// Opens (and for writers creates) the store at `path`, which must already be a directory.
    init(directory path: String, readOnly: Bool, initialMapSize: Int?, maxMapSize: Int) throws {
        let isNew = !FileManager.default.fileExists(atPath: path + "/data.mdb")
        if readOnly, isNew { throw ArtifactStoreError.storeMissing(path: path) }

        var env: OpaquePointer?
        var rc = mdb_env_create(&env)
        guard rc == 0, let env else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "create") }
        rc = mdb_env_set_maxdbs(env, 4)
        if rc == 0, isNew {
            rc = mdb_env_set_mapsize(env, min(initialMapSize ?? Self.defaultInitialMapSize, maxMapSize))
        }
        if rc == 0 {
            let flags = UInt32(MDB_NOTLS) | (readOnly ? UInt32(MDB_RDONLY) : 0)
            rc = mdb_env_open(env, path, flags, 0o644)
        }
        if rc == 0, !readOnly {
            var dead: Int32 = 0
            _ = mdb_reader_check(env, &dead)  // frees reader slots left by killed processes
            if let initialMapSize, initialMapSize > Self.mapSize(of: env) {
                // No transaction of this process is active yet, so resizing needs no gate.
                rc = mdb_env_set_mapsize(env, min(initialMapSize, maxMapSize))
            }
        }
        guard rc == 0 else {
            mdb_env_close(env)
            throw ArtifactStoreError(returnCode: rc, path: path, operation: "open")
        }
        do {
            databases = try Self.openDatabases(env, path: path, readOnly: readOnly)
        } catch {
            mdb_env_close(env)
            throw error
        }
        handle = env
        self.path = path
        self.readOnly = readOnly
        self.maxMapSize = maxMapSize
    }

    /// Closes the environment. Called by ``EnvironmentRegistry`` when the last store using it goes away.
    func close() { mdb_env_close(handle) }

    /// The current size of the memory map in bytes.
    var mapSize: Int { Self.mapSize(of: handle) }

    private static func mapSize(of env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Runs `body` in a read-only transaction and returns its result; values must be copied out
    /// inside `body`.
    @available(*, noasync)
    func read<R>(_ body: (borrowing ReadTransaction) throws -> R) throws -> R {
        while true {
            let outcome: R? = try gate.withShared {
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
                if rc == MDB_MAP_RESIZED { return nil }
                guard rc == 0, let txn else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "read") }
                return try Self.runRead(ReadTransaction(handle: txn, databases: databases, path: path), body)
            }
            if let outcome { return outcome }
            try adoptGrownMap()
        }
    }

    /// Runs `body` in a write transaction and commits it. If the map fills up, the transaction is
    /// aborted, the map doubled (up to ``maxMapSize``) and `body` run again from the start, so
    /// `body` must not have effects outside the transaction.
    ///
    /// - Parameter what: Names the write in a "store full" message ("artifact 1a2b3c… (4 MB)").
    /// - Throws: ``ArtifactStoreError/storeFull(path:needed:limit:)`` when the map cannot grow further;
    ///   nothing of the transaction is then written.
    @available(*, noasync)
    func write<R>(describing what: @autoclosure () -> String, _ body: (borrowing WriteTransaction) throws -> R) throws
        -> R
    {
        guard !readOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "write") }
        while true {
            var sizeAtStart = 0
            let outcome: Result<R, ArtifactStoreError>? = try gate.withShared {
                sizeAtStart = mapSize
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(handle, nil, 0, &txn)
                if rc == MDB_MAP_RESIZED { return nil }
                guard rc == 0, let txn else {
                    throw ArtifactStoreError(returnCode: rc, path: path, operation: "write")
                }
                do {
                    return .success(
                        try Self.runWrite(WriteTransaction(handle: txn, databases: databases, path: path), body))
                } catch let error as ArtifactStoreError {
                    guard case .mapFull = error else { throw error }
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let value): return value
            case .failure: try grow(from: sizeAtStart, what: what())
            case nil: try adoptGrownMap()
            }
        }
    }

    private static func runRead<R>(
        _ txn: consuming ReadTransaction, _ body: (borrowing ReadTransaction) throws -> R
    ) throws -> R {
        try body(txn)
    }

    private static func runWrite<R>(
        _ txn: consuming WriteTransaction, _ body: (borrowing WriteTransaction) throws -> R
    ) throws -> R {
        let result = try body(txn)
        try txn.commit()
        return result
    }

    /// Another process grew the map past ours: adopt its size.
    private func adoptGrownMap() throws {
        try gate.withExclusive {
            let rc = mdb_env_set_mapsize(handle, 0)
            guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "resize") }
        }
    }

    /// Doubles the map unless another thread already grew it since `sizeAtStart`.
    private func grow(from sizeAtStart: Int, what: String) throws {
        try gate.withExclusive {
            let current = mapSize
            guard current <= sizeAtStart else { return }
            guard current < maxMapSize else {
                throw ArtifactStoreError.storeFull(path: path, needed: what, limit: maxMapSize)
            }
            let (doubled, overflow) = current.multipliedReportingOverflow(by: 2)
            try setMapSizeLocked(overflow ? maxMapSize : min(doubled, maxMapSize))
        }
    }

    private func setMapSizeLocked(_ size: Int) throws {
        let rc = mdb_env_set_mapsize(handle, size)
        guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "resize") }
    }

    /// Opens `artifacts`, `aliases` and `meta` (creating them in a new store) and checks the format version.
    private static func openDatabases(_ env: OpaquePointer, path: String, readOnly: Bool) throws -> StoreDatabases {
        let names = ["artifacts", "aliases", "meta"]
        let formatKey = Array("format".utf8)
        while true {
            var txn: OpaquePointer?
            var rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
            if rc == MDB_MAP_RESIZED {
                // Another process grew the map; no transaction of ours is active, so adopt its size.
                rc = mdb_env_set_mapsize(env, 0)
                guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "open") }
                continue
            }
            guard rc == 0, let txn else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "open") }
            var committed = false
            defer { if !committed { mdb_txn_abort(txn) } }
            var handles: [MDB_dbi] = []
            for name in names {
                var dbi: MDB_dbi = 0
                rc = mdb_dbi_open(txn, name, readOnly ? 0 : UInt32(MDB_CREATE), &dbi)
                guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "open") }
                handles.append(dbi)
            }
            let dbs = StoreDatabases(artifacts: handles[0], aliases: handles[1], meta: handles[2])
            var formatBytes = formatKey
            var storedValue = MDB_val()
            rc = formatBytes.withUnsafeMutableBytes { keyBuffer in
                var k = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
                return mdb_get(txn, dbs.meta, &k, &storedValue)
            }
            guard rc == 0 || rc == MDB_NOTFOUND else {
                throw ArtifactStoreError(returnCode: rc, path: path, operation: "open")
            }
            var stored: UInt32?
            if rc == 0 {
                guard storedValue.mv_size == 4 else {
                    throw ArtifactStoreError.notAStore(path: path, reason: "the format entry is not 4 bytes")
                }
                stored = UInt32(littleEndian: storedValue.mv_data.loadUnaligned(as: UInt32.self))
            }
            if let stored, stored > formatVersion {
                throw ArtifactStoreError.incompatibleFormat(path: path, found: stored, supported: formatVersion)
            }
            if stored == nil {
                if readOnly {
                    throw ArtifactStoreError.notAStore(path: path, reason: "it has no format version entry")
                }
                var version = formatVersion.littleEndian
                var k = MDB_val(mv_size: formatKey.count, mv_data: nil)
                rc = formatBytes.withUnsafeMutableBytes { keyBuffer in
                    withUnsafeMutableBytes(of: &version) { valueBuffer in
                        k.mv_data = keyBuffer.baseAddress
                        var v = MDB_val(mv_size: 4, mv_data: valueBuffer.baseAddress)
                        return mdb_put(txn, dbs.meta, &k, &v, 0)
                    }
                }
                guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "initialize") }
            }
            committed = true
            rc = mdb_txn_commit(txn)  // also for read-only: keeps the database handles open
            guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "open") }
            return dbs
        }
    }
}
