import SteeringCore

/// A key present in both stores with different payloads (a non-deterministic computation, or damage).
public struct MergeConflict: Sendable, Hashable {
    /// The artifact key.
    public var key: ContentDigest
    /// Payload digest in this store (kept).
    public var ours: ContentDigest
    /// Payload digest in the other store (not copied).
    public var theirs: ContentDigest

    /// Creates a conflict record.
    public init(key: ContentDigest, ours: ContentDigest, theirs: ContentDigest) {
        self.key = key
        self.ours = ours
        self.theirs = theirs
    }
}

/// An alias present in both stores with different targets.
public struct AliasConflict: Sendable, Hashable {
    /// The alias name.
    public var name: String
    /// Target in this store (kept).
    public var ours: ContentDigest
    /// Target in the other store.
    public var theirs: ContentDigest

    /// Creates a conflict record.
    public init(name: String, ours: ContentDigest, theirs: ContentDigest) {
        self.name = name
        self.ours = ours
        self.theirs = theirs
    }
}

/// The outcome of ``ArtifactStore/merge(from:)``.
public struct MergeReport: Sendable, Equatable {
    /// Keys copied from the other store, in key order.
    public var added: [ContentDigest] = []
    /// Artifacts both stores hold with identical payloads.
    public var alreadyPresent = 0
    /// Keys both stores hold with different payloads; ours were kept.
    public var conflicts: [MergeConflict] = []
    /// Damaged entries of the other store that were not copied (and aliases of it whose target is in
    /// neither store).
    public var rejected: [StoreProblem] = []
    /// Aliases copied from the other store.
    public var aliasesAdded: [String] = []
    /// Aliases both stores hold with different targets; ours were kept.
    public var aliasConflicts: [AliasConflict] = []

    /// Whether everything was copied without conflict.
    public var isClean: Bool { conflicts.isEmpty && rejected.isEmpty && aliasConflicts.isEmpty }
}

extension ArtifactStore {
    /// Bytes of values copied per transaction during a merge.
    static let mergeChunkBytes = 64 << 20
    /// Values copied per transaction during a merge.
    static let mergeChunkEntries = 512

