import Foundation
import SteeringCore
import TensorFormats

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a model's residual at one site for every position of a file of token windows to one
/// float32 `.npy` (`windows × (length − skipFirst)` rows of `d_model` values), the input of a
/// dictionary trainer. Resumable: rows go to `<output>.partial` (already carrying the final header)
/// with `<output>.partial.json` naming what they were computed from; a run that finds both continues
/// after the last whole window, and the finished file is renamed into place. Windows run in batches
/// through blocks `0…layer` only (the backend stops at the site).
public struct ActivationHarvest {
    /// What a run did.
    public struct Summary: Sendable, Equatable {
        /// Windows in the file.
        public var windows: Int
        /// Windows computed by this run (the rest were already in the partial file).
        public var computed: Int
        /// Rows in the finished file.
        public var rows: Int
        /// Values per row.
        public var width: Int
    }

    public let backend: any ModelBackend
    public let site: ActivationSite
    /// Leading positions of every window left out (1 drops `<bos>`, whose residual is an outlier).
    public let skipFirst: Int
    /// Windows per forward pass.
    public let batchWindows: Int

    public init(backend: any ModelBackend, site: ActivationSite, skipFirst: Int = 1, batchWindows: Int = 8) throws {
        guard (0..<backend.descriptor.layerCount).contains(site.layer) else {
            throw SteeringError.indexOutOfRange(
                what: "harvest layer", index: site.layer, validRange: 0..<backend.descriptor.layerCount)
        }
        guard skipFirst >= 0 else {
            throw SteeringError.invalidArgument(what: "skip-first", problem: "must be ≥ 0, got \(skipFirst)")
        }
        guard batchWindows > 0 else {
            throw SteeringError.invalidArgument(what: "batch-windows", problem: "must be ≥ 1, got \(batchWindows)")
        }
        self.backend = backend
        self.site = site
        self.skipFirst = skipFirst
        self.batchWindows = batchWindows
    }

    /// The token windows of a `.npy` of integers shaped `[windows, length]`.
    public static func readWindows(_ path: String) throws -> [[Int32]] {
        let array = try NPY.read(path: path)
        guard array.shape.count == 2, array.shape[0] > 0, array.shape[1] > 0 else {
            throw PipelineError.invalidInput(
                what: path, problem: "token windows must be a 2-D array [windows, length], got shape \(array.shape)")
        }
        let ids = try array.int32s()
        let length = array.shape[1]
        return (0..<array.shape[0]).map { Array(ids[($0 * length)..<(($0 + 1) * length)]) }
    }

