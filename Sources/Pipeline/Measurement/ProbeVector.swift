import SteeringCore

/// A unit-norm steering direction to be measured, with the recipe of its `vector` artifact.
public struct ProbeVector: Sendable {
    /// The direction, normalised to unit length.
    public var values: [Float]
    /// Recipe of the `vector` artifact holding `values`; its key identifies the vector in every
    /// effect recipe.
    public var recipe: Recipe
    /// Human label for progress and reports (e.g. `decoder row 123`).
    public var label: String

    /// Normalises `values` and records where they came from.
    public init(values: [Float], recipe: Recipe, label: String) throws {
        try Vector.checkFinite(values, "probe vector \(label)")
        let norm = Vector.norm(values)
        guard norm > 0 else {
            throw PipelineError.invalidInput(what: "probe vector \(label)", problem: "is zero; it has no direction")
        }
        self.values = values.map { $0 / norm }
        self.recipe = recipe
        self.label = label
    }

    /// The key of the vector artifact.
    public var key: ContentDigest { recipe.key }

    /// Unit rows `range` of a dictionary's decoder (the method's probe set: rows of a wider SAE at the same site).
    public static func decoderRows(
        of dictionary: any FeatureDictionary, range: Range<Int>
    ) throws -> [ProbeVector] {
        let count = dictionary.descriptor.featureCount
        guard range.lowerBound >= 0, range.upperBound <= count, !range.isEmpty else {
            throw PipelineError.invalidInput(
                what: "decoder-row range \(range.lowerBound)-\(range.upperBound)",
                problem: "must be a non-empty part of 0..<\(count) for \(dictionary.descriptor.name)")
        }
        var out = [ProbeVector]()
        out.reserveCapacity(range.count)
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + 1024, range.upperBound)
            let rows = try dictionary.decoderRows(Array(start..<end))
            for (i, row) in (start..<end).enumerated() {
                let recipe = Recipe(
                    kind: .vector, algorithm: "decoder-row", version: 1,
                    parameters: ["row": .int(row), "normalized": true],
                    inputs: ["dictionary": dictionary.descriptor.fingerprint])
                out.append(try ProbeVector(values: rows.row(i), recipe: recipe, label: "decoder row \(row)"))
            }
            start = end
        }
        return out
    }

    /// The rows of a matrix of vectors read from a file whose content digest is `source`.
    public static func rows(of matrix: Matrix, source: ContentDigest, label: String) throws -> [ProbeVector] {
        try (0..<matrix.rows).map { row in
            let recipe = Recipe(
                kind: .vector, algorithm: "file-row", version: 1, parameters: ["row": .int(row), "normalized": true],
                inputs: ["file": source])
            return try ProbeVector(values: matrix.row(row), recipe: recipe, label: "\(label) row \(row)")
        }
    }
}

/// Which part of a job this process does: items whose index modulo `count` equals `index`.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw PipelineError.invalidInput(what: "shard \(index)/\(count)", problem: "needs 0 ≤ i < N and N ≥ 1")
        }
        self.index = index
        self.count = count
    }

    /// The whole job.
    public static let all = try! Shard(index: 0, count: 1)

    /// Parses `i/N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw PipelineError.invalidInput(what: "--shard '\(text)'", problem: "expected i/N, e.g. 0/4")
        }
        try self.init(index: i, count: n)
    }

    /// The shard from a scheduler's environment: Slurm job arrays (`SLURM_ARRAY_TASK_ID` with
    /// `SLURM_ARRAY_TASK_COUNT`, minus `SLURM_ARRAY_TASK_MIN` when set) or Kubernetes indexed Jobs
    /// (`JOB_COMPLETION_INDEX` with `STEER_SHARD_COUNT`). `nil` when neither is present.
    public static func fromEnvironment(_ environment: [String: String]) throws -> Shard? {
        if let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init) {
            guard let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) else {
                throw PipelineError.invalidInput(
                    what: "SLURM_ARRAY_TASK_ID", problem: "is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard i/N")
            }
            let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
            return try Shard(index: id - minimum, count: count)
        }
        if let id = environment["JOB_COMPLETION_INDEX"].flatMap(Int.init) {
            guard let count = environment["STEER_SHARD_COUNT"].flatMap(Int.init) else {
                throw PipelineError.invalidInput(
                    what: "JOB_COMPLETION_INDEX",
                    problem: "is set; also set STEER_SHARD_COUNT to the Job's completions, or pass --shard i/N")
            }
            return try Shard(index: id, count: count)
        }
        return nil
    }

    public func contains(_ item: Int) -> Bool { item % count == index }
    public var description: String { "\(index)/\(count)" }
}
