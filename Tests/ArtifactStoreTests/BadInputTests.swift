import ArtifactStore
import Foundation
import SteeringCore
import Testing

@Suite("Bad input")
struct BadInputTests {
    @Test("Opening a missing store read-only says there is no store")
    func missingReadOnly() throws {
        try withTemporaryDirectory { directory in
            let error = expectStoreError({ _ = try ArtifactStore(path: directory + "/nothing", readOnly: true) }) {
                if case .storeMissing(let path) = $0 { path.hasSuffix("/nothing") } else { false }
            }
            #expect(error.map { "\($0)" }?.contains("No artifact store at") == true)
            #expect(!FileManager.default.fileExists(atPath: directory + "/nothing"))
            // An existing but empty directory is not a store either.
            expectStoreError({ _ = try ArtifactStore(path: directory, readOnly: true) }) {
                if case .storeMissing = $0 { true } else { false }
            }
        }
    }

    @Test("A regular file is not a store directory")
    func fileInsteadOfDirectory() throws {
        try withTemporaryDirectory { directory in
            let file = directory + "/file"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            expectStoreError({ _ = try ArtifactStore(path: file) }) {
                if case .notADirectory(file) = $0 { true } else { false }
            }
            expectStoreError({ _ = try ArtifactStore(path: file, readOnly: true) }) {
                if case .notADirectory = $0 { true } else { false }
            }
        }
    }

    @Test("A path below a regular file cannot be created, even by root")
    func unwritablePath() throws {
        try withTemporaryDirectory { directory in
            let file = directory + "/file"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            let error = expectStoreError({ _ = try ArtifactStore(path: file + "/deeper/store") }) {
                if case .cannotCreate(_, let reason) = $0 { reason.contains("is a file") } else { false }
            }
            #expect(error.map { "\($0)" }?.contains("Choose a writable directory") == true)
            expectStoreError({ _ = try ArtifactStore(path: "/proc/artifact-store") }) {
                if case .cannotCreate = $0 { true } else { false }
            }
        }
    }

    @Test("A directory holding something else than LMDB files is not a store")
    func notAStore() throws {
        try withTemporaryDirectory { directory in
            _ = FileManager.default.createFile(
                atPath: directory + "/data.mdb", contents: Data(repeating: 0x42, count: 64 << 10))
            expectStoreError({ _ = try ArtifactStore(path: directory, readOnly: true) }) {
                switch $0 {
                case .notAStore, .corrupted: true
                default: false
                }
            }
        }
    }

    @Test("A store of a newer format version is refused")
    func newerFormat() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            do {
                let store = try ArtifactStore(path: path)
                try store.testingWriteMeta([99, 0, 0, 0], forName: "format")
            }
            let error = expectStoreError({ _ = try ArtifactStore(path: path) }) {
                if case .incompatibleFormat(_, 99, 1) = $0 { true } else { false }
            }
            #expect(error.map { "\($0)" }?.contains("Upgrade") == true)
        }
    }

    @Test("Non-positive sizes are refused")
    func badSizes() throws {
        try withTemporaryDirectory { directory in
            expectStoreError({ _ = try ArtifactStore(path: directory + "/a", maxMapSize: 0) }) {
                if case .invalidSetting = $0 { true } else { false }
            }
            expectStoreError({ _ = try ArtifactStore(path: directory + "/b", initialMapSize: -1) }) {
                if case .invalidSetting = $0 { true } else { false }
            }
        }
    }

    @Test("Byte counts with suffixes parse; nonsense does not")
    func byteCounts() {
        #expect(ArtifactStore.parseByteCount("1024") == 1024)
        #expect(ArtifactStore.parseByteCount("64k") == 64 << 10)
        #expect(ArtifactStore.parseByteCount("2G") == 2 << 30)
        #expect(ArtifactStore.parseByteCount("1T") == 1 << 40)
        #expect(ArtifactStore.parseByteCount("lots") == nil)
        #expect(ArtifactStore.parseByteCount("5MB") == nil)
        #expect(ArtifactStore.parseByteCount("99999999999999999999T") == nil)
    }
}
