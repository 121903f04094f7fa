import CLMDB
import Foundation
import SteeringCore

#if canImport(Glibc)
    import Glibc
#endif

/// Errors from the artifact store. Every message names the store or artifact involved, says what is
/// wrong and what to do about it.
///
/// LMDB and system return codes are mapped to cases in one place, ``init(returnCode:path:operation:)``.
public enum ArtifactStoreError: Error, Sendable, Equatable {
    /// A read-only open found no store at `path`.
    case storeMissing(path: String)
    /// `path` exists but is not a directory.
    case notADirectory(path: String)
    /// The store directory could not be created or opened for writing.
    case cannotCreate(path: String, reason: String)
    /// The process lacks permission to read or write the store.
    case permissionDenied(path: String)
    /// A write was attempted on a store opened read-only.
    case readOnly(path: String, operation: String)
    /// The same store is already open read-only in this process and a writable open was requested.
    case alreadyOpenReadOnly(path: String)
    /// The memory map is full. Writers grow the map and retry, so this is seen only by code that
    /// bypasses the store's write loop.
    case mapFull(path: String)
    /// The store reached its size limit (`maxMapSize` or `STEER_STORE_MAX_MAP_SIZE`); nothing was written.
    case storeFull(path: String, needed: String, limit: Int)
    /// The file system ran out of space; nothing was written.
    case diskFull(path: String)
    /// The store was written by a newer, incompatible version of this software.
    case incompatibleFormat(path: String, found: UInt32, supported: UInt32)
    /// The directory holds files that are not an artifact store (or a store of another LMDB version).
    case notAStore(path: String, reason: String)
    /// LMDB detected corruption in the database file.
    case corrupted(path: String)
    /// Too many processes or threads are reading at once.
    case readersFull(path: String)
    /// One transaction touched more pages than LMDB allows.
    case transactionTooLarge(path: String)
    /// An alias name was not found; `suggestions` are close matches.
    case unknownAlias(name: String, suggestions: [String], path: String)
    /// A key (full or prefix) matched no artifact in the store.
    case unknownKey(key: String, path: String)
    /// A hex prefix matched several artifacts.
    case ambiguousPrefix(prefix: String, matches: [String])
    /// Text given as a key is neither an alias, a 64-character hex key nor a hex prefix of ≥ 6 characters.
    case invalidReference(text: String, problem: String)
    /// An alias name is not acceptable.
    case invalidAliasName(name: String, problem: String)
    /// An artifact handed to `put` is inconsistent (payload size, shape, dtype).
    case invalidArtifact(problem: String)
    /// A stored value cannot be decoded or does not match its recipe or digest.
    case corruptArtifact(key: String, problem: String)
    /// The artifact holds another dtype or shape than the accessor needs.
    case wrongType(key: String, expected: String, actual: String)
    /// A setting (an initializer argument or environment variable) has an unusable value.
    case invalidSetting(name: String, value: String, problem: String)
    /// An artifact cannot be exported to the requested file.
    case exportFailed(path: String, problem: String)
    /// `merge(from:)` was given the store itself.
    case mergeIntoSelf(path: String)
    /// A merge was refused: the other store's artifacts of `kind` (computed by `algorithm`) come from
    /// another recipe than this store's; `differences` names each differing input or parameter.
    case recipeMismatch(path: String, other: String, kind: String, algorithm: String, differences: [String])
    /// Any other LMDB or system failure.
    case system(path: String, operation: String, code: Int32, message: String)
}

extension ArtifactStoreError {
    /// Maps an LMDB or `errno` return code to an error. The only place that knows `MDB_*` codes.
    ///
    /// - Parameters:
    ///   - returnCode: The non-zero code returned by an `mdb_*` function.
    ///   - path: The store directory, for the message.
    ///   - operation: What was being done (`"open"`, `"put"`, ...), for codes without a dedicated case.
    init(returnCode: Int32, path: String, operation: String) {
        switch returnCode {
        case MDB_MAP_FULL: self = .mapFull(path: path)
        case MDB_READERS_FULL: self = .readersFull(path: path)
        case MDB_TXN_FULL, MDB_CURSOR_FULL, MDB_PAGE_FULL: self = .transactionTooLarge(path: path)
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC: self = .corrupted(path: path)
        case MDB_INVALID:
            self = .notAStore(path: path, reason: "data.mdb is not an LMDB database file")
        case MDB_VERSION_MISMATCH, MDB_INCOMPATIBLE:
            self = .notAStore(path: path, reason: "the LMDB file format or database flags are incompatible")
        case MDB_NOTFOUND:
            self = .notAStore(path: path, reason: "a required database (artifacts, aliases, meta) is missing")
        case ENOSPC, EDQUOT: self = .diskFull(path: path)
        case EACCES, EPERM, EROFS: self = .permissionDenied(path: path)
        case ENOENT: self = .storeMissing(path: path)
        case ENOTDIR: self = .notADirectory(path: path)
        default:
            self = .system(
                path: path, operation: operation, code: returnCode, message: String(cString: mdb_strerror(returnCode)))
        }
    }
}