    /// Copies into this store every artifact and alias of `other` that it lacks.
    ///
    /// Content addressing makes this a union: a key present in both must have the same payload digest;
    /// if not, ours is kept and the pair is reported as a conflict. Every incoming value is verified
    /// first (layout, key, digest) and damaged ones are reported, not copied. Aliases are added when
    /// missing; an alias with a different target here is kept and reported. Artifacts are copied in
    /// transactions of bounded size, so a merge that fails part way leaves only whole artifacts.
    ///
    /// - Throws: ``ArtifactStoreError/mergeIntoSelf(path:)`` when `other` is this store, or errors of
    ///   reading `other` and writing this store (``ArtifactStoreError/storeFull(path:needed:limit:)``).
    public func merge(from other: ArtifactStore) throws -> MergeReport {
        guard !isReadOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "merge into it") }
        guard other.environment !== environment else { throw ArtifactStoreError.mergeIntoSelf(path: path) }
        var report = MergeReport()
        var resumeAfter: [UInt8]?
        while true {
            let chunk = try other.readChunk(after: resumeAfter)
            guard let last = chunk.last else { break }
            resumeAfter = last.key
            var sound: [(key: [UInt8], value: [UInt8], digest: ContentDigest)] = []
            for entry in chunk {
                let problem = entry.key.withUnsafeBytes { key in
                    entry.value.withUnsafeBytes { Self.problem(key: key, value: $0) }
                }
                if let problem {
                    report.rejected.append(StoreProblem(key: Self.hexString(entry.key), problem: problem))
                    continue
                }
                let header = try entry.value.withUnsafeBytes { try ArtifactValueLayout.header($0, key: "") }
                sound.append((entry.key, entry.value, header.payloadDigest))
            }
            let outcome = try writeMergeChunk(sound)
            report.added += outcome.added
            report.alreadyPresent += outcome.alreadyPresent
            report.conflicts += outcome.conflicts
        }
        let aliasOutcome = try mergeAliases(try other.aliases())
        report.aliasesAdded = aliasOutcome.added
        report.aliasConflicts = aliasOutcome.conflicts
        report.rejected += aliasOutcome.rejected
        return report
    }

    /// Copies out up to ``mergeChunkEntries`` entries (or ``mergeChunkBytes``) after `key`.
    private func readChunk(after key: [UInt8]?) throws -> [(key: [UInt8], value: [UInt8])] {
        try environment.read { txn in
            var chunk: [(key: [UInt8], value: [UInt8])] = []
            var bytes = 0
            try txn.scan(txn.databases.artifacts, from: key) { keyBytes, value in
                if let key, keyBytes.elementsEqual(key) { return true }
                chunk.append((Array(keyBytes), Array(value)))
                bytes += value.count
                return chunk.count < Self.mergeChunkEntries && bytes < Self.mergeChunkBytes
            }
            return chunk
        }
    }

    private func writeMergeChunk(
        _ entries: [(key: [UInt8], value: [UInt8], digest: ContentDigest)]
    ) throws -> (added: [ContentDigest], alreadyPresent: Int, conflicts: [MergeConflict]) {
        let bytes = entries.reduce(0) { $0 + $1.value.count }
        return try environment.write(describing: "\(entries.count) merged artifacts (\(bytes) bytes)") { txn in
            var added: [ContentDigest] = []
            var alreadyPresent = 0
            var conflicts: [MergeConflict] = []
            for entry in entries {
                let key = try entry.key.withUnsafeBytes { try Self.digest(fromKey: $0) }
                let ours = try txn.withValue(in: txn.databases.artifacts, key: entry.key) { value in
                    try ArtifactValueLayout.header(value, key: key.hex).payloadDigest
                }
                if let ours {
                    if ours == entry.digest {
                        alreadyPresent += 1
                    } else {
                        conflicts.append(MergeConflict(key: key, ours: ours, theirs: entry.digest))
                    }
                    continue
                }
                try txn.put(in: txn.databases.artifacts, key: entry.key, value: entry.value)
                added.append(key)
            }
            return (added, alreadyPresent, conflicts)
        }
    }

    private func mergeAliases(
        _ theirs: [String: ContentDigest]
    ) throws -> (added: [String], conflicts: [AliasConflict], rejected: [StoreProblem]) {
        try environment.write(describing: "\(theirs.count) merged aliases") { txn in
            let ours = try Self.readAliases(txn)
            var added: [String] = []
            var conflicts: [AliasConflict] = []
            var rejected: [StoreProblem] = []
            for (name, target) in theirs.sorted(by: { $0.key < $1.key }) {
                if let mine = ours[name] {
                    if mine != target { conflicts.append(AliasConflict(name: name, ours: mine, theirs: target)) }
                    continue
                }
                guard try txn.contains(target.bytes, in: txn.databases.artifacts) else {
                    rejected.append(
                        StoreProblem(
                            key: "alias '\(name)'",
                            problem: "its target \(target.short)… is in neither store, so it was not copied"))
                    continue
                }
                try txn.put(in: txn.databases.aliases, key: Array(name.utf8), value: target.bytes)
                added.append(name)
            }
            return (added, conflicts, rejected)
        }
    }
}

/// Artifacts of one kind whose recipes must agree between two stores before they are merged, apart
/// from what names the individual item (the probe vector of an effect, say).
///
/// Shards of one job (`steer effects measure --shard i/N`) differ only in their items; a store
/// measured with another model, SAE or protocol differs in a shared input or parameter, and merging
/// it would silently mix incompatible results. Recipes are compared per algorithm: with the per-item
/// inputs and parameters removed, every recipe of the other store must also occur in this one.
public struct RecipeAgreement: Sendable, Hashable {
    /// The kind of artifact checked.
    public var kind: ArtifactKind
    /// Inputs that differ from item to item (ignored).
    public var perItemInputs: Set<String>
    /// Parameters that differ from item to item (ignored).
    public var perItemParameters: Set<String>
    /// Inputs that follow from the others (a baseline's key, say); named after them in a refusal.
    public var derivedInputs: Set<String>

