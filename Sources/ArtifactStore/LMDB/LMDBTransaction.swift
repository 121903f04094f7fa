import CLMDB

/// Handles of the store's named databases, valid for the lifetime of the environment.
struct StoreDatabases: Sendable {
    /// `artifacts`: 32-byte key → encoded artifact value.
    var artifacts: MDB_dbi
    /// `aliases`: UTF-8 alias name → 32-byte key.
    var aliases: MDB_dbi
    /// `meta`: UTF-8 name → store metadata (`format` → u32 little-endian format version).
    var meta: MDB_dbi
}

/// What both transaction kinds offer for reading. Buffers handed to closures point into the memory
/// map and are valid only inside the closure.
protocol StoreTransaction: ~Copyable {
    /// The `MDB_txn`.
    var handle: OpaquePointer { get }
    /// The store's database handles.
    var databases: StoreDatabases { get }
    /// The store directory, for error messages.
    var path: String { get }
}

extension StoreTransaction where Self: ~Copyable {
    /// Runs `body` on the value stored under `key`, or returns `nil` if there is none.
    func withValue<R>(in dbi: MDB_dbi, key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var keyBytes = key
        return try keyBytes.withUnsafeMutableBytes { keyBuffer -> R? in
            var k = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            var v = MDB_val()
            let rc = mdb_get(handle, dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "get") }
            return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// A copy of the value under `key`.
    func value(in dbi: MDB_dbi, key: [UInt8]) throws -> [UInt8]? {
        try withValue(in: dbi, key: key) { Array($0) }
    }

    /// Whether `key` is present in `dbi`.
    func contains(_ key: [UInt8], in dbi: MDB_dbi) throws -> Bool {
        try withValue(in: dbi, key: key) { _ in true } ?? false
    }

    /// Visits entries in key order starting at the first key ≥ `start` (or the first key); `body`
    /// returns `false` to stop.
    func scan(
        _ dbi: MDB_dbi, from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor: OpaquePointer?
        var rc = mdb_cursor_open(handle, dbi, &cursor)
        guard rc == 0, let cursor else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "scan") }
        defer { mdb_cursor_close(cursor) }
        var startBytes = start ?? []
        var k = MDB_val()
        var v = MDB_val()
        rc = startBytes.withUnsafeMutableBytes { startBuffer -> Int32 in
            guard !startBuffer.isEmpty else { return mdb_cursor_get(cursor, &k, &v, MDB_FIRST) }
            k = MDB_val(mv_size: startBuffer.count, mv_data: startBuffer.baseAddress)
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
        while rc == 0 {
            let keyBuffer = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            let valueBuffer = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
            guard try body(keyBuffer, valueBuffer) else { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        guard rc == MDB_NOTFOUND else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "scan") }
    }

    /// Number of entries in `dbi`.
    func count(_ dbi: MDB_dbi) throws -> Int {
        var stat = MDB_stat()
        let rc = mdb_stat(handle, dbi, &stat)
        guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "stat") }
        return stat.ms_entries
    }
}

/// A read-only LMDB transaction. Aborted when it goes out of scope; it never leaves the synchronous
/// closure it was handed to, so no pointer into the memory map escapes.
struct ReadTransaction: StoreTransaction, ~Copyable {
    let handle: OpaquePointer
    let databases: StoreDatabases
    let path: String

    deinit { mdb_txn_abort(handle) }
}

/// A read-write LMDB transaction. Aborted when it goes out of scope unless ``commit()`` consumed it.
struct WriteTransaction: StoreTransaction, ~Copyable {
    let handle: OpaquePointer
    let databases: StoreDatabases
    let path: String
    private var open = true

    init(handle: OpaquePointer, databases: StoreDatabases, path: String) {
        self.handle = handle
        self.databases = databases
        self.path = path
    }

    deinit {
        if open { mdb_txn_abort(handle) }
    }

    /// Commits; the transaction is gone afterwards whether or not this throws.
    consuming func commit() throws {
        open = false
        let rc = mdb_txn_commit(handle)
        guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "commit") }
    }

    /// Stores `value` under `key`, replacing any previous value.
    func put(in dbi: MDB_dbi, key: [UInt8], value: [UInt8]) throws {
        try put(in: dbi, key: key, size: value.count) { destination in
            value.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// Reserves `size` bytes under `key` and lets `fill` write them in place, avoiding a copy of
    /// large payloads. `fill` must write every byte.
    func put(in dbi: MDB_dbi, key: [UInt8], size: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        var keyBytes = key
        let rc = keyBytes.withUnsafeMutableBytes { keyBuffer -> Int32 in
            var k = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            var v = MDB_val(mv_size: size, mv_data: nil)
            let rc = mdb_put(handle, dbi, &k, &v, UInt32(MDB_RESERVE))
            if rc == 0 { fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size)) }
            return rc
        }
        guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "put") }
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    func delete(in dbi: MDB_dbi, key: [UInt8]) throws -> Bool {
        var keyBytes = key
        let rc = keyBytes.withUnsafeMutableBytes { keyBuffer -> Int32 in
            var k = MDB_val(mv_size: keyBuffer.count, mv_data: keyBuffer.baseAddress)
            return mdb_del(handle, dbi, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        guard rc == 0 else { throw ArtifactStoreError(returnCode: rc, path: path, operation: "delete") }
        return true
    }
}
