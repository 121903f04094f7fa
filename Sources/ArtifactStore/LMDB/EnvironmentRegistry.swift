import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Shares one ``LMDBEnvironment`` among all ``ArtifactStore`` instances of a process that open the
/// same directory.
///
/// LMDB must not open one environment twice in a process: its POSIX record locks belong to the
/// process, so closing the second handle would silently drop the locks of the first and let another
/// process reinitialize the reader table under us. This table is the one piece of process-wide state
/// in the module, and it exists only to honour that rule. Opening and closing both happen under its
/// lock, so an environment is never closed while another open of the same directory is in progress.
enum EnvironmentRegistry {
    /// Identifies a directory independently of how its path is spelled.
    private struct DirectoryIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private struct Entry {
        var environment: LMDBEnvironment
        var users: Int
    }

    private static let table = Mutex<[DirectoryIdentity: Entry]>([:])

    /// Returns the environment for the directory at `path`, opening it if no store of this process
    /// has it open.
    static func acquire(
        directory path: String, readOnly: Bool, initialMapSize: Int?, maxMapSize: Int
    ) throws -> LMDBEnvironment {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ArtifactStoreError(returnCode: errno, path: path, operation: "open")
        }
        let identity = DirectoryIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        return try table.withLock { table in
            if var entry = table[identity] {
                if entry.environment.readOnly, !readOnly {
                    throw ArtifactStoreError.alreadyOpenReadOnly(path: path)
                }
                entry.users += 1
                table[identity] = entry
                return entry.environment
            }
            let environment = try LMDBEnvironment(
                directory: path, readOnly: readOnly, initialMapSize: initialMapSize, maxMapSize: maxMapSize)
            table[identity] = Entry(environment: environment, users: 1)
            return environment
        }
    }

    /// Gives back an environment obtained from ``acquire(directory:readOnly:initialMapSize:maxMapSize:)``;
    /// the last user closes it.
    static func release(_ environment: LMDBEnvironment) {
        table.withLock { table in
            guard let identity = table.first(where: { $0.value.environment === environment })?.key,
                var entry = table[identity]
            else { return }
            entry.users -= 1
            if entry.users == 0 {
                table[identity] = nil
                environment.close()
            } else {
                table[identity] = entry
            }
        }
    }
}
