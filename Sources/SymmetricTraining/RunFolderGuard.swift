import Foundation
import SymmetricNumerics

/// What a folder holds, as far as starting a run in it is concerned.
public enum RunFolderContents: Equatable, Sendable {
    /// Missing, empty, or only what a sweep prepares before a run starts (config.yaml, run.json,
    /// log.txt): a new run may start here.
    case free
    /// A run: checkpoints, history or metrics. `status` is the recorded end status (nil: the run
    /// has not ended, it is resumable).
    case run(status: RunStatus?)
    /// Files that are not a run's: never written into.
    case foreign([String])
}

extension RunFolder {
    /// Files a run writes; any of them means the folder holds a run.
    static let runFiles = ["metrics.json", "last.safetensors", "best.safetensors", "history.csv", "test_results.csv"]
    /// Files that may be present before a run starts (written by a sweep, or the lock).
    static let preparedFiles: Set<String> = ["config.yaml", "run.json", "log.txt", ".lock"]

    /// Inspects the folder (nothing is changed).
    public func contents() -> RunFolderContents {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: url.path) else { return .free }
        if names.contains(where: { RunFolder.runFiles.contains($0) }) {
            let m = (fm.contents(atPath: metrics.path)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            return .run(status: m.flatMap { RunStatus(metrics: $0) })
        }
        let others = names.filter { !RunFolder.preparedFiles.contains($0) && !$0.hasPrefix(".") && !$0.hasSuffix(".svg") && !$0.hasSuffix(".png") }
        return others.isEmpty ? .free : .foreign(others.sorted())
    }

    /// Throws unless a new run may start in this folder; with `overwrite`, first moves a run found
    /// there aside (to `<folder>.replaced-<UTC time>`) and says where.
    ///
    /// Call with the folder's lock held (`lock()`), so no other process is training into it.
    /// - Returns: where the old run was moved, if it was.
    public func prepareForNewRun(overwrite: Bool) throws -> URL? {
        switch contents() {
        case .free:
            return nil
        case .foreign(let names):
            let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", …" : "")
            throw SolverError("'\(url.path)' is not empty and is not a run folder (it holds \(shown)); choose a new or empty folder with --out")
        case .run(let status):
            guard overwrite else {
                let what = status.map { "a finished run (status \($0.rawValue))" } ?? "an unfinished run"
                throw SolverError("'\(url.path)' holds \(what). Continue it with `symdp solve --resume \(url.path)`, "
                                  + "write the new run elsewhere with --out, or add --overwrite to move the old run aside first")
            }
            return try moveRunAside()
        }
    }

    /// Moves the run's files (all but the lock) into a sibling folder `<name>.replaced-<UTC time>`,
    /// leaving this folder empty; the move is a rename per file, nothing is deleted.
    func moveRunAside() throws -> URL {
        let fm = FileManager.default
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        let parent = url.deletingLastPathComponent()
        var aside: URL
        repeat {
            aside = parent.appendingPathComponent("\(url.lastPathComponent).replaced-\(f.string(from: Date()))-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))")
        } while mkdir(aside.path, 0o755) != 0 && errno == EEXIST
        guard fm.fileExists(atPath: aside.path) else {
            let e = errno
            throw SolverError("cannot move the old run aside: cannot create '\(aside.path)': \(describeErrno(e))")
        }
        let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names where name != ".lock" {
            guard rename(url.appendingPathComponent(name).path, aside.appendingPathComponent(name).path) == 0 else {
                let e = errno
                throw SolverError("cannot move '\(url.appendingPathComponent(name).path)' to '\(aside.path)': \(describeErrno(e))")
            }
        }
        return aside
    }

    /// A new, empty folder `runs/<UTC time to the millisecond>-seed<seed>-<random hex>`, created
    /// atomically (mkdir fails when the name exists, and another name is tried), so quick solves
    /// in a loop never share a folder.
    public static func unique(seed: UInt64, under parent: URL = URL(fileURLWithPath: "runs")) throws -> RunFolder {
        do { try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw SolverError("cannot create '\(parent.path)': \(describeFileError(error))")
        }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss.SSS"
        f.timeZone = TimeZone(identifier: "UTC")
        for _ in 0..<100 {
            let name = "\(f.string(from: Date()))-seed\(seed)-\(String(format: "%04x", UInt16.random(in: 0...UInt16.max)))"
            let candidate = parent.appendingPathComponent(name)
            if mkdir(candidate.path, 0o755) == 0 { return RunFolder(candidate) }
            let e = errno
            guard e == EEXIST else { throw SolverError("cannot create run folder '\(candidate.path)': \(describeErrno(e))") }
        }
        throw SolverError("cannot find a free run folder name under '\(parent.path)'")
    }
}

extension RunFolder {
    /// `status` in the `metrics.json` that `evaluate` writes for a run that has not ended.
    public static let unfinished = "unfinished"
}

/// `solve --resume`: the folder's config.yaml must be the config the checkpoint was trained with.
enum ResumeCheck {
    /// Keys that may change between a run and its resumption (they change no number).
    static let mayDiffer: Set<String> = ["trainer.threads"]

    /// - Parameter action: what is refused, for the message ("resume", "evaluate").
    static func configMatches(_ config: RunConfig, checkpoint: CheckpointState, folder: RunFolder, action: String = "resume") throws {
        guard let text = checkpoint.config else { return }   // checkpoints from before the config was kept
        let trained: RunConfig
        do { trained = try RunConfig.parse(yaml: text) } catch {
            throw SolverError("checkpoint '\(folder.last.path)': its copy of the config cannot be read (\(error)); the file is damaged")
        }
        let differing = RunConfig.keyPaths.filter { !mayDiffer.contains($0) && config.value(of: $0) != trained.value(of: $0) }
        guard differing.isEmpty else {
            let shown = differing.prefix(5).map { "\($0) is \(config.value(of: $0) ?? "?") in config.yaml but \(trained.value(of: $0) ?? "?") in the checkpoint" }
            throw SolverError("cannot \(action) \(folder.url.path): config.yaml was edited after the run started (\(shown.joined(separator: "; "))\(differing.count > 5 ? "; …" : "")). "
                              + "Restore those values to \(action), or start a new run with the edited config: symdp solve --config \(folder.config.path) --out NEW_FOLDER")
        }
    }
}
