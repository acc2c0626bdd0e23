import Foundation

/// A file could not be written; names the path and the cause.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write '\(path)': \(reason)" }
}

/// Writes files atomically: data goes to a temporary file in the same folder, is flushed to
/// disk, then renamed over the target. A crash never leaves a half-written file, and the
/// previous version survives until the new one is complete.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw FileWriteError(path: url.path, reason: "cannot create folder '\(dir.path)': \(describeFileError(error))")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { let e = errno; throw FileWriteError(path: url.path, reason: describeErrno(e)) }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; return }
                offset += n
            }
        }
        let err = ok ? 0 : errno
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            let reason = describeErrno(err != 0 ? err : errno)
            unlink(tmp.path)
            throw FileWriteError(path: url.path, reason: reason)
        }
    }

    public static func write(_ string: String, to url: URL) throws {
        try write(Data(string.utf8), to: url)
    }
}
