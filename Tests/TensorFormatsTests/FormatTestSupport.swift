import Foundation
import SteeringTestSupport
import TensorFormats
import Testing

/// One array recorded in Tests/Fixtures/formats/expected.json by Tests/Reference/make_format_fixtures.py.
struct ExpectedArray: Sendable {
    var descr: String
    var shape: [Int]
    /// Float values as float32 bit patterns (C order), for float arrays.
    var f32bits: [UInt32]?
    /// Float values as float64 bit patterns, for 8-byte float arrays.
    var f64bits: [UInt64]?
    /// Integer values, for integer and bool arrays.
    var ints: [Int64]?

    init(_ object: Any?) throws {
        let dict = try #require(object as? [String: Any])
        descr = try #require(dict["descr"] as? String)
        shape = try #require(dict["shape"] as? [Int])
        f32bits = (dict["f32bits"] as? [NSNumber])?.map { $0.uint32Value }
        f64bits = try (dict["f64bits"] as? [String])?.map { try #require(UInt64($0)) }
        ints = try (dict["ints"] as? [String])?.map { try #require(Int64($0)) }
    }
}

/// Paths and expectations for the committed format fixtures.
enum FormatFixtures {
    static func path(_ name: String) -> String { fixturePath("formats/\(name)") }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// The top-level sections of expected.json.
    static func section(_ key: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(root[key] as? [String: Any])
    }
}

/// Float bit patterns, so NaN, -0 and infinities compare exactly.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Runs `body` with a fresh temporary directory that is removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = try makeTemporaryDirectory("formats-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
}

/// Expects `body` to throw a ``TensorFormatError`` and returns it (nil, with a recorded issue, otherwise).
@discardableResult
func expectFormatError<T>(
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) -> TensorFormatError? {
    do {
        _ = try body()
        Issue.record(
            "expected a TensorFormatError, but the call succeeded. \(comment?.description ?? "")",
            sourceLocation: sourceLocation)
    } catch let error as TensorFormatError {
        return error
    } catch {
        Issue.record("expected a TensorFormatError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// python3 with numpy, used to check that numpy reads what Swift writes.
enum Python {
    /// Whether `python3 -c "import numpy"` succeeds.
    static let hasNumpy: Bool = (try? run(["-c", "import numpy"])) != nil
    /// Whether the `safetensors` package is importable too.
    static let hasSafetensors: Bool = (try? run(["-c", "import numpy, safetensors"])) != nil

    /// Runs python3 with `arguments` and returns its standard output; throws on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        let problem = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PythonFailure(message: String(decoding: problem, as: UTF8.self))
        }
        return String(decoding: text, as: UTF8.self)
    }

    struct PythonFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { "python3 failed: \(message)" }
    }
}

/// Builds safetensors bytes from a header text and a data buffer (the header is not padded).
func makeSafetensors(header: String, data: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
    bytes += Array(header.utf8)
    bytes += data
    return bytes
}
