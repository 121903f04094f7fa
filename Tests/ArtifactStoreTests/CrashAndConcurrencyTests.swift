import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Crash safety and concurrent processes")
struct CrashAndConcurrencyTests {
    @Test("SIGKILL during a run of batches: every committed artifact verifies, no partial batch is visible")
    func killMidBatch() throws {
        guard let writer = storeTestWriter() else { return }
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            let batch = 4
            let floats = 50_000
            let process = try Subprocess.start(
                writer,
                [
                    "write", path, "400", "3", "--batch", "\(batch)", "--floats", "\(floats)", "--initial-map-size",
                    "262144",
                ])
            var printed: [String] = []
            while printed.count < 6 * batch, let line = process.readLine() { printed.append(line) }
            process.kill()
            let result = process.wait()
            #expect(result.signaled, "the writer finished before it could be killed")
            printed += result.stdout.split(separator: "\n").map(String.init)

            let store = try ArtifactStore(path: path)
            let report = try store.verify()
            #expect(report.isClean, "\(report.problems)")
            let stored = Set(try store.list().map(\.key.hex))
            #expect(stored.count % batch == 0, "a partial batch is visible: \(stored.count) artifacts")
            for key in printed { #expect(stored.contains(key), "printed key \(key) was lost") }
            // At most the batch committed just before the kill may be stored without having been printed.
            #expect(stored.count - Set(printed).count <= batch)
            for index in 0..<stored.count {
                let artifact = try #require(try store.get(WriterArtifacts.recipe(seed: 3, index: index).key))
                #expect(try artifact.floats() == WriterArtifacts.payload(seed: 3, index: index, count: floats))
            }
            // The killed writer's reader slot and write lock do not block a new writer.
            try store.put(recipe: recipe("after the crash"), floats: [1], shape: [1])
        }
    }

    @Test("A reader process sees a consistent store while a writer process grows it")
    func readerDuringWrites() throws {
        guard let writer = storeTestWriter() else { return }
        try withTemporaryDirectory { directory in
            let path = directory + "/store"
            let create = try Subprocess.run(writer, ["write", path, "0", "0", "--initial-map-size", "65536"])
            #expect(create.status == 0, "\(create.stderr)")
            let count = 150
            let writing = try Subprocess.start(
                writer, ["write", path, "\(count)", "9", "--floats", "4000", "--sleep-ms", "10"])
            let reading = try Subprocess.run(writer, ["read", path, "\(count)", "--timeout-ms", "90000"], timeout: 120)
            let written = writing.wait()
            #expect(written.status == 0)
            #expect(reading.status == 0, "reader: \(reading.stdout) \(reading.stderr)")
            let fields = reading.stdout.split(separator: " ")
            #expect(fields.first == "ok", "\(reading.stdout)")
            if fields.count == 3, let passes = Int(fields[1]) {
                #expect(passes > 1, "the reader never overlapped the writer")
            }
            let store = try ArtifactStore(path: path, readOnly: true)
            #expect(try store.count == count)
            #expect(store.mapSize > 65536)
        }
    }

    @Test("Threads of one process read and write the same store concurrently")
    func threads() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-threads-\(UUID())")
                .path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try ArtifactStore(path: directory, initialMapSize: 64 << 10)
            for worker in 0..<4 {
                group.addTask {
                    for index in 0..<25 {
                        let values = (0..<2_000).map { Float(worker * 100 + index + $0) }
                        let key = try store.put(recipe: recipe("t\(worker)-\(index)"), floats: values, shape: [2_000])
                        #expect(try store.get(key)?.floats() == values)
                        _ = try store.list()
                    }
                }
            }
            try await group.waitForAll()
            #expect(try store.count == 100)
            #expect(try store.verify().isClean)
        }
    }
}
