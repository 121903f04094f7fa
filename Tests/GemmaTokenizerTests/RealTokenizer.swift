import Foundation
import GemmaTokenizer
import Testing

/// The real Gemma tokenizer files, cached outside git by `Tests/Reference/fetch_gemma_tokenizer.sh`, and the
/// committed HF reference fixture. Loaded once per test process.
enum RealTokenizer {
    /// `<repo>` (this file is `<repo>/Tests/GemmaTokenizerTests/RealTokenizer.swift`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `${STEER_CACHE:-<repo>/.cache}/gemma-tokenizer`.
    static let cacheDirectory: String = {
        let root =
            ProcessInfo.processInfo.environment["STEER_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repositoryRoot + "/.cache"
        return root + "/gemma-tokenizer"
    }()

    static let modelPath = cacheDirectory + "/tokenizer.model"
    static let jsonPath = cacheDirectory + "/tokenizer.json"
    /// The committed fixture, or `STEER_TOKENIZER_FIXTURE` (e.g. a larger one written by
    /// `make_tokenizer_fixtures.py --seed N --texts M --out FILE` for an ad-hoc differential run).
    static let fixturePath =
        ProcessInfo.processInfo.environment["STEER_TOKENIZER_FIXTURE"].flatMap { $0.isEmpty ? nil : $0 }
        ?? repositoryRoot + "/Tests/Fixtures/tokenizer/gemma_reference.jsonl.gz"
    static let expectedSHA256 = "61a7b147390c64585d6c3543dd6fc636906c9af3865a5548f27f31aee1d4c8e2"

    static let fetchHint =
        "run Tests/Reference/fetch_gemma_tokenizer.sh (CI runs it before the tests), "
        + "or set STEER_SKIP_REAL_TOKENIZER=1 to skip the real-tokenizer tests offline"

    /// True when the real-tokenizer tests should run (not opted out with STEER_SKIP_REAL_TOKENIZER=1).
    static var enabled: Bool { ProcessInfo.processInfo.environment["STEER_SKIP_REAL_TOKENIZER"] != "1" }

    /// True when the tokenizer.json tests should run: enabled, and the JSON exists or the whole cache is missing
    /// (then they fail with the fetch hint). When only the .model was fetched (transformers<5 missing), they skip.
    static var jsonEnabled: Bool {
        enabled
            && (FileManager.default.fileExists(atPath: jsonPath) || !FileManager.default.fileExists(atPath: modelPath))
    }

    /// A loaded tokenizer with its load time.
    struct Loaded: Sendable {
        var tokenizer: GemmaTokenizer?
        var failure: String?
        var seconds: Double
    }

    private static func timedLoad(_ path: String, _ load: (String) throws -> GemmaTokenizer) -> Loaded {
        guard FileManager.default.fileExists(atPath: path) else {
            return Loaded(tokenizer: nil, failure: "\(path) is missing: \(fetchHint)", seconds: 0)
        }
        let start = Date()
        do {
            let tokenizer = try load(path)
            return Loaded(tokenizer: tokenizer, failure: nil, seconds: Date().timeIntervalSince(start))
        } catch {
            return Loaded(tokenizer: nil, failure: "loading \(path) failed: \(error)", seconds: 0)
        }
    }

    static let model = timedLoad(modelPath) { try GemmaTokenizer(sentencePieceModel: $0) }
    static let json = timedLoad(jsonPath) { try GemmaTokenizer(tokenizerJSON: $0) }

    /// The SentencePiece-loaded tokenizer, or a recorded failure naming the fetch script.
    static func requireModel() throws -> GemmaTokenizer {
        guard let tokenizer = model.tokenizer else { throw Unavailable(description: model.failure ?? "") }
        return tokenizer
    }

    /// The tokenizer.json-loaded tokenizer, or a recorded failure naming the fetch script.
    static func requireJSON() throws -> GemmaTokenizer {
        guard let tokenizer = json.tokenizer else { throw Unavailable(description: json.failure ?? "") }
        return tokenizer
    }

    /// Thrown (and so recorded as the test's failure) when a real tokenizer file is missing or fails to load.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }
}

/// The committed reference fixture (`Tests/Reference/make_tokenizer_fixtures.py`).
struct ReferenceFixture: Sendable {
    struct Header: Decodable, Sendable {
        var seed: Int
        /// The Gemma-2 `tokenizer.model` fixture's source; nil in the GGUF fixture.
        var tokenizer_sha256: String?
        /// The GGUF fixture's source; nil in the Gemma-2 fixture.
        var gguf_sha256: String?
        var vocab_size: Int?
        var tokenizers_version: String
        var encode_cases: Int
        var decode_cases: Int
    }

    struct EncodeCase: Sendable {
        var text: String
        var ids: [Int32]
    }

    struct DecodeCase: Sendable {
        var ids: [Int32]
        var text: String
        var textSkippingSpecial: String
    }

    private struct Line: Decodable {
        var header: Header?
        var text: String?
        var ids: [Int32]?
        var text_skip: String?
    }

    var header: Header
    var encodeCases: [EncodeCase] = []
    var decodeCases: [DecodeCase] = []

    /// Loaded once; nil with a message when unreadable.
    static let shared: Result<ReferenceFixture, any Error> = Result { try load(RealTokenizer.fixturePath) }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    static func load(_ path: String) throws -> ReferenceFixture {
        let data: Data
        do {
            data = try gunzip(path)
        } catch {
            throw FixtureError(description: "cannot decompress \(path): \(error)")
        }
        let decoder = JSONDecoder()
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), let header = try? decoder.decode(Line.self, from: Data(first)).header else {
            throw FixtureError(description: "\(path): first line is not a header")
        }
        var fixture = ReferenceFixture(header: header)
        var number = 1
        while let raw = lines.next() {
            number += 1
            guard let line = try? decoder.decode(Line.self, from: Data(raw)), let text = line.text, let ids = line.ids
            else {
                throw FixtureError(description: "\(path): line \(number) is malformed")
            }
            if let skip = line.text_skip {
                fixture.decodeCases.append(DecodeCase(ids: ids, text: text, textSkippingSpecial: skip))
            } else {
                fixture.encodeCases.append(EncodeCase(text: text, ids: ids))
            }
        }
        return fixture
    }

    /// `gzip -dc path` (the test target does not link zlib).
    private static func gunzip(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FixtureError(description: "missing")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(description: "gzip exited with \(process.terminationStatus)")
        }
        return data
    }

    static func require() throws -> ReferenceFixture {
        switch shared {
        case .success(let fixture): return fixture
        case .failure(let error):
            Issue.record("\(error)")
            throw error
        }
    }
}

/// A string with every scalar outside printable ASCII escaped, for failure messages.
func escaped(_ text: String, limit: Int = 160) -> String {
    let scalars = text.unicodeScalars.prefix(limit).map { $0.escaped(asASCII: true) }.joined()
    return text.unicodeScalars.count > limit ? scalars + "…" : scalars
}
