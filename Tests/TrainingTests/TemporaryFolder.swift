import Foundation
import XCTest

/// A new, uniquely named folder under the system's temporary directory (created unless `create`
/// is false, for code that must create it itself). The caller removes it.
func temporaryFolder(_ prefix: String, create: Bool = true) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    if create { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    return url
}

/// Test cases that write files: each test gets its own empty `dir`, removed afterwards.
class TemporaryFolderTestCase: XCTestCase {
    var dir: URL!
    /// Prefix of the folder's name (which suite left it, should a run be killed).
    class var folderPrefix: String { "symdp" }
    override func setUpWithError() throws { dir = try temporaryFolder(Self.folderPrefix) }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: The command-line tool

    /// The built `symdp` executable (beside the test bundle, or .build/release).
    var symdp: URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("symdp")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/release/symdp").standardized
    }

    /// Runs `symdp arguments…` in `dir`.
    @discardableResult
    func run(_ arguments: [String], wait: Bool = true, environment: [String: String]? = nil) throws -> (process: Process, stdout: Pipe, stderr: Pipe) {
        let p = Process()
        p.executableURL = symdp
        p.arguments = arguments
        p.currentDirectoryURL = dir
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        if wait { p.waitUntilExit() }
        return (p, out, err)
    }

    /// Runs `symdp arguments…` to the end: exit status, stdout and stderr (read while it runs).
    func runToEnd(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try run(arguments, wait: false, environment: environment)
        final class Box: @unchecked Sendable { var data = Data() }
        let err = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { err.data = r.stderr.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let out = r.stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        r.process.waitUntilExit()
        return (r.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err.data, as: UTF8.self))
    }

    func metrics(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("metrics.json"))) as! [String: Any]
    }
}
