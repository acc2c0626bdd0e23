import ArgumentParser
import Foundation
import SymmetricNumerics
import SymmetricTraining

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a study: configurations × grid × seeds, each run in its own folder; restartable and shardable.",
        discussion: """
        A sweep file names a base config, optional named configurations (rows of a table), an optional grid of
        key values and a list of seeds (see docs/sweeps.md). Finished runs (with metrics.json) are skipped and
        interrupted ones resumed, so a sweep can be started again after a crash or kill and loses nothing.

          symdp sweep sweeps/table2_identity.yaml --jobs 2
          symdp sweep sweeps/table2_identity.yaml --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
          symdp sweep sweeps/table2_identity.yaml --slurm > job.sbatch && sbatch job.sbatch
          symdp report runs/sweeps/table2_identity
        """)

    @Argument(help: "Sweep file (YAML).") var file: String
    @Option(help: "Runs at once on this machine (each gets cores/jobs threads).") var jobs = 1
    @Option(help: "Run only shard i of n (0 ≤ i < n), e.g. --shard 3/16: runs i, i+n, i+2n, …") var shard: String?
    @Option(help: "Root folder for the run folders (default: the sweep's `out`).") var out: String?
    @Option(help: "Run only these configurations (comma-separated names), e.g. --only Baseline.") var only: String?
    @Flag(help: "List the runs and their status; run nothing.") var list = false
    @Flag(help: "Print an sbatch script that runs the sweep as a Slurm job array.") var slurm = false
    @Option(help: "Slurm: array tasks (default: one per run, at most 64).") var slurmTasks: Int?
    @Option(help: "Slurm: CPUs per task.") var slurmCpus = 2
    @Option(help: "Slurm: time limit per task.") var slurmTime = "02:00:00"
    @Option(help: "Slurm: partition.") var slurmPartition: String?

    func run() throws {
        do { try execute() } catch let e as ValidationError { throw e } catch { throw CLIError(error) }
    }

    func parseShard() throws -> (Int, Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw ValidationError("--shard must be i/n with 0 ≤ i < n (Slurm: --array=0-(n-1)), got '\(shard)'")
        }
        return (i, n)
    }

    func execute() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1") }
        let spec = try SweepSpec.load(path: file)
        let root = URL(fileURLWithPath: out ?? spec.out)
        let all = try spec.runs()
        if slurm { print(slurmScript(spec: spec, runs: all.count)); return }
        var selected = try parseShard().map { try spec.runs(shard: $0.0, of: $0.1) } ?? all
        if let only {
            let names = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let known = Set(spec.configurations.map(\.name))
            if let bad = names.subtracting(known).first {
                throw ValidationError("--only: no configuration named '\(bad)'; the sweep has: \(spec.configurations.map(\.name).joined(separator: ", "))")
            }
            selected = selected.filter { names.contains($0.configuration) }
        }
        if list {
            print("sweep \(spec.name): \(all.count) runs in \(root.path)" + (shard.map { ", shard \($0): \(selected.count) runs" } ?? ""))
            for r in selected {
                let state = r.status(in: root)
                print("  [\(state.rawValue)\(state == .finished ? (r.endStatus(in: root).map { ": \($0.rawValue)" } ?? "") : "")] \(r.folder)")
            }
            return
        }
        let todo = selected.filter { $0.status(in: root) != .finished }
        let threads = max(1, Parallelism.threads / jobs)
        FileHandle.standardError.write("sweep \(spec.name): \(selected.count) runs\(shard.map { " (shard \($0))" } ?? ""), \(selected.count - todo.count) already finished, \(todo.count) to run with \(jobs) job(s) × \(threads) thread(s) → \(root.path)\n".data(using: .utf8)!)
        let pool = RunPool(executable: try selfExecutable(), jobs: jobs, threads: threads)
        var errors = 0, held = 0
        for run in todo {
            let dir = root.appendingPathComponent(run.folder)
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw SolverError("cannot create run folder: \(describeFileError(error, path: dir.path))")
            }
            let folder = RunFolder(dir)
            pool.acquireSlot()
            // claim the run: a lock held by this sweep until the run's process ends, so that a second
            // sweep on the same folder skips it instead of training it again
            guard let claim = try SweepClaim(dir) else {
                pool.releaseSlot()
                FileHandle.standardError.write("  skip \(run.folder): claimed by another sweep process\n".data(using: .utf8)!)
                held += 1
                continue
            }
            let state = run.status(in: root)   // again, now that it is ours
            guard state != .finished, state != .running else {
                claim.release(); pool.releaseSlot()
                if state == .running {
                    FileHandle.standardError.write("  skip \(run.folder): running in another process\n".data(using: .utf8)!)
                    held += 1
                }
                continue
            }
            try AtomicFile.write(run.descriptor(sweep: spec.name, runs: all.count), to: dir.appendingPathComponent("run.json"))
            let arguments: [String]
            if state == .interrupted {
                arguments = ["solve", "--resume", dir.path]
            } else {
                try AtomicFile.write(run.config.yaml(), to: folder.config)
                arguments = ["solve", "--config", folder.config.path, "--out", dir.path, "--overwrite"]
            }
            pool.start(arguments: arguments, log: dir.appendingPathComponent("log.txt")) { code, seconds in
                claim.release()
                let m = (try? JSONSerialization.jsonObject(with: Data(contentsOf: folder.metrics))) as? [String: Any]
                var line = "  [\(run.index + 1)/\(all.count)] \(run.folder): "
                if let m, let status = RunStatus(metrics: m), status.exitCode == code {
                    line += status.rawValue + ", "
                    line += "test_mse \((m["test_mse"] as? Double).map(sci) ?? "–")"
                    if let p = m["policy_rel_error"] as? Double { line += String(format: p < 10 ? ", policy %.3f %%" : ", policy %.3g %%", 100 * p) }
                    if status == .solved, let fit = m["seconds"] as? Double { line += String(format: ", fit %.1f s", fit) }
                    if let a = m["attempts"] as? Int, a > 1 { line += ", \(a) attempts" }
                    line += String(format: ", this process %.1f s", seconds) + ((m["stop_reason"] as? String).map { "  (\($0))" } ?? "")
                } else {
                    line += "ERROR: exit status \(code) without an end status; see \(dir.appendingPathComponent("log.txt").path)"
                    errors += 1
                }
                FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            }
        }
        pool.wait()
        // the summary: every selected run by its end status, then what is not finished
        var counts: [RunStatus: Int] = [:]
        var unfinished = 0
        for run in selected {
            if let s = run.endStatus(in: root) { counts[s, default: 0] += 1 } else { unfinished += 1 }
        }
        var summary = "sweep \(spec.name): \(selected.count) runs: " + RunStatus.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        if unfinished > 0 { summary += "; \(unfinished) not finished" + (held > 0 ? " (\(held) held by another process)" : "") }
        if errors > 0 { summary += "; \(errors) ended with an error (no status)" }
        FileHandle.standardError.write((summary + "\n").data(using: .utf8)!)
        if errors > 0 { throw ExitCode(RunStatus.errorExitCode) }
    }

    func slurmScript(spec: SweepSpec, runs: Int) -> String {
        let tasks = max(1, min(slurmTasks ?? min(runs, 64), runs))
        let exe = (try? selfExecutable().path) ?? "symdp"
        let sweepFile = URL(fileURLWithPath: file).standardized.path
        var s = "#!/bin/bash\n"
        s += "#SBATCH --job-name=symdp-\(spec.name)\n"
        s += "#SBATCH --array=0-\(tasks - 1)\n"
        s += "#SBATCH --cpus-per-task=\(slurmCpus)\n"
        s += "#SBATCH --time=\(slurmTime)\n"
        if let p = slurmPartition { s += "#SBATCH --partition=\(p)\n" }
        s += "#SBATCH --output=\(spec.name)-%A_%a.log\n"
        s += "# \(runs) runs of sweep '\(spec.name)' split into \(tasks) array tasks; rerun the same array to finish what is left.\n"
        s += "set -euo pipefail\n"
        s += "cd \(FileManager.default.currentDirectoryPath)\n"
        s += "export SYMDP_THREADS=${SLURM_CPUS_PER_TASK:-\(slurmCpus)}\n"
        s += "\(exe) sweep \(sweepFile)\(out.map { " --out \($0)" } ?? "") --shard ${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}\n"
        s += "# afterwards: \(exe) report \(out ?? spec.out)\n"
        return s
    }
}

