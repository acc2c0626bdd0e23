import Foundation

/// A file-system error in words: what went wrong and where, instead of Foundation's
/// "NSCocoaErrorDomain Code=513".
public func describeFileError(_ error: Error, path fallbackPath: String? = nil) -> String {
    let ns = error as NSError
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path ?? fallbackPath
    let posix: Int32? = {
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain { return Int32(u.code) }
        return nil
    }()
    var what: String
    if let posix { what = describeErrno(posix) } else if ns.domain == NSCocoaErrorDomain {
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: what = "no such file or folder"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: what = "permission denied"
        case NSFileWriteFileExistsError: what = "a file or folder of that name already exists"
        case NSFileWriteOutOfSpaceError: what = "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: what = "the file system is read-only"
        case NSFileReadCorruptFileError: what = "the file is damaged or not in the expected format"
        case NSFileReadInapplicableStringEncodingError: what = "the file is not UTF-8 text"
        case NSFileReadTooLargeError: what = "the file is too large"
        case NSFileReadUnknownError: what = "it could not be read"
        case NSFileWriteUnknownError: what = "it could not be written (the folder may be missing, read-only or full)"
        default: what = "file error \(ns.code)"
        }
    } else {
        return "\(error)"
    }
    if let path {
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileWriteUnknownError || ns.code == NSFileReadUnknownError,
           let file = firstFileAncestor(path) {
            what = "'\(file)' is a file, not a folder"
        }
        what = "'\(path)': " + what
    }
    return what
}

/// errno in words, with the usual causes named.
public func describeErrno(_ code: Int32) -> String {
    switch code {
    case EACCES, EPERM: return "permission denied"
    case ENOENT: return "no such file or folder"
    case EEXIST: return "already exists"
    case ENOSPC: return "no space left on the device"
    case EROFS: return "the file system is read-only"
    case ENOTDIR: return "a part of the path is a file, not a folder"
    case EISDIR: return "is a folder, not a file"
    case EDQUOT: return "disk quota exceeded"
    default: return String(cString: strerror(code)).lowercased()
    }
}

/// The first proper ancestor of `path` that exists and is a regular file (why a folder cannot be made there).
func firstFileAncestor(_ path: String) -> String? {
    var url = URL(fileURLWithPath: path).deletingLastPathComponent()
    while url.path != "/" && !url.path.isEmpty {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) { return isDir.boolValue ? nil : url.path }
        url = url.deletingLastPathComponent()
    }
    return nil
}