extension ArtifactStoreError: CustomStringConvertible {
    /// A complete sentence: what failed and what to do.
    public var description: String {
        switch self {
        case .storeMissing(let path):
            return "No artifact store at \(path). Check --store / STEER_STORE, or create one by writing to it first."
        case .notADirectory(let path):
            return "\(path) is not a directory. An artifact store is a directory; choose another path."
        case .cannotCreate(let path, let reason):
            return "Cannot create the artifact store at \(path): \(reason). Choose a writable directory."
        case .permissionDenied(let path):
            return "Permission denied for the artifact store at \(path). Fix its permissions or open it read-only."
        case .readOnly(let path, let operation):
            return "Cannot \(operation): the store at \(path) is open read-only. Open it without readOnly to write."
        case .alreadyOpenReadOnly(let path):
            return
                "The store at \(path) is already open read-only in this process. Release that ArtifactStore "
                + "before opening it for writing."
        case .mapFull(let path):
            return "The memory map of the store at \(path) is full. Retry the write; the store grows the map."
        case .storeFull(let path, let needed, let limit):
            return
                "The artifact store at \(path) is full: \(needed) does not fit within the size limit of \(limit) "
                + "bytes. Nothing was written. Raise STEER_STORE_MAX_MAP_SIZE (or maxMapSize), free disk space, "
                + "or run `steer store gc`."
        case .diskFull(let path):
            return "The disk holding the artifact store at \(path) is full. Nothing was written; free space and retry."
        case .incompatibleFormat(let path, let found, let supported):
            return
                "The store at \(path) has format version \(found) but this build reads up to \(supported). "
                + "Upgrade steer, or use another store."
        case .notAStore(let path, let reason):
            return "\(path) is not a usable artifact store: \(reason). Point --store at an artifact store directory."
        case .corrupted(let path):
            return "The LMDB file of the store at \(path) is corrupted. Restore it from a backup or a merged shard."
        case .readersFull(let path):
            return "Too many concurrent readers of the store at \(path). Close idle readers and retry."
        case .transactionTooLarge(let path):
            return "One transaction on the store at \(path) is too large for LMDB. Write in smaller batches."
        case .unknownAlias(let name, let suggestions, let path):
            let hint =
                suggestions.isEmpty ? "" : " Did you mean \(suggestions.map { "'\($0)'" }.joined(separator: ", "))?"
            return
                "No alias '\(name)' in the store at \(path).\(hint) List aliases with `steer store alias`, or pass "
                + "a 64-character key or a unique hex prefix of at least 6 characters."
        case .unknownKey(let key, let path):
            return "No artifact with key \(key) in the store at \(path). List artifacts with `steer store ls`."
        case .ambiguousPrefix(let prefix, let matches):
            let shown = matches.prefix(5).joined(separator: ", ") + (matches.count > 5 ? ", ..." : "")
            return "The prefix '\(prefix)' matches \(matches.count) artifacts (\(shown)). Give more characters."
        case .invalidReference(let text, let problem):
            return "'\(text)' is not an alias or artifact key: \(problem)."
        case .invalidAliasName(let name, let problem):
            return "Invalid alias name '\(name)': \(problem)."
        case .invalidArtifact(let problem):
            return "Cannot store the artifact: \(problem)."
        case .corruptArtifact(let key, let problem):
            return
                "Artifact \(key) is damaged: \(problem). Run `steer store verify`; remove and recompute it, "
                + "or merge a healthy copy."
        case .wrongType(let key, let expected, let actual):
            return "Artifact \(key) holds \(actual), not \(expected). Use the accessor for its dtype."
        case .invalidSetting(let name, let value, let problem):
            return "Invalid \(name) '\(value)': \(problem)."
        case .exportFailed(let path, let problem):
            return "Cannot export to \(path): \(problem)."
        case .mergeIntoSelf(let path):
            return "Cannot merge the store at \(path) into itself. Give another store."
        case .recipeMismatch(let path, let other, let kind, let algorithm, let differences):
            return
                "Refusing to merge \(other) into \(path): its \(kind) artifacts (\(algorithm)) were computed from "
                + "another recipe than this store's: \(differences.joined(separator: "; ")). Shards of one job "
                + "must share model, SAE and protocol; rerun that shard with the same flags, merge it into a "
                + "separate store, or pass --allow-mixed-recipes to `steer store merge` to keep both. "
                + "Nothing was copied."
        case .system(let path, let operation, let code, let message):
            return "Artifact store at \(path): \(operation) failed: \(message) (code \(code))."
        }
    }
}

extension ArtifactStoreError: LocalizedErrorLike {}