/// A sweep's claim on one run folder: an exclusive lock on `<run>/.claim`, held until the run's
/// process ends (released by the OS if the sweep dies). Not inherited by child processes.
final class SweepClaim: @unchecked Sendable {
    let fd: Int32
    /// nil when another process holds the claim.
    init?(_ dir: URL) throws {
        let path = dir.appendingPathComponent(".claim").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { let e = errno; throw SolverError("cannot claim run folder '\(dir.path)': '\(path)': \(describeErrno(e))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
        self.fd = fd
    }
    func release() { flock(fd, LOCK_UN); close(fd) }
}

/// The path of this executable (to start runs as child processes).
func selfExecutable() throws -> URL {
    let proc = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    if FileManager.default.isExecutableFile(atPath: proc.path), proc.path != "/proc/self/exe" { return proc }
    if let url = Bundle.main.executableURL { return url }
    throw ValidationError("cannot find the symdp executable to start runs")
}

/// Runs child processes, at most `jobs` at a time.
final class RunPool: @unchecked Sendable {
    let executable: URL
    let threads: Int
    let slots: DispatchSemaphore
    let group = DispatchGroup()
    let lock = NSLock()
    var children: [Process] = []

    init(executable: URL, jobs: Int, threads: Int) {
        self.executable = executable
        self.threads = threads
        slots = DispatchSemaphore(value: jobs)
        // Ctrl-C, TERM or HUP stops the children too (a killed sweep's runs resume next time); after a
        // SIGKILL the children notice on their own (`ParentWatch`).
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                self?.lock.lock(); let kids = self?.children ?? []; self?.lock.unlock()
                for k in kids where k.isRunning { k.terminate() }
                exit(130)
            }
            source.resume()
            RunPool.signalSources.append(source)
        }
    }
    nonisolated(unsafe) static var signalSources: [DispatchSourceSignal] = []

    /// Waits until fewer than `jobs` runs are going.
    func acquireSlot() { slots.wait() }
    func releaseSlot() { slots.signal() }

    /// Starts `symdp arguments…` in a slot taken with `acquireSlot`; `done(exitStatus, seconds)`
    /// runs when it ends (and frees the slot).
    func start(arguments: [String], log: URL, done: @escaping (Int32, Double) -> Void) {
        group.enter()
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SYMDP_THREADS"] = String(threads)
        env[ParentWatch.variable] = String(getpid())   // the run stops if this sweep dies
        p.environment = env
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try? FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        let start = Date()
        p.terminationHandler = { [self] proc in
            try? handle?.close()
            lock.lock()
            done(proc.terminationStatus, Date().timeIntervalSince(start))
            children.removeAll { $0 === proc }
            lock.unlock()
            slots.signal()
            group.leave()
        }
        do {
            lock.lock(); children.append(p); lock.unlock()
            try p.run()
        } catch {
            lock.lock(); children.removeAll { $0 === p }; lock.unlock()
            done(-1, 0)
            slots.signal()
            group.leave()
        }
    }

    func wait() { group.wait() }
}
