// store-test-writer: a helper process for the ArtifactStore tests (crash safety, concurrency,
// cross-process keys). Not a user tool.
//
//   store-test-writer write <store> <count> <seed> [--batch N] [--floats N] [--sleep-ms N] [--initial-map-size B]
//       Puts `count` artifacts, `--batch` per transaction (default 1), and prints the key of every
//       artifact right after its transaction commits (stdout is flushed), so a test can SIGKILL the
//       process at any point and know what was committed.
//   store-test-writer read <store> <expected-count> [--timeout-ms N]
//       Repeatedly lists the store read-only and checks every visible artifact (digest and values),
//       until `expected-count` artifacts are visible. Prints "ok <passes> <count>", or "error: ..."
//       and exits 1 on the first inconsistency (count went down, damaged or wrong payload).
//   store-test-writer key <kind> <algorithm> <version> [name=value ...] [input:name=HEX ...]
//       Prints the key of the recipe given on the command line (values: int, double with '.', bool
//       or string).
//
// The artifacts written by `write` have the recipe of `testRecipe(seed:index:)` and the payload
// `testPayload(seed:index:count:)`; the tests rebuild both to check what they read.

import ArtifactStore
import Foundation
import SteeringCore

#if canImport(Glibc)
    import Glibc
#endif

/// The recipe of artifact `index` of run `seed`.
func testRecipe(seed: Int, index: Int) -> Recipe {
    Recipe(
        kind: .effect, algorithm: "store-test-writer", version: 1,
        parameters: ["seed": .int(seed), "index": .int(index), "scale": .double(0.5)])
}

/// The payload of artifact `index` of run `seed`.
func testPayload(seed: Int, index: Int, count: Int) -> [Float] {
    (0..<count).map { Float(seed * 1000 + index) + Float($0) * 0.25 }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("store-test-writer: \(message)\n".utf8))
    exit(2)
}

/// Writes a line to standard output unbuffered, so it is out before the next transaction starts.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// `--name value` options after the positional arguments.
func options(_ arguments: ArraySlice<String>) -> [String: Int] {
    var out: [String: Int] = [:]
    var iterator = arguments.makeIterator()
    while let name = iterator.next() {
        guard name.hasPrefix("--"), let text = iterator.next(), let value = Int(text) else {
            fail("expected --option <integer>, got '\(name)'")
        }
        out[String(name.dropFirst(2))] = value
    }
    return out
}

func write(_ arguments: [String]) throws {
    guard arguments.count >= 3, let count = Int(arguments[1]), let seed = Int(arguments[2]) else {
        fail("usage: write <store> <count> <seed> [--batch N] [--floats N] [--sleep-ms N] [--initial-map-size B]")
    }
    let settings = options(arguments[3...])
    let batch = max(1, settings["batch"] ?? 1)
    let floats = settings["floats"] ?? 256
    let sleepMicroseconds = UInt32(max(0, settings["sleep-ms"] ?? 0) * 1000)
    let store = try ArtifactStore(path: arguments[0], initialMapSize: settings["initial-map-size"])
    var index = 0
    while index < count {
        let indices = index..<min(count, index + batch)
        let keys = try store.putBatch(
            indices.map {
                .floats(
                    recipe: testRecipe(seed: seed, index: $0), testPayload(seed: seed, index: $0, count: floats),
                    shape: [floats])
            })
        for key in keys { say(key.hex) }
        index = indices.upperBound
        if sleepMicroseconds > 0 { usleep(sleepMicroseconds) }
    }
}

func read(_ arguments: [String]) throws {
    guard arguments.count >= 2, let expected = Int(arguments[1]) else {
        fail("usage: read <store> <expected-count> [--timeout-ms N]")
    }
    let timeout = Double(options(arguments[2...])["timeout-ms"] ?? 60_000) / 1000
    let start = Date()
    let store = try ArtifactStore(path: arguments[0], readOnly: true)
    var passes = 0
    var lastCount = 0
    while true {
        let listing = try store.list()
        if listing.count < lastCount {
            say("error: the artifact count went down from \(lastCount) to \(listing.count)")
            exit(1)
        }
        lastCount = listing.count
        for (key, header) in listing {
            guard let artifact = try store.get(key, verifyingDigest: true) else {
                say("error: \(key) was listed but is gone")
                exit(1)
            }
            guard case .int(let seed)? = header.recipe.parameters["seed"],
                case .int(let index)? = header.recipe.parameters["index"],
                try artifact.floats() == testPayload(seed: seed, index: index, count: header.elementCount)
            else {
                say("error: \(key) does not hold the payload its recipe implies")
                exit(1)
            }
        }
        passes += 1
        if lastCount >= expected { break }
        if Date().timeIntervalSince(start) > timeout {
            say("error: timed out with \(lastCount) of \(expected) artifacts visible")
            exit(1)
        }
    }
    say("ok \(passes) \(lastCount)")
}

func key(_ arguments: [String]) {
    guard arguments.count >= 3, let kind = ArtifactKind(rawValue: arguments[0]), let version = Int(arguments[2]) else {
        fail("usage: key <kind> <algorithm> <version> [name=value ...] [input:name=HEX ...]")
    }
    var parameters: [String: RecipeValue] = [:]
    var inputs: [String: ContentDigest] = [:]
    for assignment in arguments[3...] {
        guard let equals = assignment.firstIndex(of: "=") else { fail("expected name=value, got '\(assignment)'") }
        let name = String(assignment[..<equals])
        let text = String(assignment[assignment.index(after: equals)...])
        if name.hasPrefix("input:") {
            guard let digest = ContentDigest(hex: text) else { fail("'\(text)' is not a 64-character hex digest") }
            inputs[String(name.dropFirst(6))] = digest
        } else if let int = Int(text) {
            parameters[name] = .int(int)
        } else if text.contains("."), let double = Double(text) {
            parameters[name] = .double(double)
        } else if let bool = Bool(text) {
            parameters[name] = .bool(bool)
        } else {
            parameters[name] = .string(text)
        }
    }
    let recipe = Recipe(
        kind: kind, algorithm: arguments[1], version: version, parameters: parameters, inputs: inputs)
    say(recipe.key.hex)
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "write": try write(Array(arguments.dropFirst()))
    case "read": try read(Array(arguments.dropFirst()))
    case "key": key(Array(arguments.dropFirst()))
    default: fail("usage: store-test-writer write|read|key ...")
    }
} catch {
    fail("\(error)")
}
