import Foundation

/// One finished run, as a report sees it: its metrics and where it belongs.
public struct RunRecord: Sendable {
    public var folder: URL
    public var label: String
    /// Position in its sweep (orders the rows), or nil for a lone run.
    public var order: Int?
    public var seed: UInt64
    public var metrics: [String: Double]
    public var stopReason: String
    /// How the run ended (`status` in metrics.json; for older files derived from the stop reason).
    public var status: RunStatus?
    public var attempts: Int
    /// Which of the report's folders it came from (rows keep the order the folders were given in).
    public var source: Int

    public init(folder: URL, label: String, order: Int?, seed: UInt64, metrics: [String: Double], stopReason: String, attempts: Int,
                source: Int = 0, status: RunStatus? = nil) {
        self.folder = folder; self.label = label; self.order = order; self.seed = seed
        self.metrics = metrics; self.stopReason = stopReason; self.attempts = attempts; self.source = source
        self.status = status ?? StopReason(rawValue: stopReason).map {
            RunStatus(stop: $0, testMSE: metrics["test_mse"] ?? .nan, divergenceThreshold: TrainerConfig().divergenceThreshold)
        }
        // only a solved run has a time to the threshold (older files may hold a rejected attempt's)
        if self.status != .solved {
            for key in Report.solvedOnlyTimes { self.metrics[key] = nil }
        }
    }

    /// Success as in the 2025 slides, made strict: status `solved` — validation MSE reached the
    /// threshold, the solution passed the own-path check, and its test paths stayed finite.
    public var succeeded: Bool { status == .solved }
}

/// Aggregates run folders into the paper's table layout: per configuration, medians over seeds.
public struct Report {
    public struct Row: Sendable {
        public var label: String
        public var runs: Int
        public var successes: Int
        public var firstAttemptSuccesses: Int
        public var medians: [String: Double]
        /// Runs per end status.
        public var statusCounts: [RunStatus: Int] = [:]

        /// "3 solved, 1 failed" in the order of `RunStatus.allCases`.
        public var statusText: String {
            RunStatus.allCases.compactMap { s in statusCounts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        }
    }
    /// Runs found that have not ended, and runs of a sweep that never started (not in the table); set by the caller.
    public var unfinishedRuns = 0
    public var missingRuns = 0

    public var rows: [Row]
    /// Medians over successful runs only (the paper's tables) instead of every run.
    public var successfulOnly: Bool

    /// Metric columns: key in metrics.json, header, how to print.
    public static let columns: [(key: String, header: String, latex: String, percent: Bool)] = [
        ("params", "Params", "Params", false),
        ("seconds", "Time (s)", "Time (s)", false),
        ("seconds_to_1e-6", "Time to 1e-6 (s)", "Time to $10^{-6}$ (s)", false),
        ("train_mse", "Train MSE", "Train MSE ($\\varepsilon$)", false),
        ("val_mse", "Val MSE", "Val MSE ($\\varepsilon$)", false),
        ("test_mse", "Test MSE", "Test MSE ($\\varepsilon$)", false),
        ("policy_abs_error", "Policy error (abs)", "Policy error ($\\varepsilon_{abs}$)", false),
        ("policy_rel_error", "Policy error (rel)", "Policy error ($\\varepsilon_{rel}$)", true),
        ("policy_scaled_error", "Policy error (of size)", "Policy error ($\\bar\\varepsilon_{abs} / \\overline{|u^*|}$)", true),
    ]

    /// Columns every run has: one without a finite value has failed (its value counts as +∞).
    static let failureIsInfinite: Set<String> = ["seconds", "seconds_to_1e-6", "train_mse", "val_mse", "test_mse"]
    /// Times shown only for `solved` runs: any other run's time counts as +∞ (a failed run never shows a time).
    static let solvedOnlyTimes: [String] = ["seconds", "seconds_to_1e-6", "seconds_to_threshold"]
    /// Columns only some models have (policy errors need an exact solution): +∞ for a run without
    /// a finite value only when another run of the configuration has one.
    static let failureIsInfiniteWhereDefined: Set<String> = ["policy_abs_error", "policy_rel_error", "policy_scaled_error"]

