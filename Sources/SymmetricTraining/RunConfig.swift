import Foundation
import Yams
import SymmetricNetworks
import SymmetricEconomics

/// The `method` section: data, expectation and batching.
public struct MethodConfig: Equatable, Sendable {
    /// Gauss–Hermite nodes for the aggregate shock ω.
    public var omegaQuadratureNodes = 7
    /// Rescale the one draw Ŵ to mean 0, std 1.
    public var normalizeShockVector = true
    public var trainTrajectories = 16, valTrajectories = 8, testTrajectories = 32
    /// Points per mini-batch; 0 = full batch.
    public var batchSize = 32
    public var shuffle = true
    /// Simulated steps per trajectory (T+1 points).
    public var T = 63
    /// Initial distribution X_0,i = |N(X0Loc, X0Scale²)|.
    public var X0Loc = 0.9, X0Scale = 0.05
    public init() {}
}

/// The `optimizer` section: Adam with StepLR.
public struct OptimizerConfig: Equatable, Sendable {
    public var lr = 1e-3, stepSize = 100, stepGamma = 0.1
    public init() {}
}

/// The `trainer` section: stopping rules and precision.
public struct TrainerConfig: Equatable, Sendable {
    public var maxEpochs = 100
    /// Wall-clock budget in seconds (nil: none).
    public var maxTime: Double? = nil
    public var stoppingThreshold = 1e-6
    public var patience = 50
    /// 32 (Float) or 64 (Double).
    public var precision = 32
    public init() {}
}

/// The economy a run solves (`model.kind`).
public enum ModelKind: String, CaseIterable, Sendable {
    /// Lucas–Prescott investment model with N firms (paper §2–§5).
    case investment
}

/// Every setting of one run, as one YAML file with sections `model`, `method`, `network`,
/// `optimizer`, `trainer` and a top-level `seed`. Missing keys take the paper's defaults.
public struct RunConfig: Equatable, Sendable {
    public var kind: ModelKind = .investment
    public var model = InvestmentModel()
    public var method = MethodConfig()
    public var network = SymmetricArchitecture()
    public var optimizer = OptimizerConfig()
    public var trainer = TrainerConfig()
    public var seed: UInt64 = 42
    public init() {}
}

/// A configuration the user wrote that cannot be used; the message names the key and the fix.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let message: String
    public var description: String { key.isEmpty ? message : "config key '\(key)': \(message)" }
    public init(key: String, _ message: String) { self.key = key; self.message = message }
}

// MARK: - Key table

/// One configurable key: its dotted path, the type it takes, how to read and write it.
struct ConfigKey {
    let path: String
    let typeName: String
    let read: (RunConfig) -> String
    let write: (inout RunConfig, String) throws -> Void

