import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

@Suite("NamedTensorFile: one API over safetensors, PyTorch checkpoints and .npz")
struct PyTorchNamedTensorFileTests {
    @Test("The extension chooses the reader, and every reader gives the same values")
    func byExtension() throws {
        let checkpoint = try NamedTensorFile.open(path: TorchFixtures.path("effects.pt"))
        #expect(checkpoint.format == .pytorch)
        #expect(checkpoint.tensorNames == ["features", "effects"])
        #expect(try checkpoint.shape(of: "effects") == [5, 10])
        let expected = try NamedTensorFile.open(path: TorchFixtures.path("effects.expected.npz"))
        #expect(expected.format == .npz)
        #expect(try checkpoint.floats("effects") == (try expected.floats("effects")))
        #expect(try expected.shape(of: "features") == [5, 6])

        try withTemporaryDirectory { directory in
            var writer = SafetensorsWriter()
            try writer.add("effects", floats: try checkpoint.floats("effects"), shape: [5, 10])
            try writer.add("ids", int64s: [3, -4], shape: [2])
            let path = directory + "/effects.safetensors"
            try writer.write(to: path)
            let safetensors = try NamedTensorFile.open(path: path)
            #expect(safetensors.format == .safetensors)
            #expect(safetensors.path == path)
            #expect(try safetensors.floats("effects") == (try checkpoint.floats("effects")))
            #expect(try safetensors.int64s("ids") == [3, -4])
            #expect(safetensors.contains("ids") && !safetensors.contains("features"))
        }
        let dtypes = try NamedTensorFile.open(path: TorchFixtures.path("dtypes.pt"))
        #expect(try dtypes.int64s("i8") == [-128, 127, 0])
        #expect(NamedTensorFile.Format(path: "x/pytorch_model.BIN") == .pytorch)
        #expect(NamedTensorFile.Format(path: "model.pth") == .pytorch)
        #expect(NamedTensorFile.Format(path: "vector.npy") == nil)
    }

    @Test("Row ranges read the same values from every format")
    func rows() throws {
        let checkpoint = try NamedTensorFile.open(path: TorchFixtures.path("effects.pt"))
        let npz = try NamedTensorFile.open(path: TorchFixtures.path("effects.expected.npz"))
        let all = try checkpoint.floats("effects")
        try withTemporaryDirectory { directory in
            var writer = SafetensorsWriter()
            try writer.add("effects", floats: all, shape: [5, 10], as: .bf16)
            try writer.add("f32", floats: all, shape: [5, 10])
            try writer.write(to: directory + "/e.safetensors")
            let safetensors = try NamedTensorFile.open(path: directory + "/e.safetensors")
            let bf16 = try safetensors.floats("effects")
            for range in [0..<5, 1..<3, 4..<5, 2..<2] {
                let expected = Array(all[(range.lowerBound * 10)..<(range.upperBound * 10)])
                #expect(try checkpoint.floats("effects", rows: range) == expected)
                #expect(try npz.floats("effects", rows: range) == expected)
                #expect(try safetensors.floats("f32", rows: range) == expected)
                #expect(
                    try safetensors.floats("effects", rows: range)
                        == Array(bf16[(range.lowerBound * 10)..<(range.upperBound * 10)]))
            }
            for file in [checkpoint, npz, safetensors] {
                let error = expectFormatError {
                    try file.floats(file.format == .safetensors ? "f32" : "effects", rows: 3..<6)
                }
                #expect(error?.description.contains("outside 0..<5") == true)
            }
        }
    }

    @Test("Files without a known extension are recognised by content")
    func byContent() throws {
        try withTemporaryDirectory { directory in
            for (source, format) in [
                (TorchFixtures.path("adapter.pt"), NamedTensorFile.Format.pytorch),
                (TorchFixtures.path("adapter.expected.npz"), .npz),
                (fixturePath("formats/model.safetensors"), .safetensors),
            ] {
                let copy = directory + "/download-\(format.rawValue)"
                try FileManager.default.copyItem(atPath: source, toPath: copy)
                let file = try NamedTensorFile.open(path: copy)
                #expect(file.format == format)
                #expect(!file.tensorNames.isEmpty)
            }
        }
    }

    @Test("Errors name the file and tensor in every format")
    func errors() throws {
        let checkpoint = try NamedTensorFile.open(path: TorchFixtures.path("adapter.pt"))
        let missing = expectFormatError { try checkpoint.floats("w") }
        #expect(missing?.path == TorchFixtures.path("adapter.pt"))
        #expect(missing?.tensor == "w")
        let npz = try NamedTensorFile.open(path: TorchFixtures.path("dtypes.expected.npz"))
        let wrongType = expectFormatError { try npz.int64s("f32") }
        #expect(wrongType?.path == TorchFixtures.path("dtypes.expected.npz"))
        #expect(expectFormatError { try NamedTensorFile.open(path: TorchFixtures.path("os_system.pt")) } != nil)
        #expect(expectFormatError { try NamedTensorFile.open(path: "/nonexistent/x.safetensors") } != nil)
    }
}
