import Foundation

/// The checks that make a data folder safe to keep state in (assumed behaviour; see `docs/reliability.md`): it is a
/// folder of this user's that no other user can write, and the files the server keeps there are regular files of
/// its own (never symbolic links) that only this user can read. Every refusal names the path, the problem and the fix.
enum DataFolder {
    /// The files the server keeps in a data folder, relative to it.
    static let fileNames = [
        "iotc-mock.sqlite3", "iotc-mock.sqlite3-wal", "iotc-mock.sqlite3-shm", "iotc-mock.lock", "entra-signing-key.pem",
    ]

    /// Creates the folder `path` (mode 700) when it does not exist, then checks it.
    /// - Returns: warnings for a folder that is usable but more open than it should be (others can read it, or its
    ///   group can write it).
    /// - Throws: `MockServer.StartError` for a path that is not a folder, a folder that cannot be created, another
    ///   user's folder, a folder any user can write, a read-only one, or a data file that is not the server's own.
    static func prepare(_ path: String) throws -> [String] {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw refusal(path, "cannot be examined (\(String(cString: strerror(errno))))", fix: "choose another --data-dir, or --in-memory") }
            try create(path)
            guard stat(path, &info) == 0 else { throw refusal(path, "cannot be examined (\(String(cString: strerror(errno))))", fix: "choose another --data-dir, or --in-memory") }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw refusal(path, "is a file, not a folder", fix: "remove or rename it, or choose another --data-dir")
        }
        guard info.st_uid == geteuid() else {
            throw refusal(path, "belongs to the user with uid \(info.st_uid), not to this one (uid \(geteuid()))", fix: "run as that user, `chown` the folder, or choose another --data-dir")
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        guard info.st_mode & 0o002 == 0 else {
            throw refusal(path, "can be written by any user (mode \(mode)), who could replace the files kept in it", fix: "`chmod 700 \(path)`, or choose another --data-dir")
        }
        guard access(path, W_OK) == 0 else {
            if errno == EROFS { throw refusal(path, "is on a read-only file system", fix: "choose a --data-dir on a writable one (a mounted volume), or --in-memory") }
            throw refusal(path, "is read-only (\(String(cString: strerror(errno))))", fix: "make it writable (`chmod u+w`), or use another --data-dir or --in-memory")
        }
        for name in fileNames { try checkOwnFile((path as NSString).appendingPathComponent(name)) }
        if info.st_mode & 0o020 != 0 {
            return ["the data folder \(path) can be written by its group (mode \(mode)); `chmod 700` it so that only you can replace its files."]
        }
        if info.st_mode & 0o077 != 0 {
            return ["the data folder \(path) can be read by others (mode \(mode)); its files are private (600), but `chmod 700` it to hide their names too."]
        }
        return []
    }

    /// Makes the folder and any missing parents (mode 700), explaining the usual failures.
    private static func create(_ path: String) throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var prefix = ""
        for component in absolute.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o700) != 0 else { continue }
            let code = errno
            if code == EEXIST { continue }
            let parent = (prefix as NSString).deletingLastPathComponent
            switch code {
            case EROFS: throw refusal(path, "cannot be created: the file system is read-only", fix: "choose a --data-dir on a writable one (a mounted volume), or --in-memory")
            case EACCES, EPERM: throw refusal(path, "cannot be created: this user (uid \(geteuid())) may not write in \(parent)", fix: "create it first (`mkdir -p \(path)` as a user who may, then `chown` it), or choose another --data-dir or --in-memory")
            case ENOTDIR: throw refusal(path, "cannot be created: \(parent) is a file", fix: "choose another --data-dir")
            default: throw refusal(path, "cannot be created (\(String(cString: strerror(code))))", fix: "choose another --data-dir, or --in-memory")
            }
        }
    }

    /// Refuses a data file that exists but is not a regular file of this user's: a symbolic link (whose target the
    /// server would write through), or a file another user planted. Makes the server's own files private (600).
    static func checkOwnFile(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // not there yet: the server makes it
        guard info.st_mode & S_IFMT == S_IFREG else {
            let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
            throw refusal(path, "is \(what); the server only uses files it made itself", fix: "remove it (and restore the original there if it was moved)")
        }
        guard info.st_uid == geteuid() else {
            throw refusal(path, "belongs to the user with uid \(info.st_uid), not to this one (uid \(geteuid()))", fix: "run as that user, or `chown` it")
        }
        if info.st_mode & 0o077 != 0, chmod(path, 0o600) != 0 {
            throw refusal(path, "cannot be made private (mode 600): \(String(cString: strerror(errno)))", fix: "`chmod 600` it")
        }
    }

    /// Creates the database file private (mode 600) when it does not exist, so that SQLite, which gives its WAL and
    /// shared-memory files the database file's mode, makes them private too, whatever the umask.
    static func createDatabaseFile(_ path: String) throws {
        let created = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard created >= 0 else {
            throw refusal(path, "cannot be opened (\(String(cString: strerror(errno))))", fix: "check the data folder's permissions, or choose another --data-dir")
        }
        close(created)
    }

    private static func refusal(_ path: String, _ problem: String, fix: String) -> MockServer.StartError {
        let subject = fileNames.contains((path as NSString).lastPathComponent) ? path : "the data folder \(path)"
        return MockServer.StartError(description: "\(subject) \(problem); \(fix)")
    }
}
