import XCTest
import SymmetricTraining

/// Sweeps under mistakes: two sweeps on one folder never train a run twice, a sweep's summary counts
/// every status, bad or huge sweep files are refused before anything runs.
final class SweepReliabilityTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-sweeps" }

    func sweepFile(seeds: String = "[1, 2]", epochs: Int = 2) throws -> URL {
        let file = dir.appendingPathComponent("tiny.yaml")
        try """
        name: tiny
        set: {model.N: 8, network.phi: identity, network.rho_hidden: 16, trainer.max_epochs: \(epochs), method.test_trajectories: 2}
        grid: {network.rho_layers: [1, 2]}
        seeds: \(seeds)
        out: \(dir.appendingPathComponent("out").path)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The summary line counts each status; runs that end not_converged are not errors.
    func testSweepSummaryCountsEachStatus() throws {
        let r = try runToEnd(["sweep", try sweepFile().path, "--jobs", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sweep tiny: 4 runs: 0 solved, 4 not_converged, 0 failed, 0 diverged"), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "not_converged, test_mse").count - 1, 4, r.stderr)
        let again = try runToEnd(["sweep", try sweepFile().path])
        XCTAssertTrue(again.stderr.contains("4 already finished, 0 to run"), again.stderr)
        XCTAssertTrue(again.stderr.contains("sweep tiny: 4 runs: 0 solved, 4 not_converged, 0 failed, 0 diverged"), again.stderr)
    }

    /// `symdp sweep s.yaml & symdp sweep s.yaml`: every run is trained by exactly one of them, the
    /// other skips it (claimed) instead of failing, and both exit 0.
    func testTwoSweepsOnOneFolderTrainEachRunOnce() throws {
        let file = try sweepFile(seeds: "[1, 2, 3]", epochs: 4)
        let a = try run(["sweep", file.path, "--jobs", "1"], wait: false)
        let b = try run(["sweep", file.path, "--jobs", "1"], wait: false)
        final class Box: @unchecked Sendable { var text = "" }
        let errA = Box(), errB = Box()
        let group = DispatchGroup()
        for (p, box) in [(a, errA), (b, errB)] {
            group.enter()
            DispatchQueue.global().async { box.text = String(decoding: p.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self); group.leave() }
        }
        group.wait()
        a.process.waitUntilExit(); b.process.waitUntilExit()
        XCTAssertEqual(a.process.terminationStatus, 0, errA.text)
        XCTAssertEqual(b.process.terminationStatus, 0, errB.text)
        let both = errA.text + errB.text
        XCTAssertFalse(both.contains("ERROR") || both.contains("FAILED"), both)
        let spec = try SweepSpec.load(path: file.path)
        for r in try spec.runs() {
            let trained = both.components(separatedBy: "] \(r.folder): ").count - 1
            XCTAssertEqual(trained, 1, "\(r.folder) trained \(trained) times:\n\(both)")
            XCTAssertEqual(r.status(in: URL(fileURLWithPath: spec.out)), .finished)
            // one process wrote the log: one "solving" line
            let log = try String(contentsOf: URL(fileURLWithPath: spec.out).appendingPathComponent(r.folder).appendingPathComponent("log.txt"), encoding: .utf8)
            XCTAssertEqual(log.components(separatedBy: "solving investment").count - 1, 1, log)
        }
    }

    /// An empty or unreadable metrics.json, or one `evaluate` wrote for an unfinished run, is not finished.
    func testOnlyAnEndStatusMakesARunFinished() throws {
        let file = try sweepFile()
        let spec = try SweepSpec.load(path: file.path)
        let root = URL(fileURLWithPath: spec.out), run = try spec.runs()[0]
        let folder = root.appendingPathComponent(run.folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertEqual(run.status(in: root), .pending)
        for text in ["", "{not json", "{\"status\": \"unfinished\"}", "{\"status\": \"done\"}"] {
            try text.write(to: folder.appendingPathComponent("metrics.json"), atomically: true, encoding: .utf8)
            XCTAssertEqual(run.status(in: root), .pending, text)
        }
        try Data().write(to: folder.appendingPathComponent("last.safetensors"))
        XCTAssertEqual(run.status(in: root), .interrupted)
        try "{\"status\": \"failed\"}".write(to: folder.appendingPathComponent("metrics.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(run.status(in: root), .finished)
        XCTAssertEqual(run.endStatus(in: root), .failed)
        // a process holding the folder's lock: running
        let fd = try RunFolder(folder).lock()
        XCTAssertEqual(run.status(in: root), .running)
        RunFolder.unlock(fd)
    }

    func testDuplicateSeedsAndHugeGridsAreErrors() throws {
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "seeds: [1, 2, 1]\n")) {
            let e = $0 as! ConfigError
            XCTAssertEqual(e.key, "seeds")
            XCTAssertTrue(e.message.contains("seed 1 appears twice"), e.message)
        }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "grid:\n  model.N: [16, 16]\n")) { XCTAssertEqual(($0 as! ConfigError).key, "grid.model.N") }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "seeds: {from: 1, to: 100000000}\n")) { XCTAssertEqual(($0 as! ConfigError).key, "seeds") }
        // 9 keys × 10 values = 10⁹ runs: refused before expanding (in well under a second, no memory)
        let keys = ["model.beta", "model.gamma", "model.sigma", "model.eta", "model.delta", "model.alpha_0", "model.alpha_1",
                    "optimizer.lr", "method.X_0_loc"]
        let grid = keys.map { "  \($0): [" + (1...10).map { "0.\(80 + $0)" }.joined(separator: ", ") + "]" }.joined(separator: "\n")
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "grid:\n\(grid)\n")) {
            let e = $0 as! ConfigError
            XCTAssertEqual(e.key, "grid")
            XCTAssertTrue(e.message.contains("1e+09 runs"), e.message)
        }
        // a run too large for memory is refused when the sweep is read, naming the configuration
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "configurations:\n  - name: Huge\n    set: {model.N: 1000000000}\n")) {
            let e = $0 as! ConfigError
            XCTAssertEqual(e.key, "model.N")
            XCTAssertTrue(e.message.contains("configuration 'Huge'"), e.message)
        }
    }

    /// `report` on an incomplete sweep says how many runs never started and how many have not ended.
    func testReportCountsRunsThatHaveNotStartedOrEnded() throws {
        let file = try sweepFile()
        XCTAssertEqual(try runToEnd(["sweep", file.path, "--shard", "0/2"]).status, 0)   // runs 0 and 2 of 4
        let spec = try SweepSpec.load(path: file.path)
        let root = URL(fileURLWithPath: spec.out), runs = try spec.runs()
        try FileManager.default.removeItem(at: root.appendingPathComponent(runs[2].folder).appendingPathComponent("metrics.json"))
        let r = try runToEnd(["report", root.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sweep tiny: 2 run(s) have not started"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 run(s) have not ended"), r.stderr)
        XCTAssertTrue(r.stdout.contains("2 run(s) of the sweep(s) have not started"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 run folder(s) have not ended"), r.stdout)
        XCTAssertTrue(r.stdout.contains("| base, network.rho_layers=1 | 1 |"), r.stdout)
    }

    /// Process ids whose parent is `parent` (from /proc).
    func children(of parent: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }

    /// A sweep killed with SIGKILL does not leave its run training (an orphan would hold the
    /// folder and inflate other runs' times): the run stops, releases its lock and stays resumable.
    func testRunsStopWhenTheirSweepIsKilled() throws {
        let file = dir.appendingPathComponent("long.yaml")
        try """
        name: long
        set: {model.N: 8, network.phi: identity, network.rho_hidden: 16, trainer.max_epochs: 1000000, trainer.patience: 1000000,
              trainer.stopping_threshold: 0, method.test_trajectories: 2}
        seeds: [1]
        out: \(dir.appendingPathComponent("out").path)
        """.write(to: file, atomically: true, encoding: .utf8)
        let sweep = try run(["sweep", file.path], wait: false)
        let runFolder = dir.appendingPathComponent("out/base/seed-1")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("last.safetensors").path) && Date() < deadline && sweep.process.isRunning {
            usleep(20_000)
        }
        let kids = children(of: sweep.process.processIdentifier)
        XCTAssertEqual(kids.count, 1, "one run process")
        defer { for k in kids { kill(k, SIGKILL) } }   // never leave one behind, whatever the outcome
        kill(sweep.process.processIdentifier, SIGKILL)
        sweep.process.waitUntilExit()
        let child = try XCTUnwrap(kids.first)
        let gone = Date().addingTimeInterval(30)
        while kill(child, 0) == 0 && Date() < gone {
            // a zombie (exited, not yet reaped by its new parent) has stopped too
            if let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].hasPrefix(" Z") { break }
            usleep(50_000)
        }
        let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)
        let stopped = stat == nil || stat!.split(separator: ")").last!.hasPrefix(" Z")
        XCTAssertTrue(stopped, "the run process \(child) is still training after its sweep was killed")
        XCTAssertFalse(RunFolder.isLocked(runFolder))
        let spec = try SweepSpec.load(path: file.path)
        XCTAssertEqual(try spec.runs()[0].status(in: URL(fileURLWithPath: spec.out)), .interrupted, "resumable")
    }
}
