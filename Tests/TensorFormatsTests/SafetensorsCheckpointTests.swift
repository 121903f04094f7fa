import Foundation
import Testing

@testable import TensorFormats

@Suite("Hugging Face checkpoint directories")
struct SafetensorsCheckpointTests {
    /// Writes two shards and an index like HF's `save_pretrained`; returns the directory contents' names.
    private func writeShardedCheckpoint(in directory: String, indexText: String? = nil) throws {
        var first = SafetensorsWriter(metadata: ["format": "pt"])
        try first.add("model.embed_tokens.weight", floats: (0..<12).map(Float.init), shape: [3, 4])
        try first.add("model.layers.0.input_layernorm.weight", floats: [1, 2, 3, 4], shape: [4], as: .bf16)
        try first.write(to: directory + "/model-00001-of-00002.safetensors")
        var second = SafetensorsWriter(metadata: ["format": "pt"])
        try second.add("model.norm.weight", floats: [0.5, -0.5, 0.25, 8], shape: [4], as: .f16)
        try second.write(to: directory + "/model-00002-of-00002.safetensors")
        let index =
            indexText ?? """
                {
                  "metadata": {"total_size": 72},
                  "weight_map": {
                    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                    "model.layers.0.input_layernorm.weight": "model-00001-of-00002.safetensors",
                    "model.norm.weight": "model-00002-of-00002.safetensors"
                  }
                }
                """
        try index.write(
            toFile: directory + "/" + SafetensorsCheckpoint.indexFileName, atomically: true, encoding: .utf8)
    }

    @Test("A sharded checkpoint opens through its index")
    func sharded() throws {
        try withTemporaryDirectory { directory in
            try writeShardedCheckpoint(in: directory)
            let checkpoint = try SafetensorsCheckpoint(directory: directory)
            #expect(checkpoint.files.count == 2)
            #expect(
                Set(checkpoint.tensorNames) == [
                    "model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.norm.weight",
                ])
            #expect(try checkpoint.floats("model.embed_tokens.weight") == (0..<12).map(Float.init))
            #expect(try checkpoint.floats("model.layers.0.input_layernorm.weight") == [1, 2, 3, 4])
            #expect(try checkpoint.floats("model.norm.weight") == [0.5, -0.5, 0.25, 8])
            #expect(try checkpoint.info("model.norm.weight").dtype == .f16)
            #expect(
                try checkpoint.file(containing: "model.norm.weight").path.hasSuffix("model-00002-of-00002.safetensors"))
            let pointer = try #require(try checkpoint.float32Pointer("model.embed_tokens.weight"))
            #expect(pointer[11] == 11)
            #expect(try checkpoint.float32Pointer("model.norm.weight") == nil)
            let missing = expectFormatError { try checkpoint.floats("lm_head.weight") }
            #expect(missing?.tensor == "lm_head.weight")
            #expect(missing?.path == directory)
        }
    }

    @Test("Without an index, model.safetensors (else every *.safetensors file) is used")
    func singleFile() throws {
        try withTemporaryDirectory { directory in
            var writer = SafetensorsWriter()
            try writer.add("w", floats: [1, 2], shape: [2])
            try writer.write(to: directory + "/model.safetensors")
            let checkpoint = try SafetensorsCheckpoint(directory: directory)
            #expect(checkpoint.tensorNames == ["w"])
            #expect(try checkpoint.floats("w") == [1, 2])
            // Other safetensors files beside model.safetensors (reference outputs, adapters) are ignored.
            try writer.write(to: directory + "/copy.safetensors")
            #expect(try SafetensorsCheckpoint(directory: directory).tensorNames == ["w"])
            // Without model.safetensors every *.safetensors file is a shard, and they must not overlap.
            try FileManager.default.moveItem(
                atPath: directory + "/model.safetensors", toPath: directory + "/a.safetensors")
            let duplicate = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(duplicate?.tensor == "w")
        }
    }

    @Test("A missing shard is named, with a tensor it should hold")
    func missingShard() throws {
        try withTemporaryDirectory { directory in
            try writeShardedCheckpoint(in: directory)
            try FileManager.default.removeItem(atPath: directory + "/model-00002-of-00002.safetensors")
            let error = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(error?.path.hasSuffix("model-00002-of-00002.safetensors") == true)
            #expect(error?.tensor == "model.norm.weight")
            #expect(error?.problem.contains("missing") == true)
        }
    }

    @Test("A truncated shard is refused, naming the shard and the tensor cut off")
    func truncatedShard() throws {
        try withTemporaryDirectory { directory in
            try writeShardedCheckpoint(in: directory)
            let shard = directory + "/model-00001-of-00002.safetensors"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
            try bytes.prefix(bytes.count - 4).write(to: URL(fileURLWithPath: shard))
            let error = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(error?.path == shard)
            // The BF16 tensor is laid out after the F32 one, so it is the one cut short.
            #expect(error?.tensor == "model.layers.0.input_layernorm.weight")
        }
    }

    @Test("An index naming a tensor its shard lacks is refused")
    func tensorNotInShard() throws {
        try withTemporaryDirectory { directory in
            try writeShardedCheckpoint(
                in: directory,
                indexText: #"{"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}}"#)
            let error = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(error?.tensor == "model.norm.weight")
            #expect(error?.path.hasSuffix("model-00001-of-00002.safetensors") == true)
        }
    }

    @Test(
        "Malformed index files are refused",
        arguments: [
            "{", "[]", #"{"metadata": {}}"#, #"{"weight_map": []}"#, #"{"weight_map": {"a": 3}}"#,
            #"{"weight_map": {}}"#, #"{"weight_map": {"a": "../outside.safetensors"}}"#,
        ])
    func malformedIndex(text: String) throws {
        try withTemporaryDirectory { directory in
            try writeShardedCheckpoint(in: directory, indexText: text)
            let error = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(error?.path.hasSuffix(SafetensorsCheckpoint.indexFileName) == true)
        }
    }

    @Test("A missing directory, a file, and a directory without weights are refused")
    func directoryProblems() throws {
        #expect(
            expectFormatError { try SafetensorsCheckpoint(directory: "/nonexistent/ckpt") }?.problem
                .contains("no such directory") == true)
        expectFormatError { try SafetensorsCheckpoint(directory: FormatFixtures.path("model.safetensors")) }
        try withTemporaryDirectory { directory in
            let error = expectFormatError { try SafetensorsCheckpoint(directory: directory) }
            #expect(error?.problem.contains("*.safetensors") == true)
        }
    }
}
