import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats

/// A fresh temporary directory with an empty store at `<dir>/store`, removed after `body`.
func withTemporaryStore<R>(_ body: (ArtifactStore, String) throws -> R) throws -> R {
    let directory = try makeTemporaryDirectory("estimators-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try ArtifactStore(path: directory + "/store")
    return try body(store, directory)
}

/// Random inputs `[rows, d]` and effects `[rows, s]`.
func randomPairs(rows: Int, d: Int, s: Int, seed: UInt64) -> (inputs: Matrix, effects: Matrix) {
    var random = SeededGenerator(seed: seed)
    return (random.matrix(rows: rows, columns: d), random.matrix(rows: rows, columns: s))
}

/// Writes an effect dataset file in the authors' layout (`features`, `effects`).
func writeDatasetFile(
    _ path: String, inputs: Matrix, effects: Matrix, dtype: TensorDType = .f32, extra: [String: Matrix] = [:]
) throws {
    var writer = SafetensorsWriter()
    try writer.add("features", floats: inputs.values, shape: inputs.shape, as: dtype)
    try writer.add("effects", floats: effects.values, shape: effects.shape, as: dtype)
    for (name, matrix) in extra.sorted(by: { $0.key < $1.key }) {
        try writer.add(name, floats: matrix.values, shape: matrix.shape)
    }
    try writer.write(to: path)
}

/// The values a Float takes after a round trip through `dtype`.
func rounded(_ values: [Float], through dtype: TensorDType) throws -> [Float] {
    var writer = SafetensorsWriter()
    try writer.add("x", floats: values, shape: [values.count], as: dtype)
    let file = try SafetensorsFile(mapping: MappedFile(copying: try writer.serialized(), path: "memory"))
    return try file.floats("x")
}
