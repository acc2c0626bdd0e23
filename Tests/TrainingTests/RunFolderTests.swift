import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricTraining

/// Run folders hold up under mistakes: no run is overwritten or mixed with another, default names
/// never collide, `evaluate` never invents a finished status, damaged checkpoints are clear errors.
final class RunFolderTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-folders" }

    /// A small, fast model: one run takes a fraction of a second.
    let small = ["--set", "model.N=16", "--set", "network.phi_hidden=32", "--set", "network.rho_hidden=32",
                 "--set", "method.omega_quadrature_nodes=2", "--set", "method.test_trajectories=2"]

    func solve(_ out: URL?, _ extra: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runToEnd(["solve", "--quiet"] + (out.map { ["--out", $0.path] } ?? []) + small + extra)
    }

    func data(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    // MARK: Overwriting (issue 11, item 1)

    func testSolveRefusesAFolderHoldingAnotherRunAndOverwriteMovesItAside() throws {
        let R = dir.appendingPathComponent("R")
        XCTAssertEqual(try solve(R, ["--set", "trainer.max_epochs=1", "--seed", "1"]).status, RunStatus.notConverged.exitCode)
        let original = try data(R.appendingPathComponent("metrics.json"))

        let refused = try solve(R, ["--set", "trainer.max_epochs=1", "--seed", "2"])
        XCTAssertEqual(refused.status, RunStatus.errorExitCode)
        XCTAssertTrue(refused.stderr.contains("--resume") && refused.stderr.contains("--overwrite"), refused.stderr)
        XCTAssertEqual(try data(R.appendingPathComponent("metrics.json")), original, "the finished run is untouched")

        let replaced = try solve(R, ["--set", "trainer.max_epochs=1", "--seed", "2", "--overwrite"])
        XCTAssertEqual(replaced.status, RunStatus.notConverged.exitCode, replaced.stderr)
        XCTAssertEqual(try metrics(R)["seed"] as? Int, 2)
        let aside = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("R.replaced-") }
        XCTAssertEqual(aside.count, 1, "the old run was moved aside, not deleted")
        let old = dir.appendingPathComponent(aside[0])
        XCTAssertEqual(try data(old.appendingPathComponent("metrics.json")), original)
        for name in ["config.yaml", "last.safetensors", "history.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: old.appendingPathComponent(name).path), name)
        }
        // a folder of other files is never a run folder
        let other = dir.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try "mine".write(to: other.appendingPathComponent("thesis.tex"), atomically: true, encoding: .utf8)
        let foreign = try solve(other, ["--set", "trainer.max_epochs=1", "--overwrite"])
        XCTAssertEqual(foreign.status, RunStatus.errorExitCode)
        XCTAssertTrue(foreign.stderr.contains("not a run folder"), foreign.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other.path).filter { !$0.hasPrefix(".") }, ["thesis.tex"])
    }

    /// `--resume` refuses a config edited since the checkpoint (naming the key) and a run that has ended.
    func testResumeRefusesAnEditedConfigAndAFinishedRun() throws {
        let R = dir.appendingPathComponent("R")
        XCTAssertEqual(try solve(R, ["--set", "trainer.max_epochs=2"]).status, RunStatus.notConverged.exitCode)
        let finished = try runToEnd(["solve", "--resume", R.path])
        XCTAssertEqual(finished.status, RunStatus.errorExitCode)
        XCTAssertTrue(finished.stderr.contains("has ended"), finished.stderr)

        // as if killed: no metrics.json
        try FileManager.default.removeItem(at: R.appendingPathComponent("metrics.json"))
        let config = R.appendingPathComponent("config.yaml")
        let text = try String(contentsOf: config, encoding: .utf8)
        XCTAssertTrue(text.contains("  N: 16"))
        try text.replacingOccurrences(of: "  N: 16", with: "  N: 32").write(to: config, atomically: true, encoding: .utf8)
        let edited = try runToEnd(["solve", "--resume", R.path])
        XCTAssertEqual(edited.status, RunStatus.errorExitCode)
        XCTAssertTrue(edited.stderr.contains("model.N is 32 in config.yaml but 16 in the checkpoint"), edited.stderr)
        let evaluated = try runToEnd(["evaluate", R.path])
        XCTAssertEqual(evaluated.status, RunStatus.errorExitCode, "evaluate refuses it too")
        XCTAssertTrue(evaluated.stderr.contains("cannot evaluate") && evaluated.stderr.contains("model.N"), evaluated.stderr)
        try text.write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runToEnd(["solve", "--quiet", "--resume", R.path]).status, RunStatus.notConverged.exitCode)
    }

    func testEmptyOutIsRejected() throws {
        let r = try solve(nil, ["--out", "", "--set", "trainer.max_epochs=1"])
        XCTAssertEqual(r.status, RunStatus.usageExitCode)
        XCTAssertTrue(r.stderr.contains("--out"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "nothing written into the current folder")
    }

    // MARK: Default names (item 2)

    /// Four quick solves in a loop keep four runs (the old `runs/<UTC second>` kept one).
    func testDefaultRunFoldersAreUniqueForQuickSolvesInALoop() throws {
        for seed in 1...4 {
            XCTAssertEqual(try solve(nil, ["--set", "trainer.max_epochs=1", "--seed", "\(seed)"]).status, RunStatus.notConverged.exitCode)
        }
        let runs = dir.appendingPathComponent("runs")
        let names = try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted()
        XCTAssertEqual(names.count, 4, "\(names)")
        XCTAssertEqual(Set(try names.map { try metrics(runs.appendingPathComponent($0))["seed"] as? Int }), [1, 2, 3, 4])
        // created atomically: many in the same millisecond are still distinct, and each is new and empty
        let parent = dir.appendingPathComponent("many")
        let folders = try (0..<200).map { _ in try RunFolder.unique(seed: 7, under: parent).url.path }
        XCTAssertEqual(Set(folders).count, 200)
    }

    // MARK: evaluate (item 3)

    func testEvaluateKeepsTheStatusItFindsSaysWhatItEvaluatedAndRespectsTheLock() throws {
        let R = dir.appendingPathComponent("R")
        XCTAssertEqual(try solve(R, ["--set", "trainer.max_epochs=3"]).status, RunStatus.notConverged.exitCode)
        let before = try metrics(R)

        let finished = try runToEnd(["evaluate", R.path])
        XCTAssertEqual(finished.status, RunStatus.notConverged.exitCode, finished.stderr)
        var m = try metrics(R)
        XCTAssertEqual(m["status"] as? String, "not_converged")
        XCTAssertEqual(m["stop_reason"] as? String, before["stop_reason"] as? String)
        XCTAssertEqual(m["epochs"] as? Int, 3)
        XCTAssertEqual(m["evaluated_checkpoint"] as? String, "best.safetensors")
        let bestEpoch = try XCTUnwrap(m["evaluated_epoch"] as? Int)
        XCTAssertTrue((1...3).contains(bestEpoch))
        XCTAssertEqual("\(m["test_mse"]!)", "\(before["test_mse"]!)", "the same weights, the same test paths")
        XCTAssertTrue(finished.stderr.contains("epoch \(bestEpoch) of 3"), finished.stderr)

        // a killed run (no end status) stays unfinished and resumable
        try FileManager.default.removeItem(at: R.appendingPathComponent("metrics.json"))
        let killed = try runToEnd(["evaluate", R.path])
        XCTAssertEqual(killed.status, RunStatus.unfinishedExitCode)
        XCTAssertTrue(killed.stdout.split(separator: "\n").last?.hasPrefix("status: unfinished") ?? false, killed.stdout)
        m = try metrics(R)
        XCTAssertEqual(m["status"] as? String, "unfinished")
        XCTAssertTrue(m["stop_reason"] is NSNull)
        XCTAssertEqual(RunFolder(R).contents(), .run(status: nil))
        XCTAssertEqual(try Report.collect([dir]).count, 0, "report leaves it out")
        XCTAssertEqual(Report.unfinished([dir]).map(\.lastPathComponent), ["R"])
        XCTAssertEqual(try runToEnd(["solve", "--quiet", "--resume", R.path]).status, RunStatus.notConverged.exitCode)
        XCTAssertEqual(try metrics(R)["status"] as? String, "not_converged")

        // a folder another process holds is not evaluated
        let fd = try RunFolder(R).lock()
        defer { RunFolder.unlock(fd) }
        let busy = try runToEnd(["evaluate", R.path])
        XCTAssertEqual(busy.status, RunStatus.errorExitCode)
        XCTAssertTrue(busy.stderr.contains("in use by another symdp process"), busy.stderr)
    }

    // MARK: Checkpoint metadata (item 7)

    /// Negative, non-numeric or missing counters are clear errors naming the file and the key,
    /// never a trap (exit 132) and never a silent "epoch 0".
    func testDamagedCheckpointMetadataIsAClearError() throws {
        let R = dir.appendingPathComponent("R")
        XCTAssertEqual(try solve(R, ["--set", "trainer.max_epochs=2"]).status, RunStatus.notConverged.exitCode)
        try FileManager.default.removeItem(at: R.appendingPathComponent("metrics.json"))   // resumable
        let last = R.appendingPathComponent("last.safetensors")
        let file = try Safetensors.read(from: last)
        XCTAssertNoThrow(try CheckpointState(metadata: file.metadata, file: "last"))
        let tensors = file.tensors.map { ($0.key, $0.value) }

        var legacy = file.metadata
        legacy["state"] = nil   // a format-1 checkpoint of the flat keys only
        XCTAssertEqual(try CheckpointState(metadata: legacy, file: "last").epochs, 2)
        func damaged(_ edit: (inout [String: String]) -> Void) -> [String: String] { var m = legacy; edit(&m); return m }
        func stateJSON(_ edit: (inout [String: Any]) -> Void) throws -> [String: String] {
            var state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(file.metadata["state"]!.utf8)) as? [String: Any])
            edit(&state)
            var m = file.metadata
            m["state"] = String(decoding: try JSONSerialization.data(withJSONObject: state), as: UTF8.self)
            return m
        }
        let cases: [(String, [String: String], String)] = [
            ("epochs -5", damaged { $0["epochs"] = "-5" }, "'epochs' is -5"),
            ("epochs abc", damaged { $0["epochs"] = "abc" }, "'epochs' is 'abc', not an integer"),
            ("epochs missing", damaged { $0["epochs"] = nil }, "lacks 'epochs'"),
            ("history of another length", damaged { $0["epochs"] = "7" }, "the history has 2 epochs but 'epochs' says 7"),
            ("no metadata", [:], "no 'format'"),
            ("state epochs -5", try stateJSON { $0["epochs"] = -5 }, "'epochs' is -5"),
            ("state optimizer step missing", try stateJSON { $0["optimizerStep"] = nil }, "missing 'optimizerStep'"),
        ]
        for (name, metadata, expected) in cases {
            XCTAssertThrowsError(try CheckpointState(metadata: metadata, file: "last"), name) {
                XCTAssertTrue("\($0)".contains(expected), "\(name): \($0)")
            }
        }
        // through the CLI: a clear message and exit 1, the checkpoint untouched
        for (name, metadata, expected) in cases.prefix(3) {
            try Safetensors.write(tensors, metadata: metadata, to: last)
            let r = try runToEnd(["solve", "--resume", R.path])
            XCTAssertEqual(r.status, RunStatus.errorExitCode, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected) && r.stderr.contains(last.path), "\(name): \(r.stderr)")
        }
    }

    // MARK: Messages (items 9, 10)

    func testFileErrorsAreInWords() throws {
        let denied = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteNoPermissionError, userInfo: [NSFilePathErrorKey: "/r/.lock"])
        XCTAssertEqual(describeFileError(denied), "'/r/.lock': permission denied")
        let exists = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteFileExistsError, userInfo: [NSFilePathErrorKey: "/r"])
        XCTAssertEqual(describeFileError(exists), "'/r': a file or folder of that name already exists")
        XCTAssertEqual(describeErrno(EACCES), "permission denied")
        // a run folder under a regular file
        let file = dir.appendingPathComponent("file.txt")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let r = try solve(file.appendingPathComponent("run"), ["--set", "trainer.max_epochs=1"])
        XCTAssertEqual(r.status, RunStatus.errorExitCode)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain") || r.stderr.contains("Code="), r.stderr)
        XCTAssertTrue(r.stderr.contains("'\(file.path)' is a file, not a folder"), r.stderr)
    }

    func testDuplicateYAMLKeysAreRejectedNamingTheKeyAndBothLines() throws {
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model:\n  N: 16\n  beta: 0.9\n  N: 32\n")) {
            let e = $0 as! ConfigError
            XCTAssertEqual(e.key, "model.N")
            XCTAssertTrue(e.message.contains("lines 2 and 4"), e.message)
        }
        XCTAssertThrowsError(try RunConfig.parse(yaml: "seed: 1\nmodel:\n  N: 16\nseed: 2\n")) { XCTAssertEqual(($0 as! ConfigError).key, "seed") }
        XCTAssertThrowsError(try SweepSpec.parse(yaml: "seeds: [1]\nseeds: [2]\n")) { XCTAssertEqual(($0 as! ConfigError).key, "seeds") }
        XCTAssertNoThrow(try RunConfig.parse(yaml: "model:\n  N: 16\nmethod:\n  T: 10\n"), "the same key in two sections is fine")
        // a huge value is not echoed back in full
        var c = RunConfig()
        let blob = String(repeating: "9", count: 1_000_000)
        XCTAssertThrowsError(try c.apply(override: "model.beta=x" + blob)) {
            XCTAssertLessThan("\($0)".count, 600)
            XCTAssertTrue("\($0)".contains("model.beta") && "\($0)".contains("1000001 characters"), "\($0)")
        }
        XCTAssertThrowsError(try c.apply(override: "model.N" + blob + "=1")) { XCTAssertLessThan("\($0)".count, 600) }
    }

    // MARK: Sizes (item 6)

    func testSizesBeyondMemoryOrIntegerRangeAreRefusedNamingTheKey() throws {
        func key(_ overrides: [String]) -> String? {
            var c = RunConfig()
            do {
                for o in overrides { try c.apply(override: o) }
                try c.validate()
                try ResourceLimits.check(c)
                return nil
            } catch let e as ConfigError { return e.key } catch { return "?" }
        }
        XCTAssertNil(key([]), "the baseline fits")
        XCTAssertNil(key(["model.N=10000"]), "the paper's largest N fits")
        XCTAssertEqual(key(["model.N=1e9"]), "model.N")
        XCTAssertEqual(key(["model.N=9223372036854775807"]), "model.N")
        XCTAssertEqual(key(["method.T=9223372036854775807"]), "method.T")
        XCTAssertEqual(key(["method.train_trajectories=1e9"]), "method.train_trajectories")
        XCTAssertEqual(key(["network.phi_hidden=1e9"]), "network.phi_hidden")
        XCTAssertEqual(key(["network.rho_hidden=1e8"]), "network.rho_hidden")
        XCTAssertEqual(key(["network.L=1e8"]), "network.L")
        // through the CLI: refused before anything is allocated or written
        let out = dir.appendingPathComponent("huge")
        let r = try solve(out, ["--set", "model.N=1e9"])
        XCTAssertEqual(r.status, RunStatus.errorExitCode)
        XCTAssertTrue(r.stderr.contains("model.N") && r.stderr.contains("memory"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        let riccati = try runToEnd(["lq", "--method", "riccati", "--set", "model.N=1e9"])
        XCTAssertEqual(riccati.status, RunStatus.errorExitCode)
        XCTAssertTrue(riccati.stderr.contains("model.N") && riccati.stderr.contains("closed-form"), riccati.stderr)
        let bench = try runToEnd(["bench", "--N", "0"])
        XCTAssertEqual(bench.status, RunStatus.usageExitCode, "no trap")
        XCTAssertTrue(bench.stderr.contains("--N"), bench.stderr)
    }
}
