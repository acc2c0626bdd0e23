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
}
