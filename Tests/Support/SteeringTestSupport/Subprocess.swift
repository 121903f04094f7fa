import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Finds executables built by this package (`steer`, `store-test-writer`) for tests that run them as
/// subprocesses. `swift test` builds every product before running tests, into the directory that
/// holds the test bundle.
public enum BuiltProduct {
    /// The path of the built executable `name`, or `nil` if it cannot be found.
    ///
    /// Looks in `$STEER_TEST_BIN_DIR`, next to the running test binary, next to the main bundle, and
    /// finally in `.build*/{release,debug}` and `.build*/<triple>/{release,debug}` under the package root.
    public static func path(_ name: String, filePath: String = #filePath) -> String? {
        var directories: [String] = []
        if let override = ProcessInfo.processInfo.environment["STEER_TEST_BIN_DIR"] { directories.append(override) }
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        directories.append(argument0.deletingLastPathComponent().path)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
        directories.append(Bundle.main.bundleURL.path)
        directories += buildDirectories(packageRoot: packageRoot(from: filePath))
        let manager = FileManager.default
        return directories.lazy.map { $0 + "/" + name }.first { manager.isExecutableFile(atPath: $0) }
    }

    /// The built `steer` executable, or nil after recording a test issue that says to build it.
    public static func steer(filePath: String = #filePath) -> String? {
        let found = path("steer", filePath: filePath)
        if found == nil {
            Issue.record("the steer executable was not found next to the test bundle; run `swift build` first")
        }
        return found
    }

    /// Runs the built executable `name` with `arguments`; nil (with a recorded issue) when it was not built.
    public static func run(_ name: String, _ arguments: [String], timeout: Double = 120, filePath: String = #filePath)
        throws -> SubprocessResult?
    {
        guard let executable = path(name, filePath: filePath) else {
            Issue.record("the \(name) executable was not found next to the test bundle; run `swift build` first")
            return nil
        }
        return try Subprocess.run(executable, arguments, timeout: timeout)
    }

    /// Runs the built `steer` with `arguments`; nil (with a recorded issue) when it was not built.
    public static func runSteer(_ arguments: [String], timeout: Double = 120) throws -> SubprocessResult? {
        guard let executable = steer() else { return nil }
        return try Subprocess.run(executable, arguments, timeout: timeout)
    }

    /// The nearest ancestor of `filePath` that holds a `Package.swift`.
    public static func packageRoot(from filePath: String = #filePath) -> String? {
        var url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
            url = url.deletingLastPathComponent()
        }
        return nil
    }

    private static func buildDirectories(packageRoot: String?) -> [String] {
        guard let root = packageRoot,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: root)
        else { return [] }
        var out: [String] = []
        for entry in entries.sorted() where entry.hasPrefix(".build") {
            let base = root + "/" + entry
            let triples = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
            for folder in [base] + triples.sorted().map({ "\(base)/\($0)" }) {
                out.append(folder + "/release")
                out.append(folder + "/debug")
            }
        }
        return out
    }
}

/// What a finished subprocess left behind.
public struct SubprocessResult: Sendable {
    /// Exit status, or the signal number if it was killed by a signal (see ``signaled``).
    public var status: Int32
    /// Whether the process was ended by a signal.
    public var signaled: Bool
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Programs on `PATH`.
public enum Executables {
    /// The first executable file called `name` in a `PATH` directory, or nil.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").lazy.map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}

/// Runs executables for tests.
public enum Subprocess {
    /// Runs `executable` to completion (killing it after `timeout` seconds) and captures its output.
    /// - Parameter environment: Variables added to (or replacing) this process's environment; a
    ///   `nil` value removes a variable.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:], timeout: Double = 120
    ) throws -> SubprocessResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("subprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = makeProcess(executable, arguments, environment: environment)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        return SubprocessResult(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Starts `executable` with its standard output readable line by line; standard error is discarded.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:]
    ) throws -> RunningProcess {
        let process = makeProcess(executable, arguments, environment: environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningProcess(process: process, output: pipe.fileHandleForReading)
    }

    static func makeProcess(_ executable: String, _ arguments: [String], environment: [String: String?]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        return process
    }
}

/// A subprocess started by ``Subprocess/start(_:_:environment:)``.
///
/// `@unchecked Sendable`: used by one test at a time; `Process` and `FileHandle` are thread-safe for
/// the calls made here, and the line buffer is touched only by ``readLine()``.
public final class RunningProcess: @unchecked Sendable {
    private let process: Process
    private let output: FileHandle
    private var buffer: [UInt8] = []
    private var atEnd = false

    init(process: Process, output: FileHandle) {
        self.process = process
        self.output = output
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// The next line of standard output without its newline, or `nil` at end of output.
    public func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            let chunk = output.availableData
            if chunk.isEmpty { atEnd = true } else { buffer += chunk }
        }
    }

    /// Sends `signal` (default `SIGKILL`).
    public func kill(_ signal: Int32 = SIGKILL) {
        _ = Glibc.kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end and returns its result (`stdout` holds what was not yet read).
    @discardableResult
    public func wait() -> SubprocessResult {
        var rest: [String] = []
        while let line = readLine() { rest.append(line) }
        process.waitUntilExit()
        return SubprocessResult(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: rest.joined(separator: "\n"), stderr: "")
    }
}
