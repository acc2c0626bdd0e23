import Foundation
import Yams

/// A study: a base config, named configurations (rows of a paper table), a grid of key values,
/// and seeds. Every combination is one run with its own folder.
///
/// ```yaml
/// name: table2-identity            # default: the file name
/// group: φ(Identity)                # optional, prefixes the report rows
/// base: ../configs/baseline.yaml   # optional, relative to this file
/// set:                             # overrides for every run
///   network.phi: identity
/// configurations:                  # optional named rows, each a set of overrides
///   - name: Baseline
///   - name: Thin (64 nodes)
///     set: {network.rho_hidden: 64}
/// grid:                            # optional: every combination of these values
///   model.N: [128, 1024]
/// seeds: [1, 2, 3, 4, 5]           # or {from: 1, to: 21}
/// out: runs/sweeps/table2-identity # default: runs/sweeps/<name>, relative to the current folder
/// ```
public struct SweepSpec: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var name: String
        public var overrides: [(String, String)]
        public static func == (a: Configuration, b: Configuration) -> Bool {
            a.name == b.name && a.overrides.map { "\($0.0)=\($0.1)" } == b.overrides.map { "\($0.0)=\($0.1)" }
        }
    }

    public var name: String
    /// Optional group label (a block of a paper table, e.g. "φ(Identity)"), prefixed to row labels.
    public var group: String?
    public var base: RunConfig
    public var configurations: [Configuration]
    public var grid: [(key: String, values: [String])]
    public var seeds: [UInt64]
    public var out: String

    /// One run of the sweep.
    public struct Run: Sendable {
        /// Position in the full, ordered list (the unit of sharding).
        public let index: Int
        public let configuration: String
        /// The grid point, `key=value` pairs.
        public let gridPoint: [(String, String)]
        public let seed: UInt64
        public let config: RunConfig
        /// Folder relative to the sweep's `out`: `<configuration>[/<grid point>]/seed-<k>`.
        public let folder: String
        public let group: String?
        /// The row label in reports: group, configuration name, grid point.
        public var label: String {
            let row = ([configuration] + gridPoint.map { "\($0.0)=\($0.1)" }).joined(separator: ", ")
            return group.map { "\($0): \(row)" } ?? row
        }
    }

    /// Parses a sweep file; `base` paths are relative to the file's folder.
    public static func load(path: String) throws -> SweepSpec {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "", "cannot read sweep file '\(path)': no such file or not readable")
        }
        let url = URL(fileURLWithPath: path).absoluteURL
        let defaultName = url.deletingPathExtension().lastPathComponent
        do {
            return try parse(yaml: text, defaultName: defaultName, relativeTo: url.deletingLastPathComponent())
        } catch let e as ConfigError {
            throw ConfigError(key: e.key, e.message + " (in sweep file \(path))")
        }
    }

    static let topKeys = ["name", "group", "base", "set", "configurations", "grid", "seeds", "out"]

    public static func parse(yaml text: String, defaultName: String = "sweep", relativeTo dir: URL? = nil) throws -> SweepSpec {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ConfigError(key: "", "the sweep file is not valid YAML: \(ConfigEcho.truncated("\(error)"))") }
        try YAMLDuplicateKeys.check(node)
        guard let top = node?.mapping else { throw ConfigError(key: "", "a sweep file is a mapping with keys \(topKeys.joined(separator: ", "))") }
        var entries: [String: Node] = [:]
        for (k, v) in top {
            let key = k.string ?? ""
            guard topKeys.contains(key) else {
                let hint = closest(key, in: topKeys).map { " Did you mean '\($0)'?" } ?? ""
                throw ConfigError(key: ConfigEcho.truncated(key), "unknown sweep key.\(hint) Keys: \(topKeys.joined(separator: ", "))")
            }
            entries[key] = v
        }
        func scalar(_ n: Node, _ key: String) throws -> String {
            guard case .scalar(let s) = n else { throw ConfigError(key: key, "expected a single value") }
            return s.string
        }
        func overrides(_ n: Node?, _ key: String) throws -> [(String, String)] {
            guard let n else { return [] }
            if case .scalar(let s) = n, ["", "~", "null"].contains(s.string) { return [] }
            guard let m = n.mapping else { throw ConfigError(key: key, "expected a mapping of config keys to values, e.g. {network.phi: identity}") }
            return try m.map { (k, v) in (k.string ?? "", try scalar(v, "\(key).\(k.string ?? "")")) }
        }
        let name = try entries["name"].map { try scalar($0, "name") } ?? defaultName
        let group = try entries["group"].map { try scalar($0, "group") }
        var base = RunConfig()
        if let b = entries["base"] {
            let path = try scalar(b, "base")
            let resolved = path.hasPrefix("/") || dir == nil ? path : dir!.appendingPathComponent(path).standardized.path
            base = try RunConfig.load(path: resolved)
        }
        for (k, v) in try overrides(entries["set"], "set") { try base.apply(override: "\(k)=\(v)") }

        var configurations: [Configuration] = []
        if let list = entries["configurations"] {
            guard let seq = list.sequence else { throw ConfigError(key: "configurations", "expected a list of {name, set}") }
            for (i, item) in seq.enumerated() {
                guard let m = item.mapping else { throw ConfigError(key: "configurations[\(i)]", "expected {name: …, set: {…}}") }
                var cname: String?, cset: [(String, String)] = []
                for (k, v) in m {
                    switch k.string {
                    case "name": cname = try scalar(v, "configurations[\(i)].name")
                    case "set": cset = try overrides(v, "configurations[\(i)].set")
                    default: throw ConfigError(key: "configurations[\(i)].\(k.string ?? "")", "unknown key; a configuration has name and set")
                    }
                }
                guard let cname, !cname.isEmpty else { throw ConfigError(key: "configurations[\(i)].name", "every configuration needs a name") }
                configurations.append(Configuration(name: cname, overrides: cset))
            }
            let names = configurations.map(\.name)
            if Set(names).count != names.count { throw ConfigError(key: "configurations", "configuration names must be unique") }
        }
        if configurations.isEmpty { configurations = [Configuration(name: "base", overrides: [])] }

        var grid: [(key: String, values: [String])] = []
        if let g = entries["grid"] {
            guard let m = g.mapping else { throw ConfigError(key: "grid", "expected a mapping of config keys to lists of values") }
            for (k, v) in m {
                let key = k.string ?? ""
                guard let seq = v.sequence, !seq.isEmpty else { throw ConfigError(key: "grid.\(key)", "expected a non-empty list of values") }
                grid.append((key, try seq.map { try scalar($0, "grid.\(key)") }))
            }
        }

        var seeds: [UInt64] = [base.seed]
        if let s = entries["seeds"] {
            if let seq = s.sequence {
                seeds = try seq.map {
                    guard let v = UInt64(try scalar($0, "seeds")) else { throw ConfigError(key: "seeds", "seeds are non-negative integers") }
                    return v
                }
            } else if let m = s.mapping, let from = m["from"].flatMap({ UInt64($0.string ?? "") }), let to = m["to"].flatMap({ UInt64($0.string ?? "") }), from <= to {
                guard to - from < UInt64(ResourceLimits.maxSweepRuns) else {
                    throw ConfigError(key: "seeds", "{from: \(from), to: \(to)} is \(to - from + 1) seeds; a sweep may have at most \(ResourceLimits.maxSweepRuns) runs")
                }
                seeds = Array(from...to)
            } else {
                throw ConfigError(key: "seeds", "expected a list [1, 2, 3] or a range {from: 1, to: 21}")
            }
            if seeds.isEmpty { throw ConfigError(key: "seeds", "need at least one seed") }
            var seen = Set<UInt64>()
            for seed in seeds where !seen.insert(seed).inserted {
                throw ConfigError(key: "seeds", "seed \(seed) appears twice; each seed is one run folder (seed-\(seed)), so list every seed once")
            }
        }
        let out = try entries["out"].map { try scalar($0, "out") } ?? "runs/sweeps/\(name)"
        for (key, values) in grid {
            var seen = Set<String>()
            for v in values where !seen.insert(v).inserted {
                throw ConfigError(key: "grid.\(key)", "value '\(v.prefix(40))' appears twice; list every value once")
            }
        }
        // count before expanding: a grid of 9 keys × 10 values is 10⁹ runs
        let count = grid.reduce(Double(configurations.count * seeds.count)) { $0 * Double($1.values.count) }
        guard count <= Double(ResourceLimits.maxSweepRuns) else {
            throw ConfigError(key: "grid", "the sweep expands to \(String(format: "%.3g", count)) runs (configurations × grid values × seeds); "
                              + "at most \(ResourceLimits.maxSweepRuns) are allowed: split it into several sweep files")
        }
        let spec = SweepSpec(name: name, group: group, base: base, configurations: configurations, grid: grid, seeds: seeds, out: out)
        _ = try spec.runs()   // every combination must be a valid config
        return spec
    }

    /// Every run, in a fixed order: configurations × grid points × seeds.
    public func runs() throws -> [Run] {
        var points: [[(String, String)]] = [[]]
        for (key, values) in grid {
            points = points.flatMap { p in values.map { p + [(key, $0)] } }
        }
        var out: [Run] = []
        for c in configurations {
            for p in points {
                for seed in seeds {
                    var cfg = base
                    do {
                        for (k, v) in c.overrides + p { try cfg.apply(override: "\(k)=\(v)") }
                        cfg.seed = seed
                        try cfg.validate()
                        try ResourceLimits.check(cfg)
                    } catch let e as ConfigError {
                        throw ConfigError(key: e.key, e.message + " (configuration '\(c.name)'\(p.isEmpty ? "" : ", grid point \(p.map { "\($0.0)=\($0.1)" }.joined(separator: ", "))"))")
                    }
                    var parts = [Self.slug(c.name)]
                    if !p.isEmpty { parts.append(p.map { Self.slug("\($0.0)=\($0.1)") }.joined(separator: "_")) }
                    parts.append("seed-\(seed)")
                    out.append(Run(index: out.count, configuration: c.name, gridPoint: p, seed: seed, config: cfg,
                                   folder: parts.joined(separator: "/"), group: group))
                }
            }
        }
        return out
    }

    /// The runs of shard `i` of `n` (runs `i`, `i + n`, `i + 2n`, …): deterministic, disjoint,
    /// and together complete.
    public func runs(shard i: Int, of n: Int) throws -> [Run] {
        try runs().filter { $0.index % n == i }
    }

    /// A folder-name-safe form of a label.
    static func slug(_ s: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-=.+"))
        var out = ""
        for u in s.unicodeScalars { out.unicodeScalars.append(allowed.contains(u) && u.isASCII ? u : "_") }
        while out.contains("__") { out = out.replacingOccurrences(of: "__", with: "_") }
        return out.trimmingCharacters(in: CharacterSet(charactersIn: "_"))
    }
}

