import Foundation
import SteeringCore
import TensorFormats

/// File formats an artifact can be exported to.
public enum ArtifactExportFormat: String, Sendable, CaseIterable {
    /// NumPy `.npy` (f32, i32 and u8 artifacts): loads with `np.load`.
    case npy
    /// safetensors (f32, i32 and u8 artifacts): one tensor, with the key, kind and recipe in `__metadata__`.
    case safetensors
    /// The JSON text of a `json` artifact.
    case json

    /// The format a file name's extension asks for, or `nil`.
    public init?(path: String) {
        self.init(rawValue: (path as NSString).pathExtension.lowercased())
    }
}

extension ArtifactStore {
    /// Writes the artifact under `key` to a file, atomically.
    ///
    /// Tensors keep their dtype and shape exactly: the file's element bytes are the stored payload.
    /// A safetensors export names its tensor `tensorName` (an `estimator` artifact, `[d_model + 1, d_sae]`,
    /// becomes the two tensors `W` `[d_model, d_sae]` and `b` `[d_sae]` instead) and records `key`, `kind`, `dtype`,
    /// `payloadDigest`, `createdAt` and the canonical `recipe` JSON in `__metadata__`.
    ///
    /// - Parameters:
    ///   - format: The file format; `nil` picks it from the extension of `path`.
    ///   - tensorName: The tensor's name in a safetensors file.
    /// - Returns: The format written.
    /// - Throws: ``ArtifactStoreError/unknownKey(key:path:)`` if there is no such artifact;
    ///   ``ArtifactStoreError/exportFailed(path:problem:)`` if the format does not fit the artifact or the
    ///   file cannot be written.
    @discardableResult
    public func export(
        _ key: ContentDigest, to path: String, format: ArtifactExportFormat? = nil, tensorName: String = "data"
    ) throws -> ArtifactExportFormat {
        guard let format = format ?? ArtifactExportFormat(path: path) else {
            throw ArtifactStoreError.exportFailed(
                path: path, problem: "the extension does not name a format; use .npy, .safetensors or .json")
        }
        guard let artifact = try get(key, verifyingDigest: true) else {
            throw ArtifactStoreError.unknownKey(key: key.hex, path: self.path)
        }
        let header = artifact.header
        do {
            switch (format, header.dtype) {
            case (.json, .json):
                try AtomicFile.write(artifact.payload, to: path)
            case (.json, _):
                throw ArtifactStoreError.exportFailed(
                    path: path,
                    problem: "artifact \(key.short) holds \(header.dtype.rawValue) numbers, not JSON; "
                        + "export it to .npy or .safetensors")
            case (_, .json):
                throw ArtifactStoreError.exportFailed(
                    path: path, problem: "artifact \(key.short) holds JSON; export it to a .json file")
            case (.npy, let dtype):
                let npyType: NPYDType = dtype == .f32 ? .f32 : dtype == .i32 ? .i32 : .u8
                try NPY.write(NDArray(dtype: npyType, shape: header.shape, data: artifact.payload), to: path)
            case (.safetensors, let dtype):
                let tensorType: TensorDType = dtype == .f32 ? .f32 : dtype == .i32 ? .i32 : .u8
                var writer = SafetensorsWriter(metadata: [
                    "key": key.hex, "kind": header.kind.rawValue, "dtype": header.dtype.rawValue,
                    "payloadDigest": header.payloadDigest.hex, "createdAt": header.createdAt,
                    "recipe": header.recipe.canonicalValue.canonicalJSON,
                ])
                if header.kind == .estimator, dtype == .f32, header.shape.count == 2, header.shape[0] >= 2 {
                    // An estimator payload is [d_model + 1, d_sae]: M then b. Export it in the authors' layout.
                    let split = (header.shape[0] - 1) * header.shape[1] * 4
                    let shape = [header.shape[0] - 1, header.shape[1]]
                    try writer.add("W", dtype: .f32, shape: shape, bytes: Array(artifact.payload[..<split]))
                    try writer.add("b", dtype: .f32, shape: [header.shape[1]], bytes: Array(artifact.payload[split...]))
                } else {
                    try writer.add(tensorName, dtype: tensorType, shape: header.shape, bytes: artifact.payload)
                }
                try writer.write(to: path)
            }
        } catch let error as ArtifactStoreError {
            throw error
        } catch {
            throw ArtifactStoreError.exportFailed(path: path, problem: "\(error)")
        }
        return format
    }
}
