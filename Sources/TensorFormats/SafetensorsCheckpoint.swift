import Foundation
import SteeringCore

/// A Hugging Face checkpoint directory: `model.safetensors.index.json` (whose `weight_map` names the shard
/// holding each tensor) with its shards, or, without an index, every `*.safetensors` file in the directory
/// (normally a single `model.safetensors`).
///
/// Every shard is mapped and validated in `init`. Sendable: nothing changes after `init`.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    /// The checkpoint directory.
    public let directory: String
    /// Every tensor name: shards in file-name order, and data-offset order within a shard.
    public let tensorNames: [String]
    /// The opened shards, in file-name order.
    public let files: [SafetensorsFile]
    private let owner: [String: SafetensorsFile]

    /// The name of the index file Hugging Face writes beside sharded checkpoints.
    public static let indexFileName = "model.safetensors.index.json"

    /// Opens the checkpoint in `directory`.
    /// - Throws: ``TensorFormatError`` when the directory is missing, holds no safetensors files, the index
    ///   is malformed, a shard is missing or invalid, a tensor the index lists is not in its shard, or two
    ///   files hold the same tensor.
    public init(directory: String) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw TensorFormatError(path: directory, "no such directory; give the checkpoint directory")
        }
        guard isDirectory.boolValue else {
            throw TensorFormatError(path: directory, "is a file, not a checkpoint directory; give its directory")
        }
        let indexPath = (directory as NSString).appendingPathComponent(Self.indexFileName)
        var owner: [String: SafetensorsFile] = [:]
        var names: [String] = []
        var files: [SafetensorsFile] = []
        if FileManager.default.fileExists(atPath: indexPath) {
            let weightMap = try Self.readWeightMap(indexPath)
            let shardNames = Set(weightMap.map(\.shard)).sorted()
            var shards: [String: SafetensorsFile] = [:]
            for shard in shardNames {
                let shardPath = (directory as NSString).appendingPathComponent(shard)
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    let example = weightMap.first { $0.shard == shard }?.tensor ?? "?"
                    throw TensorFormatError(
                        path: shardPath, tensor: example,
                        "this shard, named in \(Self.indexFileName), is missing; download it again")
                }
                let file = try SafetensorsFile(path: shardPath)
                shards[shard] = file
                files.append(file)
            }
            for (tensor, shard) in weightMap {
                guard let file = shards[shard] else { continue }
                guard file.contains(tensor) else {
                    throw TensorFormatError(
                        path: file.path, tensor: tensor,
                        "\(Self.indexFileName) places this tensor in this shard, but the shard does not hold it; "
                            + "the download is incomplete or the index belongs to another checkpoint")
                }
                owner[tensor] = file
            }
            for file in files { names += file.tensorNames.filter { owner[$0] === file } }
        } else {
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw TensorFormatError(path: directory, "cannot list the directory: \(error.localizedDescription)")
            }
            // Hugging Face names a single-file checkpoint model.safetensors; other *.safetensors files
            // beside it (reference outputs, adapters) are not part of the model. Without it, every
            // *.safetensors file in the directory is taken as a shard.
            let shards =
                entries.contains("model.safetensors")
                ? ["model.safetensors"] : entries.filter { $0.hasSuffix(".safetensors") }.sorted()
            guard !shards.isEmpty else {
                throw TensorFormatError(
                    path: directory,
                    "holds neither \(Self.indexFileName) nor any *.safetensors file; is this the checkpoint directory?")
            }
            for shard in shards {
                let file = try SafetensorsFile(path: (directory as NSString).appendingPathComponent(shard))
                files.append(file)
                for tensor in file.tensorNames {
                    if let other = owner[tensor] {
                        throw TensorFormatError(
                            path: file.path, tensor: tensor,
                            "this tensor is also in \(other.path); without an index the files must not overlap")
                    }
                    owner[tensor] = file
                    names.append(tensor)
                }
            }
        }
        self.files = files
        self.owner = owner
        self.tensorNames = names
    }

    /// Reads `weight_map` from the index file as (tensor, shard file name) pairs in file order.
    private static func readWeightMap(_ indexPath: String) throws -> [(tensor: String, shard: String)] {
        let mapping = try MappedFile(path: indexPath)
        let root: JSONValue
        do {
            root = try JSONScanner.parse(mapping.bytes, refusingRepeatedKeys: true)
        } catch {
            throw TensorFormatError(
                path: indexPath, "is not valid JSON (at byte \(error.offset): \(error.problem))")
        }
        guard root.members != nil, let weightMap = root["weight_map"]
        else { throw TensorFormatError(path: indexPath, "has no \"weight_map\" object") }
        guard let pairs = weightMap.members else {
            throw TensorFormatError(path: indexPath, "\"weight_map\" must be an object, found \(weightMap.kindName)")
        }
        var result: [(tensor: String, shard: String)] = []
        for pair in pairs {
            let tensor = pair.keyText
            guard let shard = pair.value.text else {
                throw TensorFormatError(
                    path: indexPath, tensor: tensor, "its weight_map value must be a shard file name (a string)")
            }
            guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains("..") else {
                throw TensorFormatError(
                    path: indexPath, tensor: tensor,
                    "its shard \"\(shard)\" is not a file name inside the checkpoint directory")
            }
            result.append((tensor, shard))
        }
        guard !result.isEmpty else { throw TensorFormatError(path: indexPath, "\"weight_map\" is empty") }
        return result
    }

    /// Whether some shard holds tensor `name`.
    public func contains(_ name: String) -> Bool { owner[name] != nil }

    /// The shard holding tensor `name`.
    /// - Throws: ``TensorFormatError`` naming the directory and the missing tensor.
    public func file(containing name: String) throws -> SafetensorsFile {
        guard let file = owner[name] else {
            throw TensorFormatError(path: directory, tensor: name, missingTensorProblem(name, available: tensorNames))
        }
        return file
    }

    /// The header entry of tensor `name` (its `dataRange` is within its shard).
    public func info(_ name: String) throws -> TensorInfo { try file(containing: name).info(name) }

    /// The tensor's values as `Float` (F32, F16, BF16 or F64 on disk).
    public func floats(_ name: String) throws -> [Float] { try file(containing: name).floats(name) }

    /// A zero-copy view of an aligned F32 tensor, or nil (see ``SafetensorsFile/float32Pointer(_:)``).
    public func float32Pointer(_ name: String) throws -> UnsafeBufferPointer<Float>? {
        try file(containing: name).float32Pointer(name)
    }

    /// The tensor's bytes inside its shard's map.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer { try file(containing: name).rawBytes(name) }
}