/// Where a run of a sweep stands, from its folder alone.
public enum SweepRunState: String, Sendable {
    /// `metrics.json` records how the run ended (a `RunStatus`).
    case finished
    /// Another process holds the folder's lock: it is training (or evaluating) this run now.
    case running
    /// A checkpoint but no end status (killed, or only evaluated): resumable.
    case interrupted
    case pending
}

extension SweepSpec.Run {
    /// The run's state; an empty, unreadable or `unfinished` metrics.json is not finished.
    public func status(in root: URL) -> SweepRunState {
        let dir = root.appendingPathComponent(folder)
        if RunFolder.isLocked(dir) { return .running }
        switch RunFolder(dir).contents() {
        case .run(let status?): _ = status; return .finished
        case .run(nil): return FileManager.default.fileExists(atPath: dir.appendingPathComponent("last.safetensors").path) ? .interrupted : .pending
        default: return .pending
        }
    }

    /// The recorded end status, when the run has finished.
    public func endStatus(in root: URL) -> RunStatus? {
        if case .run(let status?) = RunFolder(root.appendingPathComponent(folder)).contents() { return status }
        return nil
    }

    /// `run.json`: what a report needs to place this run (sweep, configuration, grid point, seed).
    /// - Parameter runs: how many runs the whole sweep has (so `report` can tell how many never started).
    public func descriptor(sweep: String, runs: Int? = nil) -> String {
        var d: [String: Any] = ["sweep": sweep, "configuration": configuration, "label": label, "seed": seed, "index": index,
                                "grid": Dictionary(uniqueKeysWithValues: gridPoint.map { ($0.0, $0.1) })]
        if let runs { d["sweep_runs"] = runs }
        let data = try! JSONSerialization.data(withJSONObject: d, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
