import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes files so that readers see either the old file or the complete new one, never a partial file.
public enum AtomicFile {
    /// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it over `path`.
    /// On any failure the temporary file is removed and `path` is untouched.
    /// - Throws: ``SteeringError/io(path:problem:)`` naming the path and the system's reason, or
    ///   whatever `body` throws.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let array = Array(bytes)
        try write(to: path) { handle in
            try array.withUnsafeBytes { buffer in try writeAll(handle, buffer, path: path) }
        }
    }

    /// Streams content through `body`, which receives an open file descriptor; the file appears at
    /// `path` only if `body` returns normally.
    public static func write(to path: String, _ body: (Int32) throws -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let dirForTemp = directory.isEmpty ? "." : directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SteeringError.io(path: path, problem: "is a directory; give a file path to write")
        }
        guard FileManager.default.fileExists(atPath: dirForTemp, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw SteeringError.io(path: path, problem: "the directory \(dirForTemp) does not exist; create it first")
        }
        let name = (path as NSString).lastPathComponent
        let temp = "\(dirForTemp)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SteeringError.io(path: path, problem: "cannot create a file here: \(systemError())")
        }
        do {
            try body(fd)
            guard fsync(fd) == 0 else { throw SteeringError.io(path: path, problem: "fsync failed: \(systemError())") }
            guard close(fd) == 0 else {
                unlink(temp)
                throw SteeringError.io(path: path, problem: "close failed: \(systemError())")
            }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let reason = systemError()
            unlink(temp)
            throw SteeringError.io(path: path, problem: "cannot move the finished file into place: \(reason)")
        }
    }

    /// Writes every byte of `buffer` to `handle`, retrying short writes.
    public static func writeAll(_ handle: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(SteeringError) {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(handle, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SteeringError.io(path: path, problem: "write failed: \(systemError()) (is the disk full?)")
            }
            offset += n
        }
    }

    /// The current `errno` in words.
    public static func systemError() -> String { String(cString: strerror(errno)) }
}
