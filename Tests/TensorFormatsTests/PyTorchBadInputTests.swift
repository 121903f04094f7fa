import Foundation
import SteeringTestSupport
import Testing

@testable import TensorFormats

@Suite("PyTorch checkpoints: malicious and broken files are refused")
struct PyTorchBadInputTests {
    /// The file the malicious pickles would create if anything in them ran.
    private static let marker = "/tmp/steer-pickle-was-executed"

    private func openError(_ fixture: String) -> TensorFormatError? {
        expectFormatError("\(fixture) must be refused") {
            try PyTorchCheckpoint(path: TorchFixtures.path(fixture))
        }
    }

    @Test("A pickle calling os.system is refused by name and nothing runs")
    func osSystem() throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let error = try #require(openError("os_system.pt"))
        #expect(error.description.contains("os.system"))
        #expect(error.description.contains("refused for safety"))
        #expect(error.description.contains("Nothing was executed"))
        #expect(error.tensor == "os_system/data.pkl")
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test("STACK_GLOBAL builtins.exec and a Popen storage type are refused")
    func otherGlobals() throws {
        let exec = try #require(openError("builtins_exec.pt"))
        #expect(exec.description.contains("builtins.exec"))
        let popen = try #require(openError("bad_storage_type.pt"))
        #expect(popen.description.contains("subprocess.Popen"))
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test("Truncated files, short and missing records, views outside their storage")
    func brokenFiles() throws {
        let truncated = try #require(openError("truncated.pt"))
        #expect(truncated.description.contains("ZIP"))
        let short = try #require(openError("short_record.pt"))
        #expect(short.tensor == "features")
        #expect(short.description.contains("short_record/data/0"))
        #expect(short.description.contains("only 60 bytes"))
        let missing = try #require(openError("missing_record.pt"))
        #expect(missing.tensor == "effects")
        #expect(missing.description.contains("missing"))
        let outside = try #require(openError("view_out_of_bounds.pt"))
        #expect(outside.tensor == "t")
        #expect(outside.description.contains("reaches element 4 of a storage of 4 elements"))
    }

    @Test("Other formats get a message that says what they are")
    func otherFormats() throws {
        #expect(openError("legacy.pt")?.description.contains("pre-1.6") == true)
        #expect(openError("no_pickle.pt")?.description.contains("data.pkl") == true)
        let npz = expectFormatError { try PyTorchCheckpoint(path: fixturePath("formats/stored.npz")) }
        #expect(npz?.description.contains("data.pkl") == true)
        let safetensors = expectFormatError { try PyTorchCheckpoint(path: fixturePath("formats/model.safetensors")) }
        #expect(safetensors?.description.contains("not a PyTorch checkpoint") == true)
        #expect(expectFormatError { try PyTorchCheckpoint(path: TorchFixtures.path("absent.pt")) } != nil)
    }

    /// Runs a hand-written pickle through the unpickler.
    private func unpickle(_ bytes: [UInt8]) throws -> PickleValue {
        try bytes.withUnsafeBytes { try RestrictedUnpickler.load($0, path: "test.pt", member: "test/data.pkl") }
    }

    @Test("Hand-written pickles: opcodes, memo, limits")
    func handWritten() throws {
        // [1, -2, 70000, "é", 0.5, True, None] via EMPTY_LIST, MARK, APPENDS, BINPUT/BINGET.
        var pickle: [UInt8] = [0x80, 0x02, UInt8(ascii: "]"), UInt8(ascii: "q"), 0, UInt8(ascii: "(")]
        pickle += [
            UInt8(ascii: "K"), 1, UInt8(ascii: "J"), 0xFE, 0xFF, 0xFF, 0xFF, UInt8(ascii: "J"), 0x70, 0x11, 1, 0,
        ]
        pickle += [0x8C, 2, 0xC3, 0xA9, UInt8(ascii: "G"), 0x3F, 0xE0, 0, 0, 0, 0, 0, 0, 0x88, UInt8(ascii: "N")]
        pickle += [UInt8(ascii: "e"), UInt8(ascii: "0"), UInt8(ascii: "h"), 0, UInt8(ascii: ".")]
        guard case .list(let list) = try unpickle(pickle) else {
            Issue.record("expected a list")
            return
        }
        #expect(list.items.count == 7)
        if case .int(let value) = list.items[1] { #expect(value == -2) } else { Issue.record("item 1") }
        if case .int(let value) = list.items[2] { #expect(value == 70000) } else { Issue.record("item 2") }
        if case .string(let text) = list.items[3] { #expect(text == "é") } else { Issue.record("item 3") }
        if case .float(let value) = list.items[4] { #expect(value == 0.5) } else { Issue.record("item 4") }

        // LONG1 with a negative 3-byte value.
        guard case .int(let long) = try unpickle([0x80, 0x02, 0x8A, 3, 0x00, 0x00, 0x80, UInt8(ascii: ".")]) else {
            Issue.record("expected an int")
            return
        }
        #expect(long == -0x80_0000)

        let failures: [(bytes: [UInt8], mentions: String)] = [
            ([0x80, 0x02, UInt8(ascii: "K")], "truncated"),
            ([0x80, 0x02, UInt8(ascii: "h"), 5, UInt8(ascii: ".")], "memo entry 5"),
            ([0x80, 0x02, UInt8(ascii: "t"), UInt8(ascii: ".")], "MARK"),
            ([0x80, 0x02, UInt8(ascii: "a"), UInt8(ascii: ".")], "stack is empty"),
            ([0x80, 0x02, UInt8(ascii: "N"), UInt8(ascii: "N"), UInt8(ascii: ".")], "STOP leaves 2"),
            ([0x80, 0x02, UInt8(ascii: "i")], "opcode 0x69"),
            ([0x80, 0x02, 0x8A, 9] + [UInt8](repeating: 1, count: 9) + [UInt8(ascii: ".")], "64 bits"),
            ([0x80, 0x02, UInt8(ascii: "X"), 0xFF, 0xFF, 0xFF, 0x7F, UInt8(ascii: ".")], "runs past the end"),
            ([0x80, 0x02, 0x8C, 1, 0xFF, UInt8(ascii: ".")], "UTF-8"),
            ([0x80, 0x02, UInt8(ascii: "N"), UInt8(ascii: "N"), UInt8(ascii: "R"), UInt8(ascii: ".")], "callable"),
            (
                [0x80, 0x02, UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: "N"), UInt8(ascii: "s")]
                    + [UInt8(ascii: ".")], "dict key"
            ),
        ]
        for failure in failures {
            let error = expectFormatError("\(failure.bytes)") { try unpickle(failure.bytes) }
            #expect(
                error?.description.contains(failure.mentions) == true,
                "\(failure.bytes): \(error?.description ?? "no error")")
        }
        let deep = [0x80, 0x02] + [UInt8](repeating: UInt8(ascii: "("), count: 20_000)
        #expect(expectFormatError { try unpickle(deep) }?.description.contains("nest") == true)
    }

    @Test("Self-referencing containers cannot make flattening recurse forever")
    func selfReference() throws {
        // l = []; l.append(l)  → EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP
        let pickle: [UInt8] =
            [0x80, 0x02, UInt8(ascii: "]"), UInt8(ascii: "q"), 0, UInt8(ascii: "h"), 0]
            + [UInt8(ascii: "a"), UInt8(ascii: ".")]
        let archive = try makeArchive(pickle: pickle)
        let error = expectFormatError { try PyTorchCheckpoint(mapping: MappedFile(copying: archive, path: "loop.pt")) }
        #expect(error?.description.contains("nest") == true)
    }

    /// A stored-only ZIP holding `loop/data.pkl` = `pickle`.
    private func makeArchive(pickle: [UInt8]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try ZipTestArchive.write([("loop/data.pkl", pickle)]) { bytes += $0 }
        return bytes
    }
}

/// Minimal stored ZIP writing for tests (local headers, central directory, end record; no ZIP64).
enum ZipTestArchive {
    static func write(_ members: [(name: String, data: [UInt8])], sink: ([UInt8]) throws -> Void) throws {
        var output: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in members {
            let offset = output.count
            let crc = Zlib.crc32(data)
            let nameBytes = Array(name.utf8)
            var local: [UInt8] = []
            local.appendLittleEndian(UInt32(0x0403_4B50))
            local.appendLittleEndian(UInt16(20))
            local.appendLittleEndian(UInt16(0))
            local.appendLittleEndian(UInt16(0))
            local.appendLittleEndian(UInt32(0))
            local.appendLittleEndian(crc)
            local.appendLittleEndian(UInt32(data.count))
            local.appendLittleEndian(UInt32(data.count))
            local.appendLittleEndian(UInt16(nameBytes.count))
            local.appendLittleEndian(UInt16(0))
            output += local + nameBytes + data
            central.appendLittleEndian(UInt32(0x0201_4B50))
            central.appendLittleEndian(UInt16(20))
            central.appendLittleEndian(UInt16(20))
            central += [0, 0, 0, 0]
            central.appendLittleEndian(UInt32(0))
            central.appendLittleEndian(crc)
            central.appendLittleEndian(UInt32(data.count))
            central.appendLittleEndian(UInt32(data.count))
            central.appendLittleEndian(UInt16(nameBytes.count))
            central += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            central.appendLittleEndian(UInt32(offset))
            central += nameBytes
        }
        let directoryOffset = output.count
        output += central
        output.appendLittleEndian(UInt32(0x0605_4B50))
        output += [0, 0, 0, 0]
        output.appendLittleEndian(UInt16(members.count))
        output.appendLittleEndian(UInt16(members.count))
        output.appendLittleEndian(UInt32(central.count))
        output.appendLittleEndian(UInt32(directoryOffset))
        output += [0, 0]
        try sink(output)
    }
}