    /// Reads every run folder (a folder with metrics.json) under `roots`.
    public static func collect(_ roots: [URL]) throws -> [RunRecord] {
        var out: [RunRecord] = []
        let fm = FileManager.default
        for (source, root) in roots.enumerated() {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
                throw SolverError("'\(root.path)' is not a folder of runs")
            }
            var folders: [URL] = []
            if fm.fileExists(atPath: root.appendingPathComponent("metrics.json").path) { folders.append(root) }
            if let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) {
                for case let url as URL in e where url.lastPathComponent == "metrics.json" {
                    let dir = url.deletingLastPathComponent()
                    if dir.standardized.path != root.standardized.path { folders.append(dir) }
                }
            }
            for dir in folders.sorted(by: { $0.path < $1.path }) {
                guard let data = fm.contents(atPath: dir.appendingPathComponent("metrics.json").path),
                      let m = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    FileHandle.standardError.write("report: skipping \(dir.path): unreadable metrics.json (counted as unfinished)\n".data(using: .utf8)!)
                    continue
                }
                guard let status = RunStatus(metrics: m) else { continue }   // `unfinished`: evaluated, not ended
                var values: [String: Double] = [:]
                for (k, v) in m { if let n = v as? NSNumber, !(v is Bool) { values[k] = n.doubleValue } }
                let run = (fm.contents(atPath: dir.appendingPathComponent("run.json").path))
                    .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
                let relative = dir.path.hasPrefix(root.path) ? String(dir.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")) : dir.path
                let fallbackLabel = relative.split(separator: "/").dropLast().joined(separator: "/")
                let label = (run?["label"] as? String) ?? (fallbackLabel.isEmpty ? dir.lastPathComponent : fallbackLabel)
                out.append(RunRecord(folder: dir, label: label, order: run?["index"] as? Int,
                                     seed: UInt64(values["seed"] ?? 0), metrics: values,
                                     stopReason: m["stop_reason"] as? String ?? "", attempts: Int(values["attempts"] ?? 1),
                                     source: source, status: status))
            }
        }
        return out
    }

    /// Run folders under `roots` that have not ended: a checkpoint, config or run.json but no
    /// readable metrics.json with an end status (killed, interrupted, only evaluated, or running).
    public static func unfinished(_ roots: [URL]) -> [URL] {
        var out: [URL] = []
        let fm = FileManager.default
        for root in roots {
            var candidates = [root]
            if let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) {
                for case let url as URL in e where ["run.json", "config.yaml", "last.safetensors"].contains(url.lastPathComponent) {
                    candidates.append(url.deletingLastPathComponent())
                }
            }
            var seen = Set<String>()
            for dir in candidates where seen.insert(dir.standardized.path).inserted {
                let folder = RunFolder(dir)
                guard fm.fileExists(atPath: folder.config.path) || fm.fileExists(atPath: folder.last.path)
                        || fm.fileExists(atPath: dir.appendingPathComponent("run.json").path) else { continue }
                if case .run(_?) = folder.contents() { continue }
                out.append(dir)
            }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// Per sweep found under `roots` (by the `run.json` of its runs), how many of its runs have no
    /// folder yet (never started; a sweep run restarted with the same file starts them).
    public static func missing(_ roots: [URL]) -> [String: Int] {
        var total: [String: Int] = [:], started: [String: Set<Int>] = [:]
        let fm = FileManager.default
        for root in roots {
            guard let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in e where url.lastPathComponent == "run.json" {
                guard let data = fm.contents(atPath: url.path), let d = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let sweep = d["sweep"] as? String, let index = d["index"] as? Int, let runs = d["sweep_runs"] as? Int else { continue }
                total[sweep] = max(total[sweep] ?? 0, runs)
                started[sweep, default: []].insert(index)
            }
        }
        var out: [String: Int] = [:]
        for (sweep, runs) in total { out[sweep] = max(0, runs - (started[sweep]?.count ?? 0)) }
        return out.filter { $0.value > 0 }
    }

    public init(records: [RunRecord], successfulOnly: Bool = false) {
        self.successfulOnly = successfulOnly
        var groups: [String: [RunRecord]] = [:]
        var order: [String] = []
        for r in records.sorted(by: { ($0.source, $0.order ?? Int.max, $0.folder.path) < ($1.source, $1.order ?? Int.max, $1.folder.path) }) {
            if groups[r.label] == nil { order.append(r.label) }
            groups[r.label, default: []].append(r)
        }
        rows = order.map { label in
            let runs = groups[label]!
            let pool = successfulOnly ? runs.filter(\.succeeded) : runs
            var medians: [String: Double] = [:]
            for c in Report.columns {
                var values = pool.compactMap { $0.metrics[c.key] }.filter(\.isFinite)
                // a failed run's error is worse than any number, not absent: a test MSE that is NaN
                // (paths that blew up) or a threshold never reached counts as +∞ in the median
                if Report.failureIsInfinite.contains(c.key) || (Report.failureIsInfiniteWhereDefined.contains(c.key) && !values.isEmpty) {
                    values += Array(repeating: .infinity, count: pool.count - values.count)
                }
                if let m = median(values) { medians[c.key] = m }
            }
            var counts: [RunStatus: Int] = [:]
            for r in runs { if let s = r.status { counts[s, default: 0] += 1 } }
            return Row(label: label, runs: runs.count, successes: runs.filter(\.succeeded).count,
                       firstAttemptSuccesses: runs.filter { $0.succeeded && $0.attempts == 1 }.count, medians: medians,
                       statusCounts: counts)
        }
    }

    static func format(_ v: Double?, key: String, percent: Bool) -> String {
        guard let v else { return "–" }
        if v == .infinity { return "∞" }
        if percent { return String(format: "%.2f%%", 100 * v) }
        switch key {
        case "params": return String(format: "%.0f", v)
        case "seconds", "seconds_to_1e-6": return v < 10 ? String(format: "%.2f", v) : String(format: "%.1f", v)
        default: return String(format: "%.1e", v)
        }
    }

    func successText(_ r: Row) -> String {
        String(format: "%.0f%%", 100 * Double(r.successes) / Double(max(r.runs, 1)))
    }

    /// GitHub-flavoured Markdown.
    public func markdown() -> String {
        let header = ["Configuration", "Runs", "Success", "1st-try success"] + Report.columns.map(\.header) + ["Statuses"]
        var s = "| " + header.joined(separator: " | ") + " |\n"
        s += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for r in rows {
            let cells = [r.label.replacingOccurrences(of: "|", with: "\\|"), "\(r.runs)", successText(r),
                         String(format: "%.0f%%", 100 * Double(r.firstAttemptSuccesses) / Double(max(r.runs, 1)))]
                + Report.columns.map { Report.format(r.medians[$0.key], key: $0.key, percent: $0.percent) } + [r.statusText]
            s += "| " + cells.joined(separator: " | ") + " |\n"
        }
        s += "\nMedians over \(successfulOnly ? "successful runs" : "all runs") of each configuration. Success: status `solved` (val MSE reached the stopping threshold"
        s += " and the solution passed the own-path check when on); 1st-try: without a restart. Times are seconds of fitting, shown only for solved runs."
        s += " ∞: most runs had no finite value (paths that blew up, or not solved).\n"
        if unfinishedRuns > 0 {
            s += "\n\(unfinishedRuns) run folder(s) have not ended (interrupted, running or only evaluated) and are not in the table.\n"
        }
        if missingRuns > 0 {
            s += "\n\(missingRuns) run(s) of the sweep(s) have not started and are not in the table.\n"
        }
        return s
    }

    /// CSV with full precision.
    public func csv() -> String {
        var t = CSVTable(header: ["configuration", "runs", "successes", "first_attempt_successes"] + Report.columns.map { "median_" + $0.key }
                         + RunStatus.allCases.map { "runs_" + $0.rawValue })
        for r in rows {
            t.append([r.label, r.runs, r.successes, r.firstAttemptSuccesses] + Report.columns.map { r.medians[$0.key].map { "\($0)" } }
                     + RunStatus.allCases.map { r.statusCounts[$0] ?? 0 })
        }
        return t.text
    }

    /// A LaTeX tabular (booktabs), ready to paste.
    public func latex() -> String {
        func esc(_ s: String) -> String {
            var o = ""
            for ch in s {
                switch ch {
                case "&", "%", "$", "#", "_", "{", "}": o += "\\\(ch)"
                case "~": o += "\\textasciitilde{}"
                case "^": o += "\\textasciicircum{}"
                case "\\": o += "\\textbackslash{}"
                default: o.append(ch)
                }
            }
            return o
        }
        func sciTeX(_ text: String) -> String {
            // 1.2e-06 → $1.2 \times 10^{-6}$
            let parts = text.split(separator: "e")
            guard parts.count == 2, let e = Int(parts[1]) else { return esc(text) }
            return "$\(parts[0]) \\times 10^{\(e)}$"
        }
        let cols = Report.columns
        var s = "\\begin{tabular}{l" + String(repeating: "r", count: 2 + cols.count) + "}\n\\toprule\n"
        s += (["Configuration", "Runs", "Success (\\%)"] + cols.map(\.latex)).joined(separator: " & ") + " \\\\\n\\midrule\n"
        for r in rows {
            var cells = [esc(r.label), "\(r.runs)", String(format: "%.0f", 100 * Double(r.successes) / Double(max(r.runs, 1)))]
            for c in cols {
                let text = Report.format(r.medians[c.key], key: c.key, percent: c.percent)
                cells.append(text == "∞" ? "$\\infty$" : text.contains("e") && !c.percent ? sciTeX(text) : esc(text))
            }
            s += cells.joined(separator: " & ") + " \\\\\n"
        }
        s += "\\bottomrule\n\\end{tabular}\n"
        return s
    }
}

/// Median of finite values (nil when empty).
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let s = values.sorted(), m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
