import Foundation
import SteeringCore

/// How the fixed calibration sequences are cut from a user-supplied text (method.md §2.2): documents
/// are encoded without BOS and joined with EOS, cut into pieces of `sequenceLength − 1` tokens (the
/// last partial piece dropped), each piece gets BOS in front, the pieces are shuffled with `seed`, and
/// the first `batchCount × batchSize` are kept.
public struct CalibrationSetSpec: Sendable, Hashable, Codable {
    public var sequenceLength: Int
    public var batchSize: Int
    public var batchCount: Int
    public var seed: UInt64

    public init(sequenceLength: Int = 32, batchSize: Int = 64, batchCount: Int = 2, seed: UInt64 = 42) {
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.batchCount = batchCount
        self.seed = seed
    }

    var recipeValue: RecipeValue {
        [
            "sequenceLength": .int(sequenceLength), "batchSize": .int(batchSize), "batchCount": .int(batchCount),
            "seed": .string(String(seed)),
        ]
    }
}

/// The token sequences used to calibrate steering scales, and the digest that identifies them.
public struct CalibrationSet: Sendable {
    /// `batchCount` batches of `batchSize` sequences of `sequenceLength` tokens (BOS first).
    public let batches: [[[Int32]]]
    public let spec: CalibrationSetSpec
    /// Digest of the source file; enters recipes.
    public let sourceDigest: ContentDigest

    /// Reads documents from `path`: JSONL (one object per line with a `text` field) when the file
    /// ends in `.jsonl` or its first non-blank character is `{`, else plain text with documents
    /// separated by blank lines.
    public init(path: String, model: any ModelBackend, spec: CalibrationSetSpec = CalibrationSetSpec()) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError.invalidInput(
                what: "calibration file \(path)", problem: "cannot be read; check the path")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError.invalidInput(what: "calibration file \(path)", problem: "is not UTF-8 text")
        }
        let documents = try Self.documents(in: text, path: path)
        try self.init(
            documents: documents, model: model, spec: spec, sourceDigest: ContentDigest(of: [UInt8](data)), path: path)
    }

    /// Builds the set from documents already in memory.
    public init(
        documents: [String], model: any ModelBackend, spec: CalibrationSetSpec, sourceDigest: ContentDigest,
        path: String = "calibration text"
    ) throws {
        guard spec.sequenceLength >= 2, spec.batchSize > 0, spec.batchCount > 0 else {
            throw PipelineError.invalidInput(
                what: "calibration settings",
                problem: "sequence length ≥ 2, batch size ≥ 1 and batch count ≥ 1 are needed")
        }
        var stream = [Int32]()
        for (i, document) in documents.enumerated() {
            if i > 0 { stream.append(model.descriptor.eosToken) }
            stream += model.encode(document, addBOS: false)
        }
        let piece = spec.sequenceLength - 1
        var pieces = stride(from: 0, to: stream.count - piece + 1, by: piece).map { start in
            [model.descriptor.bosToken] + Array(stream[start..<(start + piece)])
        }
        let needed = spec.batchSize * spec.batchCount
        guard pieces.count >= needed else {
            throw PipelineError.invalidInput(
                what: "calibration file \(path)",
                problem: "yields \(pieces.count) sequences of \(spec.sequenceLength) tokens but \(needed) are needed "
                    + "(\(spec.batchCount) batches × \(spec.batchSize)); give more text or lower --calibration-batches")
        }
        var generator = SplitMix64(seed: spec.seed)
        for i in stride(from: pieces.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            pieces.swapAt(i, j)
        }
        batches = (0..<spec.batchCount).map { b in Array(pieces[(b * spec.batchSize)..<((b + 1) * spec.batchSize)]) }
        self.spec = spec
        self.sourceDigest = sourceDigest
    }

    /// A set from token sequences already cut (for benchmarks on models without a tokenizer);
    /// `sourceDigest` identifies them in recipes.
    public init(batches: [[[Int32]]], sourceDigest: ContentDigest) throws {
        guard let first = batches.first?.first, !batches.contains(where: { $0.isEmpty }),
            batches.allSatisfy({ $0.allSatisfy { $0.count == first.count } }), first.count >= 2
        else {
            throw PipelineError.invalidInput(
                what: "calibration batches", problem: "need ≥ 1 non-empty batch of equal-length sequences (≥ 2 tokens)")
        }
        self.batches = batches
        spec = CalibrationSetSpec(sequenceLength: first.count, batchSize: batches[0].count, batchCount: batches.count)
        self.sourceDigest = sourceDigest
    }

    /// Splits a file's text into documents.
    static func documents(in text: String, path: String) throws -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw PipelineError.invalidInput(
                what: "calibration file \(path)", problem: "is empty; give a text or JSONL file")
        }
        if path.hasSuffix(".jsonl") || trimmed.hasPrefix("{") {
            var documents = [String]()
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let content = line.trimmingCharacters(in: .whitespaces)
                if content.isEmpty { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(content.utf8)) as? [String: Any],
                    let document = object["text"] as? String
                else {
                    throw PipelineError.invalidInput(
                        what: "calibration file \(path), line \(number + 1)",
                        problem: "is not a JSON object with a string field \"text\"")
                }
                documents.append(document)
            }
            return documents
        }
        return text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
    }

    /// What identifies this set in recipes.
    var recipeValue: RecipeValue {
        var value = spec.recipeValue
        if case .object(var fields) = value {
            fields["source"] = .string(sourceDigest.hex)
            value = .object(fields)
        }
        return value
    }
}