    /// Creates a rule for `kind`.
    public init(
        kind: ArtifactKind, perItemInputs: Set<String> = [], perItemParameters: Set<String> = [],
        derivedInputs: Set<String> = []
    ) {
        self.kind = kind
        self.perItemInputs = perItemInputs
        self.perItemParameters = perItemParameters
        self.derivedInputs = derivedInputs
    }

    /// `recipe` without its per-item inputs and parameters.
    public func shared(_ recipe: Recipe) -> Recipe {
        var out = recipe
        for name in perItemInputs { out.inputs[name] = nil }
        for name in perItemParameters { out.parameters[name] = nil }
        return out
    }

    /// What differs between two shared recipes of one algorithm, one phrase each: inputs, then
    /// parameters (by their path inside nested objects), then derived inputs.
    func differences(ours: Recipe, theirs: Recipe) -> [String] {
        var primary: [String] = []
        var derived: [String] = []
        if ours.version != theirs.version {
            primary.append("version (\(ours.version) here, \(theirs.version) there)")
        }
        for name in Set(ours.inputs.keys).union(theirs.inputs.keys).sorted()
        where ours.inputs[name] != theirs.inputs[name] {
            let phrase =
                "input '\(name)' (\(ours.inputs[name].map { $0.short + "…" } ?? "absent") here, "
                + "\(theirs.inputs[name].map { $0.short + "…" } ?? "absent") there)"
            if derivedInputs.contains(name) { derived.append(phrase) } else { primary.append(phrase) }
        }
        Self.compare(.object(ours.parameters), .object(theirs.parameters), path: "", into: &primary)
        return primary + derived
    }

    private static func compare(_ ours: RecipeValue?, _ theirs: RecipeValue?, path: String, into out: inout [String]) {
        guard ours != theirs else { return }
        if case .object(let a)? = ours, case .object(let b)? = theirs {
            for name in Set(a.keys).union(b.keys).sorted() {
                compare(a[name], b[name], path: path.isEmpty ? name : path + "." + name, into: &out)
            }
            return
        }
        func text(_ value: RecipeValue?) -> String {
            guard let json = value?.canonicalJSON else { return "absent" }
            return json.count > 40 ? String(json.prefix(37)) + "..." : json
        }
        out.append("parameter '\(path)' (\(text(ours)) here, \(text(theirs)) there)")
    }
}

extension ArtifactStore {
    /// Merges `other` like ``merge(from:)`` after checking that its recipes agree with this store's
    /// under every rule of `agreements`; nothing is copied when one does not.
    ///
    /// A rule is checked only for algorithms both stores hold, so merging into an empty store (the
    /// first shard) always proceeds.
    /// - Throws: ``ArtifactStoreError/recipeMismatch(path:other:kind:algorithm:differences:)`` naming
    ///   what differs, and the errors of ``merge(from:)``.
    public func merge(from other: ArtifactStore, requiring agreements: [RecipeAgreement]) throws -> MergeReport {
        for agreement in agreements {
            let ours = try sharedRecipes(agreement)
            let theirs = try other.sharedRecipes(agreement)
            for (algorithm, recipes) in theirs.sorted(by: { $0.key < $1.key }) {
                guard let mine = ours[algorithm], !mine.isEmpty else { continue }
                for recipe in recipes.sorted(by: { $0.key.hex < $1.key.hex }) where !mine.contains(recipe) {
                    // Name the differences from the closest of our recipes.
                    let candidates = mine.map { agreement.differences(ours: $0, theirs: recipe) }
                    let closest = candidates.min { $0.count < $1.count } ?? []
                    throw ArtifactStoreError.recipeMismatch(
                        path: path, other: other.path, kind: agreement.kind.rawValue, algorithm: algorithm,
                        differences: closest)
                }
            }
        }
        return try merge(from: other)
    }

    /// The shared recipes of `agreement`'s kind, by algorithm.
    private func sharedRecipes(_ agreement: RecipeAgreement) throws -> [String: Set<Recipe>] {
        var out: [String: Set<Recipe>] = [:]
        for (_, header) in try list(kind: agreement.kind) {
            out[header.recipe.algorithm, default: []].insert(agreement.shared(header.recipe))
        }
        return out
    }
}
