import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

/// The checkpoints in Tests/Fixtures/torch, written by torch.save (Tests/Reference/make_torch_fixtures.py), with
/// their expected values (`<stem>.expected.npz`) and dtypes and shapes (`manifest.json`).
enum TorchFixtures {
    static func path(_ name: String) -> String { fixturePath("torch/\(name)") }

    /// manifest.json: stem → flattened name → (dtype, shape).
    static func manifest() throws -> [String: [String: (dtype: String, shape: [Int])]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("manifest.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: [String: Any]]])
        return try root.mapValues { tensors in
            try tensors.mapValues { entry in
                (try #require(entry["dtype"] as? String), try #require(entry["shape"] as? [Int]))
            }
        }
    }

    /// The checkpoints written directly by torch.save.
    static let good = ["adapter", "effects", "dtypes", "views", "shared", "nested", "bare", "parameter"]
}

/// Compares every tensor of `checkpoint` with the expected values of fixture `stem`.
private func expectMatchesExpected(_ checkpoint: PyTorchCheckpoint, stem: String) throws {
    let expected = try NPZ.read(path: TorchFixtures.path("\(stem).expected.npz"))
    let manifest = try #require(try TorchFixtures.manifest()[stem])
    #expect(Set(checkpoint.tensorNames) == Set(manifest.keys), "\(stem): names")
    for name in checkpoint.tensorNames {
        let info = try checkpoint.info(name)
        let entry = try #require(manifest[name])
        #expect(info.dtype.rawValue == entry.dtype, "\(stem).\(name) dtype")
        #expect(info.shape == entry.shape, "\(stem).\(name) shape")
        let array = try expected.array(name)
        if info.dtype.isConvertibleToFloat {
            #expect(bits(try checkpoint.floats(name)) == bits(try array.floats()), "\(stem).\(name) values")
        } else {
            #expect(try checkpoint.int64s(name) == (try array.int64s()), "\(stem).\(name) values")
        }
    }
}

@Suite("PyTorch checkpoints written by torch.save")
struct PyTorchCheckpointTests {
    @Test("Every tensor of every fixture matches torch's own values", arguments: TorchFixtures.good)
    func fixture(stem: String) throws {
        let checkpoint = try PyTorchCheckpoint(path: TorchFixtures.path("\(stem).pt"))
        #expect(checkpoint.archiveName == stem)
        #expect(checkpoint.byteOrder == .little)
        #expect(checkpoint.formatVersion == "3")
        try expectMatchesExpected(checkpoint, stem: stem)
    }

    @Test("The authors' layouts: an adapter state dict and an effects dict, in pickle order")
    func authorsLayouts() throws {
        let adapter = try PyTorchCheckpoint(path: TorchFixtures.path("adapter.pt"))
        #expect(adapter.tensorNames == ["W", "b"])
        #expect(try adapter.info("W").shape == [6, 10])
        #expect(try adapter.info("b").shape == [10])
        let effects = try PyTorchCheckpoint(path: TorchFixtures.path("effects.pt"))
        #expect(effects.tensorNames == ["features", "effects"])
        #expect(try effects.info("features").shape == [5, 6])
        #expect(try effects.info("effects").dtype == .f32)
    }

    @Test("Every storage dtype torch writes is read exactly")
    func dtypes() throws {
        let checkpoint = try PyTorchCheckpoint(path: TorchFixtures.path("dtypes.pt"))
        let dtypes = try Dictionary(
            uniqueKeysWithValues: checkpoint.tensorNames.map { ($0, try checkpoint.info($0).dtype) })
        #expect(
            dtypes == [
                "f32": .f32, "f16": .f16, "bf16": .bf16, "f64": .f64, "i64": .i64, "i32": .i32, "i16": .i16,
                "i8": .i8, "u8": .u8, "bool": .bool,
            ])
        #expect(try checkpoint.int64s("i64") == [0, -1, Int64.max, Int64.min, 1 << 40])
        #expect(try checkpoint.int64s("bool") == [1, 0, 1])
        let halves = try checkpoint.floats("f16")
        #expect(halves[6] == 65504 && halves[4] == .infinity && halves[1].sign == .minus)
        let error = expectFormatError { try checkpoint.floats("i32") }
        #expect(error?.tensor == "i32")
        #expect(error?.description.contains("int64s") == true)
        #expect(expectFormatError { try checkpoint.int64s("f32") } != nil)
    }

    @Test("Strided views are materialised in row-major order and share their storage")
    func views() throws {
        let checkpoint = try PyTorchCheckpoint(path: TorchFixtures.path("views.pt"))
        let base = try checkpoint.floats("base")
        #expect(base == (0..<12).map { Float($0) * 0.5 - 1 })
        let transposed = try checkpoint.info("transposed")
        #expect(transposed.shape == [4, 3] && transposed.strides == [1, 4] && !transposed.isContiguous)
        #expect(transposed.storageKey == (try checkpoint.info("base").storageKey))
        #expect(try checkpoint.floats("transposed") == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map { base[$0] })
        let slice = try checkpoint.info("slice")
        #expect(slice.storageOffset == 4 && slice.strides == [4, 2])
        #expect(try checkpoint.floats("slice") == [base[4], base[6], base[8], base[10]])
        #expect(try checkpoint.floats("row") == Array(base[8..<12]))
        #expect(try checkpoint.info("row").isContiguous)
        #expect(try checkpoint.floats("column") == [base[3], base[7], base[11]])
        #expect(try checkpoint.info("expanded").strides == [0, 1])
        #expect(try checkpoint.floats("expanded") == [base[0], base[1], base[2], base[0], base[1], base[2]])
        #expect(try checkpoint.floats("scalar") == [2.75])
        #expect(try checkpoint.info("scalar").shape == [])
        #expect(try checkpoint.floats("empty").isEmpty)
        #expect(try checkpoint.info("empty").shape == [0, 3])
    }

    @Test("Two tensors viewing one storage")
    func sharedStorage() throws {
        let checkpoint = try PyTorchCheckpoint(path: TorchFixtures.path("shared.pt"))
        let first = try checkpoint.info("first")
        let second = try checkpoint.info("second")
        #expect(first.storageKey == second.storageKey)
        #expect(first.storageElementCount == 20 && second.storageOffset == 4)
        let a = try checkpoint.floats("first")
        let b = try checkpoint.floats("second")
        #expect(Array(a[4..<8]) == Array(b[0..<4]), "the overlapping elements agree")
    }

    @Test("Nested containers flatten to dotted names; non-tensor leaves are skipped")
    func nested() throws {
        let checkpoint = try PyTorchCheckpoint(path: TorchFixtures.path("nested.pt"))
        #expect(checkpoint.tensorNames == ["list.0", "list.1.0", "list.1.1", "tuple.0", "inner.a", "inner.deeper.b"])
        #expect(!checkpoint.contains("epoch"))
        let missing = expectFormatError { try checkpoint.info("epoch") }
        #expect(missing?.description.contains("'list.0'") == true)
        let bare = try PyTorchCheckpoint(path: TorchFixtures.path("bare.pt"))
        #expect(bare.tensorNames == ["tensor"])
        let parameter = try PyTorchCheckpoint(path: TorchFixtures.path("parameter.pt"))
        #expect(parameter.tensorNames == ["p"])
    }

    @Test("Rows of a matrix can be read in pieces, contiguous or not")
    func rows() throws {
        let effects = try PyTorchCheckpoint(path: TorchFixtures.path("effects.pt"))
        let all = try effects.floats("effects")
        #expect(try effects.floats("effects", rows: 1..<3) == Array(all[10..<30]))
        #expect(try effects.floats("effects", rows: 2..<2).isEmpty)
        let views = try PyTorchCheckpoint(path: TorchFixtures.path("views.pt"))
        let transposed = try views.floats("transposed")
        #expect(try views.floats("transposed", rows: 1..<3) == Array(transposed[3..<9]))
        #expect(expectFormatError { try effects.floats("effects", rows: 4..<6) } != nil)
        #expect(expectFormatError { try views.floats("scalar", rows: 0..<1) } != nil)
    }

    @Test("Rewritten archives: the legacy archive/ prefix, big-endian records, deflated members")
    func rewrittenArchives() throws {
        let prefixed = try PyTorchCheckpoint(path: TorchFixtures.path("archive_prefix.pt"))
        #expect(prefixed.archiveName == "archive")
        try expectMatchesExpected(prefixed, stem: "effects")
        let big = try PyTorchCheckpoint(path: TorchFixtures.path("bigendian.pt"))
        #expect(big.byteOrder == .big)
        try expectMatchesExpected(big, stem: "effects")
        #expect(try big.floats("effects", rows: 3..<4) == (try prefixed.floats("effects", rows: 3..<4)))
        let deflated = try PyTorchCheckpoint(path: TorchFixtures.path("deflated.pt"))
        try expectMatchesExpected(deflated, stem: "effects")
    }

    @Test("In-memory bytes open like files")
    func inMemory() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path("adapter.pt"))))
        let checkpoint = try PyTorchCheckpoint(mapping: MappedFile(copying: bytes, path: "memory.pt"))
        #expect(checkpoint.path == "memory.pt")
        try expectMatchesExpected(checkpoint, stem: "adapter")
    }
}
