#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only view of a whole file's bytes: a private memory map of a file on disk, or an in-memory
/// copy (for data that did not come from a file). The map is removed in `deinit`.
///
/// Sendable: the bytes never change after `init` (the map is `PROT_READ`), and the class has no mutable
/// state. If another process truncates the file while it is mapped, reading the lost pages raises SIGBUS;
/// that is the one hazard mapping cannot rule out.
public final class MappedFile: @unchecked Sendable {
    /// The file the bytes came from (or the label given to in-memory bytes), for messages.
    public let path: String
    private let base: UnsafeMutableRawPointer?
    private let count: Int
    private let isMapped: Bool

    /// Maps the file at `path` read-only.
    /// - Throws: ``TensorFormatError`` when the file is missing, unreadable, a directory or another
    ///   non-regular file, or empty.
    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw TensorFormatError(path: path, "no such file; check the path") }
            throw TensorFormatError(path: path, "cannot open the file: \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw TensorFormatError(path: path, "cannot stat the file: \(String(cString: strerror(errno)))")
        }
        let kind = status.st_mode & S_IFMT
        if kind == S_IFDIR {
            throw TensorFormatError(path: path, "is a directory, not a file; give the path of the file inside it")
        }
        guard kind == S_IFREG else {
            throw TensorFormatError(path: path, "is not a regular file (a device, pipe or socket); give a file path")
        }
        guard status.st_size > 0 else {
            throw TensorFormatError(path: path, "the file is empty (0 bytes); it was probably not written completely")
        }
        guard let size = Int(exactly: status.st_size) else {
            throw TensorFormatError(path: path, "the file is too large to map (\(status.st_size) bytes)")
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw TensorFormatError(
                path: path, "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = address
        count = size
        isMapped = true
    }

    /// Holds a copy of `bytes` in memory, 64-byte aligned, under the label `path` (used in messages).
    public init(copying bytes: some Collection<UInt8>, path: String) {
        self.path = path
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        let written = buffer.initializeMemory(as: UInt8.self, fromContentsOf: bytes)
        base = buffer.baseAddress
        count = written.count
        isMapped = false
    }

    deinit {
        guard let base else { return }
        if isMapped {
            munmap(base, count)
        } else {
            base.deallocate()
        }
    }

    /// Every byte of the file. Valid while `self` is alive; do not let it escape further.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// The file size in bytes.
    public var byteCount: Int { count }

    /// Tells the kernel this process no longer needs the pages wholly inside `range` (a part of
    /// ``bytes``): they leave this process's resident set (the page cache keeps them) and are read
    /// again if touched. Used after converting a tensor that is not kept in place.
    public func releasePages(of range: UnsafeRawBufferPointer) {
        guard isMapped, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let low = (Int(bitPattern: start) + page - 1) / page * page
        let high = (Int(bitPattern: start) + range.count) / page * page
        guard high > low, let address = UnsafeMutableRawPointer(bitPattern: low) else { return }
        _ = madvise(address, high - low, Int32(MADV_DONTNEED))
    }
}
