import ArtifactStore
import Foundation
import SteeringCore
import TensorFormats
import Testing

@Suite("Export")
struct ExportTests {
    @Test("f32 and i32 artifacts export to .npy and .safetensors with exact bytes and metadata")
    func tensors() throws {
        try withTemporaryStore { store, path in
            let values: [Float] = [1.5, -2, .pi, 0, 7, 8]
            let r = recipe("m", kind: .activations, parameters: ["lambda": 0.5])
            let key = try store.put(recipe: r, floats: values, shape: [2, 3])
            let ints = try store.put(recipe: recipe("i", kind: .dataset), int32s: [3, -4], shape: [2])

            #expect(try store.export(key, to: path + "/m.npy") == .npy)
            let array = try NPY.read(path: path + "/m.npy")
            #expect(array.shape == [2, 3])
            #expect(array.dtype == .f32)
            #expect(try array.floats() == values)

            try store.export(ints, to: path + "/i.npy")
            #expect(try NPY.read(path: path + "/i.npy").int64s() == [3, -4])

            try store.export(key, to: path + "/m.safetensors", tensorName: "W")
            let file = try SafetensorsFile(path: path + "/m.safetensors")
            #expect(file.tensorNames == ["W"])
            #expect(try file.floats("W") == values)
            #expect(try file.info("W").shape == [2, 3])
            #expect(file.metadata["key"] == key.hex)
            #expect(file.metadata["kind"] == "activations")
            #expect(file.metadata["recipe"] == r.canonicalValue.canonicalJSON)
        }
    }

    @Test("JSON artifacts export to .json only; other mismatches are explained")
    func json() throws {
        try withTemporaryStore { store, path in
            let key = try store.put(recipe: recipe("j", kind: .scores), json: ["b": 2, "a": 1])
            try store.export(key, to: path + "/s.json")
            #expect(try String(contentsOfFile: path + "/s.json", encoding: .utf8) == #"{"a":1,"b":2}"#)
            expectStoreError({ try store.export(key, to: path + "/s.npy") }) {
                if case .exportFailed(_, let problem) = $0 { problem.contains(".json") } else { false }
            }
            let vector = try store.put(recipe: recipe("v"), floats: [1], shape: [1])
            expectStoreError({ try store.export(vector, to: path + "/v.json") }) {
                if case .exportFailed = $0 { true } else { false }
            }
            expectStoreError({ try store.export(vector, to: path + "/v.txt") }) {
                if case .exportFailed(_, let problem) = $0 { problem.contains(".safetensors") } else { false }
            }
            expectStoreError({ try store.export(recipe("absent").key, to: path + "/x.npy") }) {
                if case .unknownKey = $0 { true } else { false }
            }
            expectStoreError({ try store.export(vector, to: path + "/no/such/dir/v.npy") }) {
                if case .exportFailed = $0 { true } else { false }
            }
        }
    }
}
