import SteeringCore

/// Atomic file writing with ``TensorFormatError``s instead of the core's `SteeringError`s.
enum AtomicWrites {
    /// Writes `bytes` to `path` atomically.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try stream(to: path) { sink in try bytes.withUnsafeBytes { try sink($0) } }
    }

    /// Streams content to `path` atomically: `body` receives a function that appends bytes to the file.
    static func stream(to path: String, _ body: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    {
        do {
            try AtomicFile.write(to: path) { handle in
                try body { buffer in try AtomicFile.writeAll(handle, buffer, path: path) }
            }
        } catch let error as SteeringError {
            if case .io(_, let problem) = error { throw TensorFormatError(path: path, problem) }
            throw TensorFormatError(path: path, error.description)
        }
    }
}