    static func int(_ path: String, _ kp: WritableKeyPath<RunConfig, Int>) -> ConfigKey {
        ConfigKey(path: path, typeName: "an integer", read: { String($0[keyPath: kp]) }) { c, s in
            guard let v = Int(s) ?? Double(s).flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }) else {
                throw ConfigError(key: path, "expected an integer, got '\(s)'")
            }
            c[keyPath: kp] = v
        }
    }
    static func double(_ path: String, _ kp: WritableKeyPath<RunConfig, Double>) -> ConfigKey {
        ConfigKey(path: path, typeName: "a number", read: { formatDouble($0[keyPath: kp]) }) { c, s in
            guard let v = Double(s), v.isFinite else { throw ConfigError(key: path, "expected a finite number, got '\(s)'") }
            c[keyPath: kp] = v
        }
    }
    static func optionalDouble(_ path: String, _ kp: WritableKeyPath<RunConfig, Double?>) -> ConfigKey {
        ConfigKey(path: path, typeName: "a number or null", read: { $0[keyPath: kp].map(formatDouble) ?? "null" }) { c, s in
            if ["null", "~", "", "none"].contains(s.lowercased()) { c[keyPath: kp] = nil; return }
            guard let v = Double(s), v.isFinite else { throw ConfigError(key: path, "expected a number of seconds or null, got '\(s)'") }
            c[keyPath: kp] = v
        }
    }
    static func bool(_ path: String, _ kp: WritableKeyPath<RunConfig, Bool>) -> ConfigKey {
        ConfigKey(path: path, typeName: "true or false", read: { String($0[keyPath: kp]) }) { c, s in
            switch s.lowercased() {
            case "true", "yes", "on": c[keyPath: kp] = true
            case "false", "no", "off": c[keyPath: kp] = false
            default: throw ConfigError(key: path, "expected true or false, got '\(s)'")
            }
        }
    }
    static func choice<E: RawRepresentable & CaseIterable>(_ path: String, _ kp: WritableKeyPath<RunConfig, E>) -> ConfigKey where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        return ConfigKey(path: path, typeName: "one of " + allowed.joined(separator: " | "), read: { $0[keyPath: kp].rawValue }) { c, s in
            guard let v = E(rawValue: s.lowercased()) else {
                throw ConfigError(key: path, "'\(s)' is not allowed; use one of: \(allowed.joined(separator: ", "))")
            }
            c[keyPath: kp] = v
        }
    }

    /// Every key, in the order `yaml()` writes them.
    static let all: [ConfigKey] = [
        .choice("model.kind", \.kind),
        .int("model.N", \.model.N),
        .double("model.alpha_0", \.model.alpha0), .double("model.alpha_1", \.model.alpha1),
        .double("model.beta", \.model.beta), .double("model.gamma", \.model.gamma),
        .double("model.sigma", \.model.sigma), .double("model.delta", \.model.delta),
        .double("model.eta", \.model.eta), .double("model.nu", \.model.nu),
        .double("model.zeta", \.model.zeta), .double("model.mu", \.model.mu),
        .int("method.omega_quadrature_nodes", \.method.omegaQuadratureNodes),
        .bool("method.normalize_shock_vector", \.method.normalizeShockVector),
        .int("method.train_trajectories", \.method.trainTrajectories),
        .int("method.val_trajectories", \.method.valTrajectories),
        .int("method.test_trajectories", \.method.testTrajectories),
        .int("method.batch_size", \.method.batchSize),
        .bool("method.shuffle", \.method.shuffle),
        .int("method.T", \.method.T),
        .double("method.X_0_loc", \.method.X0Loc), .double("method.X_0_scale", \.method.X0Scale),
        .choice("network.phi", \.network.phi),
        .int("network.moments", \.network.moments), .int("network.L", \.network.L),
        .int("network.phi_layers", \.network.phiLayers), .int("network.phi_hidden", \.network.phiHidden),
        .int("network.rho_layers", \.network.rhoLayers), .int("network.rho_hidden", \.network.rhoHidden),
        .bool("network.bias", \.network.bias), .choice("network.activation", \.network.activation),
        .double("optimizer.lr", \.optimizer.lr), .int("optimizer.step_size", \.optimizer.stepSize),
        .double("optimizer.step_gamma", \.optimizer.stepGamma),
        .int("trainer.max_epochs", \.trainer.maxEpochs), .optionalDouble("trainer.max_time", \.trainer.maxTime),
        .double("trainer.stopping_threshold", \.trainer.stoppingThreshold), .int("trainer.patience", \.trainer.patience),
        .int("trainer.precision", \.trainer.precision),
        ConfigKey(path: "seed", typeName: "a non-negative integer", read: { String($0.seed) }) { c, s in
            guard let v = UInt64(s) else { throw ConfigError(key: "seed", "expected a non-negative integer, got '\(s)'") }
            c.seed = v
        },
    ]

    static let byPath: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.path, $0) })
    static let sections = ["model", "method", "network", "optimizer", "trainer"]
}

func formatDouble(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(format: "%.1f", x) }
    return "\(x)"
}

/// Closest string by edit distance (for "did you mean").
func closest(_ s: String, in candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]; row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
    return candidates.min { distance(s, $0) < distance(s, $1) }.flatMap { distance(s, $0) <= max(2, $0.count / 3) ? $0 : nil }
}

// MARK: - Reading, overriding, writing