    /// Computes the rows of every window of the file `windowsPath` into `output` (see the type's
    /// description), reporting windows to the reporter `progress` makes for the windows left to do.
    /// - Throws: when `output` exists, when a partial file was started from other inputs (the message
    ///   names the difference and the files to delete), for bad windows or ids, a non-finite
    ///   activation (naming the window), or a write failure; the partial file keeps its whole windows.
    public func run(
        windowsPath: String, output: String, progress makeProgress: ((Int) -> ProgressReporter)? = nil
    ) throws -> Summary {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw SteeringError.io(path: output, problem: "already exists; delete it or choose another --out")
        }
        let windows = try Self.readWindows(windowsPath)
        let length = windows[0].count
        guard length > skipFirst else {
            throw PipelineError.invalidInput(
                what: windowsPath, problem: "windows of \(length) tokens leave no rows after skipping \(skipFirst)")
        }
        let width = backend.descriptor.hiddenSize
        let rowsPerWindow = length - skipFirst
        let identity = PartialIdentity(
            model: backend.descriptor.fingerprint.hex, windows: try FileFingerprint.hashFile(windowsPath).hex,
            layer: site.layer, skipFirst: skipFirst, windowCount: windows.count, rowsPerWindow: rowsPerWindow,
            width: width)
        let header = NPY.headerBytes(dtype: .f32, shape: [windows.count * rowsPerWindow, width])
        let partial = output + ".partial", sidecar = output + ".partial.json"
        let windowBytes = rowsPerWindow * width * MemoryLayout<Float>.size
        let done = try openPartial(
            partial, sidecar: sidecar, identity: identity, header: header, windowBytes: windowBytes)
        let fd = open(partial, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SteeringError.io(path: partial, problem: "cannot open: \(AtomicFile.systemError())")
        }
        defer { close(fd) }
        guard lseek(fd, off_t(header.count + done * windowBytes), SEEK_SET) >= 0 else {
            throw SteeringError.io(path: partial, problem: "cannot seek: \(AtomicFile.systemError())")
        }
        let progress = makeProgress?(windows.count - done)
        var start = done
        while start < windows.count {
            let end = min(start + batchWindows, windows.count)
            let activations = try backend.activations(at: site, sequences: Array(windows[start..<end]))
            var rows = [Float]()
            rows.reserveCapacity((end - start) * rowsPerWindow * width)
            for (offset, matrix) in activations.enumerated() {
                let values = matrix.values[(skipFirst * width)...]
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw PipelineError.invalidInput(
                        what: "window \(start + offset) of \(windowsPath)",
                        problem: "the activation at position \((bad - values.startIndex) / width + skipFirst) is "
                            + "not finite; \(partial) keeps the windows before it")
                }
                rows += values
            }
            try rows.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: partial) }
            progress?.advance(by: end - start)
            start = end
        }
        guard fsync(fd) == 0 else {
            throw SteeringError.io(path: partial, problem: "fsync failed: \(AtomicFile.systemError())")
        }
        guard rename(partial, output) == 0 else {
            throw SteeringError.io(
                path: output, problem: "cannot move \(partial) into place: \(AtomicFile.systemError())")
        }
        unlink(sidecar)
        progress?.finish()
        return Summary(
            windows: windows.count, computed: windows.count - done, rows: windows.count * rowsPerWindow, width: width)
    }

    /// What a partial file was computed from; a run resumes only a partial file of the same identity.
    struct PartialIdentity: Equatable {
        var model: String
        var windows: String
        var layer: Int
        var skipFirst: Int
        var windowCount: Int
        var rowsPerWindow: Int
        var width: Int

        var fields: [(String, String)] {
            [
                ("model", model), ("windows", windows), ("layer", "\(layer)"), ("skip_first", "\(skipFirst)"),
                ("window_count", "\(windowCount)"), ("rows_per_window", "\(rowsPerWindow)"), ("width", "\(width)"),
            ]
        }

        var json: String {
            "{" + fields.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}\n"
        }
    }

    /// Creates the partial file (header only) and its sidecar, or checks an existing pair and cuts the
    /// partial file back to its last whole window; returns the windows it already holds.
    private func openPartial(
        _ partial: String, sidecar: String, identity: PartialIdentity, header: [UInt8], windowBytes: Int
    ) throws -> Int {
        let manager = FileManager.default
        guard manager.fileExists(atPath: partial) else {
            try AtomicFile.write(Array(identity.json.utf8), to: sidecar)
            try AtomicFile.write(header, to: partial)
            return 0
        }
        let startOver = "delete \(partial) and \(sidecar) to start over"
        guard let data = manager.contents(atPath: sidecar), let stored = try? JSONScanner.parse(Array(data)) else {
            throw PipelineError.invalidInput(what: partial, problem: "has no readable \(sidecar); \(startOver)")
        }
        for (key, value) in identity.fields where stored[key]?.text != value {
            throw PipelineError.invalidInput(
                what: partial,
                problem:
                    "was started with \(key) \(stored[key]?.text ?? "missing"), this run has \(value); \(startOver)")
        }
        let size = (try? manager.attributesOfItem(atPath: partial)[.size] as? NSNumber)?.intValue ?? 0
        let handle = FileHandle(forReadingAtPath: partial)
        let prefix = (try? handle?.read(upToCount: header.count)).flatMap { $0.map(Array.init) } ?? []
        try? handle?.close()
        guard size >= header.count, prefix == header else {
            throw PipelineError.invalidInput(
                what: partial, problem: "does not start with the expected header; \(startOver)")
        }
        let done = min(identity.windowCount, (size - header.count) / windowBytes)
        guard truncate(partial, off_t(header.count + done * windowBytes)) == 0 else {
            throw SteeringError.io(
                path: partial, problem: "cannot cut back to whole windows: \(AtomicFile.systemError())")
        }
        return done
    }
}
