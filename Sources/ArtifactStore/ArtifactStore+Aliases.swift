import SteeringCore

/// Aliases: human names (`vector/london/sae-ts`) for artifact keys, stored in the `aliases` database
/// as UTF-8 name → 32 raw key bytes. Aliases are the roots of garbage collection.
extension ArtifactStore {
    /// Longest alias name in UTF-8 bytes (LMDB keys are limited to 511 bytes).
    public static let maxAliasLength = 255

    /// Checks that `name` can be used as an alias.
    ///
    /// A name is 1–255 UTF-8 bytes without whitespace or control characters, and is not made only of
    /// hex digits with 6 or more characters (those are read as key prefixes by ``resolve(_:)``).
    /// - Throws: ``ArtifactStoreError/invalidAliasName(name:problem:)``.
    public static func validateAliasName(_ name: String) throws(ArtifactStoreError) {
        func invalid(_ problem: String) -> ArtifactStoreError { .invalidAliasName(name: name, problem: problem) }
        if name.isEmpty { throw invalid("it is empty") }
        if name.utf8.count > maxAliasLength { throw invalid("it is longer than \(maxAliasLength) bytes") }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            throw invalid("it contains whitespace or a control character")
        }
        if name.count >= 6, isHex(name) {
            throw invalid("names made only of hex digits would be read as key prefixes; add a letter g–z or a '/'")
        }
    }

    /// Points `name` at `key`, replacing any previous target.
    /// - Returns: The previous target, if the alias existed.
    /// - Throws: ``ArtifactStoreError/invalidAliasName(name:problem:)``, or
    ///   ``ArtifactStoreError/unknownKey(key:path:)`` if no artifact is stored under `key`.
    @discardableResult
    public func setAlias(_ name: String, to key: ContentDigest) throws -> ContentDigest? {
        try Self.validateAliasName(name)
        guard !isReadOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "set an alias") }
        return try environment.write(describing: "alias '\(name)'") { txn in
            guard try txn.contains(key.bytes, in: txn.databases.artifacts) else {
                throw ArtifactStoreError.unknownKey(key: key.hex, path: path)
            }
            let nameBytes = Array(name.utf8)
            let previous = try txn.withValue(in: txn.databases.aliases, key: nameBytes) {
                try Self.aliasTarget($0, name)
            }
            try txn.put(in: txn.databases.aliases, key: nameBytes, value: key.bytes)
            return previous
        }
    }

    /// Deletes the alias `name`.
    /// - Returns: Its former target.
    /// - Throws: ``ArtifactStoreError/unknownAlias(name:suggestions:path:)`` if there is no such alias.
    @discardableResult
    public func removeAlias(_ name: String) throws -> ContentDigest {
        guard !isReadOnly else { throw ArtifactStoreError.readOnly(path: path, operation: "remove an alias") }
        let removed: ContentDigest? = try environment.write(describing: "alias removal") { txn in
            let nameBytes = Array(name.utf8)
            guard
                let target = try txn.withValue(
                    in: txn.databases.aliases, key: nameBytes, { try Self.aliasTarget($0, name) })
            else { return nil }
            try txn.delete(in: txn.databases.aliases, key: nameBytes)
            return target
        }
        guard let removed else {
            throw ArtifactStoreError.unknownAlias(
                name: name, suggestions: Self.suggestions(for: name, among: Array(try aliases().keys)), path: path)
        }
        return removed
    }

    /// Every alias and its target.
    public func aliases() throws -> [String: ContentDigest] {
        try environment.read { txn in try Self.readAliases(txn) }
    }

    /// The aliases that point at `key`, sorted.
    public func aliases(of key: ContentDigest) throws -> [String] {
        try aliases().filter { $0.value == key }.map(\.key).sorted()
    }

    /// Turns what a user typed into a key.
    ///
    /// Tried in order: an alias; a full 64-character hex key; a hex prefix of at least 6 characters that
    /// matches exactly one artifact. Surrounding whitespace is ignored and hex is case-insensitive.
    /// - Throws: ``ArtifactStoreError/unknownAlias(name:suggestions:path:)`` (with close matches),
    ///   ``ArtifactStoreError/unknownKey(key:path:)``, ``ArtifactStoreError/ambiguousPrefix(prefix:matches:)``
    ///   or ``ArtifactStoreError/invalidReference(text:problem:)``.
    public func resolve(_ text: String) throws -> ContentDigest {
        let reference = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reference.isEmpty else {
            throw ArtifactStoreError.invalidReference(text: text, problem: "it is empty")
        }
        let aliasTarget: ContentDigest? = try environment.read { txn in
            try txn.withValue(in: txn.databases.aliases, key: Array(reference.utf8)) {
                try Self.aliasTarget($0, reference)
            }
        }
        if let aliasTarget { return aliasTarget }
        guard Self.isHex(reference) else {
            let names = Array(try aliases().keys)
            throw ArtifactStoreError.unknownAlias(
                name: reference, suggestions: Self.suggestions(for: reference, among: names), path: path)
        }
        let hex = reference.lowercased()
        if hex.count == 64, let key = ContentDigest(hex: hex) {
            guard try has(key) else { throw ArtifactStoreError.unknownKey(key: hex, path: path) }
            return key
        }
        guard hex.count >= 6, hex.count < 64 else {
            throw ArtifactStoreError.invalidReference(
                text: reference,
                problem: "a hex key prefix needs 6 to 64 characters, and no alias has this name")
        }
        let matches = try keys(withPrefix: hex, limit: 10)
        switch matches.count {
        case 0: throw ArtifactStoreError.unknownKey(key: hex + "…", path: path)
        case 1: return matches[0]
        default: throw ArtifactStoreError.ambiguousPrefix(prefix: hex, matches: matches.map(\.short))
        }
    }

    /// Up to `limit` keys whose hex form starts with `hexPrefix` (lowercase).
    func keys(withPrefix hexPrefix: String, limit: Int) throws -> [ContentDigest] {
        let evenPrefix = String(hexPrefix.prefix(hexPrefix.count / 2 * 2))
        let start = ContentDigest(hex: evenPrefix + String(repeating: "0", count: 64 - evenPrefix.count))?.bytes
        let startBytes = Array((start ?? []).prefix(evenPrefix.count / 2))
        return try environment.read { txn in
            var matches: [ContentDigest] = []
            try txn.scan(txn.databases.artifacts, from: startBytes) { keyBytes, _ in
                guard keyBytes.starts(with: startBytes) else { return false }
                let key = try Self.digest(fromKey: keyBytes)
                if key.hex.hasPrefix(hexPrefix) { matches.append(key) }
                return matches.count < limit
            }
            return matches
        }
    }

    /// Reads the whole `aliases` database.
    static func readAliases(_ txn: borrowing some StoreTransaction & ~Copyable) throws -> [String: ContentDigest] {
        var out: [String: ContentDigest] = [:]
        try txn.scan(txn.databases.aliases) { nameBytes, value in
            let name = String(decoding: nameBytes, as: UTF8.self)
            out[name] = try aliasTarget(value, name)
            return true
        }
        return out
    }

    /// Decodes an alias value (32 raw key bytes).
    static func aliasTarget(_ value: UnsafeRawBufferPointer, _ name: String) throws(ArtifactStoreError) -> ContentDigest
    {
        guard value.count == 32, let key = ContentDigest(hex: hexString(value)) else {
            throw ArtifactStoreError.corruptArtifact(
                key: "alias '\(name)'", problem: "its value is \(value.count) bytes, not a 32-byte key")
        }
        return key
    }

    static func isHex(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }
    }

    /// Names close to `name`: small edit distance or one containing the other; at most five, best first.
    static func suggestions(for name: String, among names: [String]) -> [String] {
        let target = Array(name.lowercased())
        let scored = names.compactMap { candidate -> (Int, String)? in
            let lowered = candidate.lowercased()
            let distance = editDistance(target, Array(lowered))
            let close = distance <= max(2, target.count / 3)
            let contains = lowered.contains(name.lowercased()) || name.lowercased().contains(lowered)
            return close || contains ? (distance, candidate) : nil
        }
        return scored.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.prefix(5).map(\.1)
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