extension RunConfig {
    /// Loads a YAML file; keys it lacks keep their defaults.
    public static func load(path: String) throws -> RunConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "", "cannot read config file '\(path)': no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "", "config file '\(path)' is not UTF-8 text")
        }
        do { return try parse(yaml: text) } catch let e as ConfigError {
            throw ConfigError(key: e.key, e.message + " (in \(path))")
        }
    }

    /// Parses YAML text with sections `model`, `method`, `network`, `optimizer`, `trainer`, and `seed`.
    public static func parse(yaml text: String) throws -> RunConfig {
        var config = RunConfig()
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ConfigError(key: "", "the file is not valid YAML: \(error)")
        }
        guard let node else { return config }
        guard let top = node.mapping else { throw ConfigError(key: "", "the top level must be a mapping of sections (model:, method:, …)") }
        for (k, v) in top {
            let section = k.string ?? ""
            if section == "seed" {
                try config.set("seed", scalar: v)
                continue
            }
            guard ConfigKey.sections.contains(section) else {
                let hint = closest(section, in: ConfigKey.sections + ["seed"]).map { " Did you mean '\($0)'?" } ?? ""
                throw ConfigError(key: section, "unknown section.\(hint) Sections: \(ConfigKey.sections.joined(separator: ", ")), seed")
            }
            if case .scalar(let s) = v, ["", "~", "null"].contains(s.string) { continue }
            guard let entries = v.mapping else { throw ConfigError(key: section, "must be a mapping of keys") }
            for (kk, vv) in entries { try config.set("\(section).\(kk.string ?? "")", scalar: vv) }
        }
        return config
    }

    mutating func set(_ path: String, scalar node: Node) throws {
        guard case .scalar(let s) = node else { throw ConfigError(key: path, "expected a single value, got a list or mapping") }
        try set(path, value: s.string)
    }

    mutating func set(_ path: String, value: String) throws {
        guard let key = ConfigKey.byPath[path] else {
            let section = path.split(separator: ".").first.map(String.init) ?? path
            let inSection = ConfigKey.all.map(\.path).filter { $0.hasPrefix(section + ".") }
            let candidates = inSection.isEmpty ? ConfigKey.all.map(\.path) : inSection
            let hint = closest(path, in: candidates).map { " Did you mean '\($0)'?" } ?? ""
            throw ConfigError(key: path, "unknown key.\(hint) Valid keys\(inSection.isEmpty ? "" : " of '\(section)'"): \(candidates.joined(separator: ", "))")
        }
        try key.write(&self, value.trimmingCharacters(in: .whitespaces))
    }

    /// Applies one `section.key=value` override (the value is read as a YAML scalar).
    public mutating func apply(override: String) throws {
        guard let eq = override.firstIndex(of: "=") else {
            throw ConfigError(key: override, "an override must look like section.key=value, e.g. model.N=1024")
        }
        let path = String(override[..<eq]).trimmingCharacters(in: .whitespaces)
        var value = String(override[override.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        if value.count >= 2, let f = value.first, f == value.last, f == "\"" || f == "'" { value = String(value.dropFirst().dropLast()) }
        try set(path, value: value)
    }

    /// The value of a key as written in YAML (for sweeps and reports).
    public func value(of path: String) -> String? { ConfigKey.byPath[path]?.read(self) }

    /// Every key path, in file order.
    public static var keyPaths: [String] { ConfigKey.all.map(\.path) }

    /// The fully resolved config as YAML; loading it gives back the same `RunConfig`.
    public func yaml() -> String {
        var out = "# SymmetricDP run configuration (every key; missing keys take these defaults)\n"
        let comments = [
            "model": "economy: Lucas–Prescott investment model with N firms (paper eq. 9, 17, 20)",
            "method": "data and expectations: LQ-simulated paths, one draw Ŵ, Gauss–Hermite over ω",
            "network": "u = ρ(mean_i φ(X_i)); phi: identity | moments | deepset",
            "optimizer": "Adam with StepLR",
            "trainer": "stopping rules; precision 32 or 64",
        ]
        for section in ConfigKey.sections {
            out += "\n# \(comments[section]!)\n\(section):\n"
            for key in ConfigKey.all where key.path.hasPrefix(section + ".") {
                out += "  \(key.path.dropFirst(section.count + 1)): \(key.read(self))\n"
            }
        }
        out += "\nseed: \(seed)\n"
        return out
    }

    public enum Purpose: Sendable { case solve, lq }

    /// Rejects values outside their allowed ranges, naming the key and the range.
    public func validate(for purpose: Purpose = .solve) throws {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws {
            if !ok { throw ConfigError(key: key, "\(value(of: key) ?? "?") is out of range; \(rule)") }
        }
        let m = model
        try check(m.N >= 1, "model.N", "need N ≥ 1")
        try check(m.beta > 0 && m.beta < 1, "model.beta", "need 0 < β < 1")
        try check(m.gamma > 0, "model.gamma", "need γ > 0")
        try check(m.sigma >= 0, "model.sigma", "need σ ≥ 0")
        try check(m.eta >= 0, "model.eta", "need η ≥ 0")
        try check(m.delta >= 0 && m.delta <= 1, "model.delta", "need 0 ≤ δ ≤ 1")
        try check(m.nu > 0, "model.nu", "need ν > 0")
        try check(m.zeta > 0, "model.zeta", "need ζ > 0")
        try check(m.mu >= 0 && m.mu < 1, "model.mu", "need 0 ≤ μ < 1")
        try check(m.alpha1 >= 0, "model.alpha_1", "need α1 ≥ 0 (demand slopes down)")
        if purpose == .lq {
            try check(m.nu == 1, "model.nu", "the LQ benchmark needs ν = 1 (linear demand)")
            try check(m.zeta == 1, "model.zeta", "the LQ benchmark needs ζ = 1")
            try check(m.mu == 0, "model.mu", "the LQ benchmark needs μ = 0 (constant returns)")
            return
        }
        try check(m.mu == 0, "model.mu", "decreasing returns (μ > 0) are not implemented yet; use μ = 0")
        let me = method
        try check(me.omegaQuadratureNodes >= 1 && me.omegaQuadratureNodes <= 50, "method.omega_quadrature_nodes", "need 1 to 50 nodes")
        try check(me.trainTrajectories >= 1, "method.train_trajectories", "need at least 1")
        try check(me.valTrajectories >= 1, "method.val_trajectories", "need at least 1")
        try check(me.testTrajectories >= 1, "method.test_trajectories", "need at least 1")
        try check(me.batchSize >= 0, "method.batch_size", "need ≥ 0 (0 = full batch)")
        try check(me.T >= 1, "method.T", "need T ≥ 1")
        try check(me.X0Scale >= 0, "method.X_0_scale", "need ≥ 0")
        let n = network
        try check(n.moments >= 1, "network.moments", "need at least 1 moment")
        try check(n.L >= 1, "network.L", "need L ≥ 1")
        try check(n.phiLayers >= 0, "network.phi_layers", "need ≥ 0 hidden layers")
        try check(n.phiHidden >= 1, "network.phi_hidden", "need ≥ 1 unit")
        try check(n.rhoLayers >= 0, "network.rho_layers", "need ≥ 0 hidden layers")
        try check(n.rhoHidden >= 1, "network.rho_hidden", "need ≥ 1 unit")
        try check(optimizer.lr > 0, "optimizer.lr", "need lr > 0")
        try check(optimizer.stepSize >= 1, "optimizer.step_size", "need ≥ 1 epoch")
        try check(optimizer.stepGamma > 0 && optimizer.stepGamma <= 1, "optimizer.step_gamma", "need 0 < gamma ≤ 1")
        try check(trainer.maxEpochs >= 1, "trainer.max_epochs", "need ≥ 1")
        try check((trainer.maxTime ?? 1) > 0, "trainer.max_time", "need > 0 seconds, or null for no limit")
        try check(trainer.stoppingThreshold >= 0, "trainer.stopping_threshold", "need ≥ 0")
        try check(trainer.patience >= 1, "trainer.patience", "need ≥ 1 epoch")
        try check([32, 64].contains(trainer.precision), "trainer.precision", "use 32 (Float) or 64 (Double)")
    }
}
