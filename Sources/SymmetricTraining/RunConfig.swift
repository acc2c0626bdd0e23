import Foundation
import Yams
import SymmetricNetworks
import SymmetricEconomics

/// The `method` section: data, expectation and batching.
public struct MethodConfig: Equatable, Sendable {
    /// Gauss–Hermite nodes for the aggregate shock ω in training and validation.
    public var omegaQuadratureNodes = 7
    /// Gauss–Hermite nodes for ω when test residuals are measured (independent of training).
    public var testQuadratureNodes = 7
    /// Rescale the one draw Ŵ to mean 0, std 1.
    public var normalizeShockVector = true
    public var trainTrajectories = 16, valTrajectories = 8, testTrajectories = 32
    /// Keep only this many random training points from the simulated paths (0 = all).
    public var trainPoints = 0
    /// Points per mini-batch; 0 = full batch.
    public var batchSize = 32
    public var shuffle = true
    /// Simulated steps per trajectory (T+1 points).
    public var T = 63
    /// Initial distribution X_0,i = |N(X0Loc, X0Scale²)|.
    public var X0Loc = 0.9, X0Scale = 0.05
    /// Gauss–Hermite nodes over an agent's own shock (μ > 0, productivity).
    public var ownShockNodes = 3
    /// Firms of interest per state in training when the policy depends on own states (0 = all).
    public var firmsPerState = 16
    /// Every this many epochs, replace the training and validation data by paths simulated with
    /// the network from the common initial state (0 = never).
    public var refreshDataEvery = 0
    /// After this many epochs of an attempt, add paths simulated with the network to the training
    /// and validation data, as an own-path refinement does at the threshold (0 = never).
    public var ownPathsAtEpoch = 0
    /// Each training and validation path starts from its own draw of the initial cross-section
    /// (false: one common initial state, as in the paper).
    public var initialPerTrajectory = false
    /// Where refreshed data paths start (`method.refresh_data_from`).
    public var refreshDataFrom: RefreshStart = .initial
    /// Agents per training step for the pooled features, means and next-period states (0 = all N).
    public var poolSample = 0
    /// The pooled agents of a training step are a systematic sample of each state's agents sorted
    /// by their states (true), not a random subset shared by the step's states (false): the
    /// sample's shares of each Markov state and its mean state then match the state's.
    public var poolStratified = false
    /// Agents of the validation estimate each epoch (0 = all N); a stop is confirmed on all N.
    public var valPoolSample = 1024
    /// Validation and own-path checks measure every agent's equations (per-agent residuals),
    /// not a fixed subsample of `firms_per_state` of them.
    public var validateEveryAgent = false
    /// Share of the agents of interest in a training step whose own states are drawn from the
    /// model file's `agents.interest` (when it has one) instead of read from the data.
    public var interestShare = 0.5
    /// Training steps differentiate the Euler residual through the next period's policy u(X')
    /// (true: the paper's residual minimisation) or hold u(X') fixed within the step (false: a
    /// time-iteration step, `nextPeriodPolicy`); nil: time iteration, then the full gradient
    /// (`resolvedNextPolicyGradient`, `resolvedSwitchGradientBelow`).
    public var nextPolicyGradient: Bool? = nil
    /// Once the attempt's val MSE reaches this, training steps switch to the other kind (time
    /// iteration ↔ the full gradient); nil: 10 × the stopping threshold when `nextPolicyGradient`
    /// is nil too (the default: time iteration picks the root, the full gradient finishes it),
    /// never otherwise (`resolvedSwitchGradientBelow`).
    public var switchGradientBelow: Double? = nil
    /// … or after this many epochs of the attempt, whichever comes first; nil: only by val MSE.
    public var switchGradientAtEpoch: Int? = nil
    /// Time-iteration steps also hold the other agents' next-period states fixed (model files):
    /// next period's aggregates, prices and pooled features are data, and only an agent's own
    /// next state carries the gradient — the household problem given the law of motion.
    public var holdNextAggregates = false
    /// Before training, ρ's last-layer biases (the policy's level) are set to minimise the mean
    /// squared Euler residual on a sample of the training states (`StartLevelFit`). Off by default:
    /// it rescues α0 = 5 but stalls φ(Identity) at γ = 30, N = 512 (docs/equilibrium-selection.md).
    public var fitStartLevel = false
    public init() {}

    /// The expectation settings of training (`omega_quadrature_nodes`) — one place for every
    /// command that builds an economy from a config.
    public var expectation: ExpectationSettings {
        var e = ExpectationSettings()
        e.aggregateNodes = omegaQuadratureNodes
        e.ownNodes = ownShockNodes
        e.normalizeDraw = normalizeShockVector
        e.firmsPerState = firmsPerState
        return e
    }
}

/// Where the paths of refreshed data start (`method.refresh_data_from`).
public enum RefreshStart: String, CaseIterable, Sendable {
    /// From the common initial state (or per-path initial draws): the data stay anchored.
    case initial
    /// Each path continues from where the same path of the previous data ended: over the
    /// refreshes the data walk into the ergodic set of the network's own policy (ergodic sampling).
    case previous
}

/// The `optimizer` section: Adam with StepLR.
public struct OptimizerConfig: Equatable, Sendable {
    public var lr = 1e-3, stepSize = 100, stepGamma = 0.1
    /// Decay per step of the moving average of the parameters that validation sees (0 = off).
    public var averageDecay = 0.0
    public init() {}
}

/// The `trainer` section: stopping rules and precision.
public struct TrainerConfig: Equatable, Sendable {
    public var maxEpochs = 100
    /// The stopping threshold counts only from this many epochs of an attempt on (PyTorch
    /// Lightning's `min_epochs`): e.g. after data that make the fit harder have joined.
    public var minEpochs = 0
    /// Wall-clock budget in seconds (nil: none).
    public var maxTime: Double? = nil
    public var stoppingThreshold = 1e-6
    public var patience = 50
    /// 32 (Float) or 64 (Double).
    public var precision = 32
    /// Worker threads (0 = every core).
    public var threads = 0
    /// Check a candidate solution on paths simulated with the network itself.
    public var verifyOwnPaths = true
    /// The own-path MSE may be this many times the stopping threshold.
    public var ownPathTolerance = 10.0
    /// Below this val MSE (and above the threshold), every epoch simulates the network on its own
    /// paths and restarts at once when they run away (0: no screen; only the check at the threshold).
    public var ownPathScreen = 1e-4
    /// Fresh initialisations tried after a failed own-path check.
    public var maxRestarts = 4
    /// Times the network's own paths are added to the data when a solution stays near the path
    /// but misses the tolerance on it (per attempt).
    public var ownPathRefinements = 2
    /// Stop as diverged when val MSE exceeds this.
    public var divergenceThreshold = 1e5
    /// Times per attempt a non-finite training loss (or val MSE above the divergence threshold)
    /// sends the weights and the optimiser back to the start of the previous epoch, with the
    /// learning rate halved, before the run ends `diverged`.
    public var rollbacks = 0
    public init() {}
}

/// The economy a run solves (`model.kind`).
public enum ModelKind: String, CaseIterable, Sendable {
    /// Lucas–Prescott investment model with N firms (paper §2–§5; μ > 0: §6.1).
    case investment
    /// Several productivity types in blocks (§6.2).
    case types
    /// Two-dimensional firm states (capital, stochastic productivity) (§6.3).
    case productivity
    /// Firms with M exchangeable customers: nested sets (§6.3).
    case customers
}

/// Settings of the extensions (`model.*` keys beyond the investment model's).
public struct ExtensionConfig: Equatable, Sendable {
    /// `types`: productivity a_j and number of firms N_j of each type (Σ N_j = N).
    public var typeProductivities: [Double] = [1.0, 1.5]
    public var typeSizes: [Int] = [64, 64]
    /// `productivity`: log y' = ρ_y log y + σ_y ε.
    public var rhoY = 0.9
    public var sigmaY = 0.02
    /// `customers`: M customers per firm, y' = ȳ + κ(y − ȳ), initial sizes |N(ȳ, scale²)|.
    public var customers = 8
    public var customerMean = 1.0
    public var customerPersistence = 0.9
    public var customerScale = 0.2
    public init() {}
}

/// Every setting of one run, as one YAML file with sections `model`, `method`, `network`,
/// `optimizer`, `trainer` and a top-level `seed`. Missing keys take the paper's defaults.
public struct RunConfig: Equatable, Sendable {
    public var kind: ModelKind = .investment
    public var model = InvestmentModel()
    public var extensions = ExtensionConfig()
    public var method = MethodConfig()
    /// The network; ρ's initial scale by architecture (`network.rho_output_scale: null`): the
    /// measured equilibrium selection of docs/equilibrium-selection.md.
    public var network: SymmetricArchitecture = {
        var a = SymmetricArchitecture()
        a.rhoOutputScale = nil
        return a
    }()
    public var optimizer = OptimizerConfig()
    public var trainer = TrainerConfig()
    public var seed: UInt64 = 42
    /// A model file (`model.file`, `--model`): the economy comes from it, and `model.NAME`
    /// keys set its parameters (docs/model-files.md).
    public var modelFile: String? = nil
    /// `model.NAME` values given for the model file's parameters, in the order given.
    public var modelValues: [(name: String, value: String)] = []
    /// The SHA-256 of the model file recorded in a run's config (checked when it is loaded).
    public var modelSHA256: String? = nil
    public init() {}

    /// `method.next_policy_gradient`; null: time-iteration steps (false) for every architecture,
    /// where the explosive root repels (docs/equilibrium-selection.md, "Time iteration" and "A
    /// start at zero").
    public var resolvedNextPolicyGradient: Bool { method.nextPolicyGradient ?? false }

    /// `method.switch_gradient_below`; null: 10 × `trainer.stopping_threshold` when
    /// `method.next_policy_gradient` is null too — time-iteration steps select the stable root and
    /// the full gradient, which minimises the squared residual itself, finishes the fit — and
    /// never when the kind of step was chosen explicitly (so sweeps that pin it measure one kind).
    public var resolvedSwitchGradientBelow: Double? {
        method.switchGradientBelow ?? (method.nextPolicyGradient == nil ? 10 * trainer.stoppingThreshold : nil)
    }

    /// Whether a training step differentiates through the next period's policy, given the val MSEs
    /// of the attempt so far: `resolvedNextPolicyGradient`, flipped for the rest of the attempt once
    /// one of them reaches `resolvedSwitchGradientBelow`, or once the attempt has run
    /// `method.switch_gradient_at_epoch` epochs (new data, as an own-path refinement brings, do
    /// not flip it back; a restart does).
    public func nextPolicyGradient<S: Sequence>(attemptValMSEs: S) -> Bool where S.Element == Double {
        var epochs = 0, reached = false
        let switchLevel = resolvedSwitchGradientBelow
        for v in attemptValMSEs {
            epochs += 1
            if let s = switchLevel, v <= s { reached = true }
        }
        let byClock = method.switchGradientAtEpoch.map { epochs >= $0 } ?? false
        return resolvedNextPolicyGradient != (reached || byClock)
    }

    public static func == (a: RunConfig, b: RunConfig) -> Bool {
        a.kind == b.kind && a.model == b.model && a.extensions == b.extensions && a.method == b.method && a.network == b.network
            && a.optimizer == b.optimizer && a.trainer == b.trainer && a.seed == b.seed && a.modelFile == b.modelFile
            && a.modelValues.map { "\($0.name)=\($0.value)" } == b.modelValues.map { "\($0.name)=\($0.value)" }
            && a.modelSHA256 == b.modelSHA256
    }
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
    /// One line on the key, written beside it in `config.yaml`.
    var help = ""
    /// The model kind the key belongs to (nil: every run); written and checked only for it.
    var scope: ModelKind? = nil
    /// The allowed range: a test of the config and the rule the error message states.
    var rule: (text: String, test: (RunConfig) -> Bool)? = nil

    func help(_ text: String) -> ConfigKey { var k = self; k.help = text; return k }
    func only(_ kind: ModelKind) -> ConfigKey { var k = self; k.scope = kind; return k }
    func valid(_ text: String, _ test: @escaping (RunConfig) -> Bool) -> ConfigKey { var k = self; k.rule = (text, test); return k }

    /// Whether the key means something for this config (its model kind; a model file declares its own `model.*` keys).
    func applies(to c: RunConfig) -> Bool {
        if c.modelFile != nil && path.hasPrefix("model.") { return false }
        return scope.map { $0 == c.kind } ?? true
    }

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
            guard let v = Double(s), v.isFinite else { throw ConfigError(key: path, "expected a number or null, got '\(s)'") }
            c[keyPath: kp] = v
        }
    }
    static func optionalInt(_ path: String, _ kp: WritableKeyPath<RunConfig, Int?>) -> ConfigKey {
        ConfigKey(path: path, typeName: "an integer or null", read: { $0[keyPath: kp].map { String($0) } ?? "null" }) { c, s in
            if ["null", "~", "", "none"].contains(s.lowercased()) { c[keyPath: kp] = nil; return }
            guard let v = Int(s) ?? Double(s).flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }) else {
                throw ConfigError(key: path, "expected an integer or null, got '\(s)'")
            }
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
    static func optionalBool(_ path: String, _ kp: WritableKeyPath<RunConfig, Bool?>) -> ConfigKey {
        ConfigKey(path: path, typeName: "true, false or null", read: { $0[keyPath: kp].map { String($0) } ?? "null" }) { c, s in
            switch s.lowercased() {
            case "true", "yes", "on": c[keyPath: kp] = true
            case "false", "no", "off": c[keyPath: kp] = false
            case "null", "~", "", "none": c[keyPath: kp] = nil
            default: throw ConfigError(key: path, "expected true, false or null, got '\(s)'")
            }
        }
    }
    static func parseList(_ s: String) -> [String] {
        var t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("[") && t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        return t.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    static func doubleList(_ path: String, _ kp: WritableKeyPath<RunConfig, [Double]>) -> ConfigKey {
        ConfigKey(path: path, typeName: "a list of numbers", read: { "[" + $0[keyPath: kp].map(formatDouble).joined(separator: ", ") + "]" }) { c, s in
            let items = parseList(s)
            let values = items.compactMap { Double($0) }.filter(\.isFinite)
            guard !items.isEmpty, values.count == items.count else { throw ConfigError(key: path, "expected a list of numbers like [1.0, 1.5], got '\(s)'") }
            c[keyPath: kp] = values
        }
    }
    static func intList(_ path: String, _ kp: WritableKeyPath<RunConfig, [Int]>) -> ConfigKey {
        ConfigKey(path: path, typeName: "a list of integers", read: { "[" + $0[keyPath: kp].map(String.init).joined(separator: ", ") + "]" }) { c, s in
            let items = parseList(s)
            let values = items.compactMap { Int($0) }
            guard !items.isEmpty, values.count == items.count else { throw ConfigError(key: path, "expected a list of integers like [64, 64], got '\(s)'") }
            c[keyPath: kp] = values
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
    /// Every key, in the order `yaml()` writes them: its path and type, its help text (written
    /// beside it in `config.yaml` and printed by `symdp config`), the model kind it belongs to, and
    /// its allowed range. The default is the value of `RunConfig()`. The parser, `symdp config`,
    /// `yaml()` and `validate()` all read this one table.
    static let all: [ConfigKey] = [
        .choice("model.kind", \.kind)
            .help("investment (§2–§6.1) | types (§6.2) | productivity (§6.3) | customers (§6.3, nested)"),
        .int("model.N", \.model.N)
            .help("number of firms")
            .valid("need N ≥ 1") { $0.model.N >= 1 },
        .double("model.alpha_0", \.model.alpha0)
            .help("inverse demand intercept α0 (eq. 9)"),
        .double("model.alpha_1", \.model.alpha1)
            .help("inverse demand slope α1 (eq. 9)")
            .valid("need α1 ≥ 0 (demand slopes down)") { $0.model.alpha1 >= 0 },
        .double("model.beta", \.model.beta)
            .help("discount factor β ∈ (0, 1)")
            .valid("need 0 < β < 1") { $0.model.beta > 0 && $0.model.beta < 1 },
        .double("model.gamma", \.model.gamma)
            .help("adjustment cost γ > 0")
            .valid("need γ > 0") { $0.model.gamma > 0 },
        .double("model.sigma", \.model.sigma)
            .help("idiosyncratic shock scale σ")
            .valid("need σ ≥ 0") { $0.model.sigma >= 0 },
        .double("model.delta", \.model.delta)
            .help("depreciation δ ∈ [0, 1]")
            .valid("need 0 ≤ δ ≤ 1") { $0.model.delta >= 0 && $0.model.delta <= 1 },
        .double("model.eta", \.model.eta)
            .help("aggregate shock scale η")
            .valid("need η ≥ 0") { $0.model.eta >= 0 },
        .double("model.nu", \.model.nu)
            .help("demand curvature ν (1 = linear, the LQ case)")
            .valid("need ν > 0") { $0.model.nu > 0 },
        .double("model.zeta", \.model.zeta)
            .help("outer exponent ζ of eq. 9")
            .valid("need ζ > 0") { $0.model.zeta > 0 },
        .double("model.mu", \.model.mu)
            .help("decreasing returns μ ∈ [0, 1) (0 = constant returns)")
            .valid("need 0 ≤ μ < 1") { $0.model.mu >= 0 && $0.model.mu < 1 },
        .doubleList("model.type_productivities", \.extensions.typeProductivities)
            .help("types: productivity a_j of each type").only(.types)
            .valid("need productivities > 0") { $0.extensions.typeProductivities.allSatisfy { $0 > 0 } },
        .intList("model.type_sizes", \.extensions.typeSizes)
            .help("types: firms N_j of each type (sum = N)").only(.types),
        .double("model.rho_y", \.extensions.rhoY)
            .help("productivity: persistence of log y").only(.productivity)
            .valid("need |ρ_y| < 1 (a stationary productivity)") { abs($0.extensions.rhoY) < 1 },
        .double("model.sigma_y", \.extensions.sigmaY)
            .help("productivity: std of the log y shock").only(.productivity)
            .valid("need σ_y ≥ 0") { $0.extensions.sigmaY >= 0 },
        .int("model.customers", \.extensions.customers)
            .help("customers: customers M per firm").only(.customers)
            .valid("need at least 1 customer per firm") { $0.extensions.customers >= 1 },
        .double("model.customer_mean", \.extensions.customerMean)
            .help("customers: long-run customer size ȳ").only(.customers)
            .valid("need ȳ > 0") { $0.extensions.customerMean > 0 },
        .double("model.customer_persistence", \.extensions.customerPersistence)
            .help("customers: κ in y' = ȳ + κ(y − ȳ)").only(.customers)
            .valid("need |κ| < 1") { abs($0.extensions.customerPersistence) < 1 },
        .double("model.customer_scale", \.extensions.customerScale)
            .help("customers: initial sizes |N(ȳ, scale²)|").only(.customers)
            .valid("need ≥ 0") { $0.extensions.customerScale >= 0 },
        .int("method.omega_quadrature_nodes", \.method.omegaQuadratureNodes)
            .help("Gauss–Hermite nodes over ω in training (paper: 7)")
            .valid("need 1 to 50 nodes") { $0.method.omegaQuadratureNodes >= 1 && $0.method.omegaQuadratureNodes <= 50 },
        .int("method.test_quadrature_nodes", \.method.testQuadratureNodes)
            .help("Gauss–Hermite nodes over ω for test residuals")
            .valid("need 1 to 50 nodes") { $0.method.testQuadratureNodes >= 1 && $0.method.testQuadratureNodes <= 50 },
        .bool("method.normalize_shock_vector", \.method.normalizeShockVector)
            .help("rescale the one draw Ŵ to mean 0, std 1"),
        .int("method.train_trajectories", \.method.trainTrajectories)
            .help("LQ-simulated training paths")
            .valid("need at least 1") { $0.method.trainTrajectories >= 1 },
        .int("method.train_points", \.method.trainPoints)
            .help("keep this many random training points (0 = all; §5.5 uses 3)")
            .valid("need ≥ 0 (0 = every simulated point)") { $0.method.trainPoints >= 0 },
        .int("method.val_trajectories", \.method.valTrajectories)
            .help("LQ-simulated validation paths")
            .valid("need at least 1") { $0.method.valTrajectories >= 1 },
        .int("method.test_trajectories", \.method.testTrajectories)
            .help("test paths, simulated with the trained network")
            .valid("need at least 1") { $0.method.testTrajectories >= 1 },
        .int("method.batch_size", \.method.batchSize)
            .help("points per mini-batch (0 = full batch)")
            .valid("need ≥ 0 (0 = full batch)") { $0.method.batchSize >= 0 },
        .bool("method.shuffle", \.method.shuffle)
            .help("reshuffle the training points every epoch"),
        .int("method.T", \.method.T)
            .help("steps per path (T + 1 points)")
            .valid("need T ≥ 1") { $0.method.T >= 1 },
        .double("method.X_0_loc", \.method.X0Loc)
            .help("initial states X_0,i = |N(loc, scale²)|"),
        .double("method.X_0_scale", \.method.X0Scale)
            .valid("need ≥ 0") { $0.method.X0Scale >= 0 },
        .int("method.own_shock_nodes", \.method.ownShockNodes)
            .help("Gauss–Hermite nodes over an agent's own shock (μ > 0, productivity)")
            .valid("need 1 to 20 nodes") { $0.method.ownShockNodes >= 1 && $0.method.ownShockNodes <= 20 },
        .int("method.firms_per_state", \.method.firmsPerState)
            .help("firms of interest per state in training (0 = all)")
            .valid("need ≥ 0 (0 = every firm)") { $0.method.firmsPerState >= 0 },
        .bool("method.initial_per_trajectory", \.method.initialPerTrajectory)
            .help("each data path starts from its own draw of the initial cross-section (false: one common start, the paper)"),
        .int("method.refresh_data_every", \.method.refreshDataEvery)
            .help("every this many epochs, new data: paths simulated with the network from the initial state (0 = never)")
            .valid("need ≥ 0 (0 = never)") { $0.method.refreshDataEvery >= 0 },
        .int("method.own_paths_at_epoch", \.method.ownPathsAtEpoch)
            .help("after this many epochs of an attempt, add paths simulated with the network to the data, as an own-path refinement does (0 = never)")
            .valid("need ≥ 0 (0 = never)") { $0.method.ownPathsAtEpoch >= 0 },
        .int("method.pool_sample", \.method.poolSample)
            .help("agents per training step for pooling, means and next states, fresh each step (0 = all N; validation and test use all N)")
            .valid("need ≥ 0 (0 = all agents)") { $0.method.poolSample >= 0 },
        .bool("method.pool_stratified", \.method.poolStratified)
            .help("the pool_sample agents of a step are, per state, every (N/pool_sample)-th agent sorted by state from a random start (true: shares of each Markov state and the mean state match the state's), or one random subset for all states (false)")
            .valid("needs method.pool_sample > 0 (a pool to stratify); set it, or pool_stratified: false") { !$0.method.poolStratified || $0.method.poolSample > 0 },
        .int("method.val_pool_sample", \.method.valPoolSample)
            .help("agents of a fixed subset that validation and the own-path checks use when N is larger (0 = all N); a stop is confirmed on all N")
            .valid("need ≥ 0 (0 = all agents)") { $0.method.valPoolSample >= 0 },
        .bool("method.validate_every_agent", \.method.validateEveryAgent)
            .help("validation measures every agent's equations (true) or a fixed subsample of firms_per_state of them (false: cheaper, but a few atypical agents can dominate it)"),
        .double("method.interest_share", \.method.interestShare)
            .help("share of the agents of interest per training step whose own states are drawn from the model file's agents.interest, when it has one (validation and test never are)")
            .valid("need 0 ≤ share ≤ 1") { $0.method.interestShare >= 0 && $0.method.interestShare <= 1 },
        .choice("method.refresh_data_from", \.method.refreshDataFrom)
            .help("initial | previous: refreshed paths start at the initial state, or continue where the previous data's paths ended (ergodic sampling)"),
        .optionalBool("method.next_policy_gradient", \.method.nextPolicyGradient)
            .help("training steps differentiate through next period's policy u(X') (true, the paper) or hold it fixed (false: time iteration, where the explosive root repels); null: false, and the full gradient from val MSE ≤ 10 × stopping_threshold (method.switch_gradient_below)"),
        .optionalDouble("method.switch_gradient_below", \.method.switchGradientBelow)
            .help("once val MSE ≤ this, training steps switch between time iteration and the full gradient (null: 10 × trainer.stopping_threshold when method.next_policy_gradient is null, else never)")
            .valid("need > 0, or null") { ($0.method.switchGradientBelow ?? 1) > 0 },
        .bool("method.hold_next_aggregates", \.method.holdNextAggregates)
            .help("time-iteration steps also hold every agent's next state fixed but the agent of interest's own (model files: next period's aggregates, prices and pooled features become data)"),
        .bool("method.fit_start_level", \.method.fitStartLevel)
            .help("before training, set ρ's last-layer biases (the policy's level) to minimise the mean squared Euler residual on a sample of the training states (default false; see docs/equilibrium-selection.md for where it helps and where it stalls)"),
        .optionalInt("method.switch_gradient_at_epoch", \.method.switchGradientAtEpoch)
            .help("... or after this many epochs of an attempt, whichever comes first (null: only by val MSE)")
            .valid("need ≥ 1, or null") { ($0.method.switchGradientAtEpoch ?? 1) >= 1 },
        .optionalDouble("network.rho_output_scale", \.network.rhoOutputScale)
            .help("ρ's last layer (weights and bias) × this at initialisation: 0 starts flat at u ≡ 0, 1 is PyTorch's; null: 0 for identity/moments, 1 for deepset")
            .valid("need ≥ 0, or null") { ($0.network.rhoOutputScale ?? 0) >= 0 },
        .choice("network.phi", \.network.phi)
            .help("identity | moments | deepset"),
        .int("network.moments", \.network.moments)
            .help("k for phi = moments")
            .valid("need at least 1 moment") { $0.network.moments >= 1 },
        .int("network.L", \.network.L)
            .help("width of φ's output for phi = deepset")
            .valid("need L ≥ 1") { $0.network.L >= 1 },
        .int("network.phi_layers", \.network.phiLayers)
            .help("hidden layers of φ (deepset)")
            .valid("need ≥ 0 hidden layers") { $0.network.phiLayers >= 0 },
        .int("network.phi_hidden", \.network.phiHidden)
            .help("width of φ's hidden layers")
            .valid("need ≥ 1 unit") { $0.network.phiHidden >= 1 },
        .int("network.rho_layers", \.network.rhoLayers)
            .help("hidden layers of ρ")
            .valid("need ≥ 0 hidden layers") { $0.network.rhoLayers >= 0 },
        .int("network.rho_hidden", \.network.rhoHidden)
            .help("width of ρ's hidden layers")
            .valid("need ≥ 1 unit") { $0.network.rhoHidden >= 1 },
        .bool("network.bias", \.network.bias)
            .help("biases in every layer"),
        .choice("network.activation", \.network.activation)
            .help("relu | tanh | softplus | sigmoid | identity"),
        .bool("network.shared_phi", \.network.sharedPhi)
            .help("types: one φ for every type block").only(.types),
        .int("network.outer_L", \.network.outerL)
            .help("customers: width of mean_i ρ2(X_i, mean_j φ2(Y_i^j))").only(.customers)
            .valid("need ≥ 1") { $0.network.outerL >= 1 },
        .int("network.rho2_layers", \.network.rho2Layers)
            .help("customers: hidden layers of ρ2").only(.customers)
            .valid("need ≥ 0 hidden layers") { $0.network.rho2Layers >= 0 },
        .int("network.rho2_hidden", \.network.rho2Hidden)
            .help("customers: width of ρ2's hidden layers").only(.customers)
            .valid("need ≥ 1 unit") { $0.network.rho2Hidden >= 1 },
        .double("optimizer.lr", \.optimizer.lr)
            .help("Adam learning rate")
            .valid("need lr > 0") { $0.optimizer.lr > 0 },
        .int("optimizer.step_size", \.optimizer.stepSize)
            .help("StepLR: epochs between decays")
            .valid("need ≥ 1 epoch") { $0.optimizer.stepSize >= 1 },
        .double("optimizer.step_gamma", \.optimizer.stepGamma)
            .help("StepLR: decay factor")
            .valid("need 0 < gamma ≤ 1") { $0.optimizer.stepGamma > 0 && $0.optimizer.stepGamma <= 1 },
        .double("optimizer.average_decay", \.optimizer.averageDecay)
            .help("validation, stopping and checkpoints use a moving average of the weights with this decay per step (0 = the last iterate)")
            .valid("need 0 ≤ decay < 1") { $0.optimizer.averageDecay >= 0 && $0.optimizer.averageDecay < 1 },
        .int("trainer.max_epochs", \.trainer.maxEpochs)
            .valid("need ≥ 1") { $0.trainer.maxEpochs >= 1 },
        .int("trainer.min_epochs", \.trainer.minEpochs)
            .help("the stopping threshold counts only after this many epochs of an attempt (0 = from the first)")
            .valid("need 0 ≤ min_epochs ≤ max_epochs") { $0.trainer.minEpochs >= 0 && $0.trainer.minEpochs <= $0.trainer.maxEpochs },
        .optionalDouble("trainer.max_time", \.trainer.maxTime)
            .help("seconds of fitting, or null for no limit")
            .valid("need > 0 seconds, or null for no limit") { ($0.trainer.maxTime ?? 1) > 0 },
        .double("trainer.stopping_threshold", \.trainer.stoppingThreshold)
            .help("stop when val MSE ≤ this")
            .valid("need ≥ 0") { $0.trainer.stoppingThreshold >= 0 },
        .int("trainer.patience", \.trainer.patience)
            .help("stop after this many epochs without a better val MSE")
            .valid("need ≥ 1 epoch") { $0.trainer.patience >= 1 },
        .int("trainer.precision", \.trainer.precision)
            .help("32 (Float) or 64 (Double)")
            .valid("need 32 (Float) or 64 (Double)") { [32, 64].contains($0.trainer.precision) },
        .int("trainer.threads", \.trainer.threads)
            .help("worker threads (0 = every core)")
            .valid("need ≥ 0 (0 = every core)") { $0.trainer.threads >= 0 },
        .double("trainer.divergence_threshold", \.trainer.divergenceThreshold)
            .help("stop as diverged when val MSE exceeds this")
            .valid("need > 0") { $0.trainer.divergenceThreshold > 0 },
        .int("trainer.rollbacks", \.trainer.rollbacks)
            .help("on a non-finite loss or val MSE above divergence_threshold, back to the start of the previous epoch with half the learning rate, this many times per attempt (0 = end diverged at once)")
            .valid("need ≥ 0") { $0.trainer.rollbacks >= 0 },
        .bool("trainer.verify_own_paths", \.trainer.verifyOwnPaths)
            .help("at the threshold, check the solution on paths simulated with itself"),
        .double("trainer.own_path_tolerance", \.trainer.ownPathTolerance)
            .help("own-path MSE may be this × stopping_threshold")
            .valid("need ≥ 1") { $0.trainer.ownPathTolerance >= 1 },
        .double("trainer.own_path_screen", \.trainer.ownPathScreen)
            .help("below this val MSE, restart at once when own paths run away (0 = off)")
            .valid("need ≥ 0 (0 = no screen)") { $0.trainer.ownPathScreen >= 0 },
        .int("trainer.max_restarts", \.trainer.maxRestarts)
            .help("fresh initialisations after a failed own-path check")
            .valid("need ≥ 0") { $0.trainer.maxRestarts >= 0 },
        .int("trainer.own_path_refinements", \.trainer.ownPathRefinements)
            .help("times own paths join the data when the check fails near the path")
            .valid("need ≥ 0") { $0.trainer.ownPathRefinements >= 0 },
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
    guard s.count <= 200 else { return nil }   // a pasted blob is no typo, and the distance is quadratic
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
        var config: RunConfig
        do { config = try parse(yaml: text) } catch let e as ConfigError {
            throw ConfigError(key: e.key, e.message + " (in \(path))")
        }
        // a relative model.file is relative to the config file (as a sweep's base:), else to the working directory
        if let file = config.modelFile, !file.hasPrefix("/") {
            let beside = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(file).standardizedFileURL.path
            if FileManager.default.fileExists(atPath: beside) { config.modelFile = beside }
        }
        return config
    }

    /// Parses YAML text with sections `model`, `method`, `network`, `optimizer`, `trainer`, and `seed`.
    public static func parse(yaml text: String) throws -> RunConfig {
        var config = RunConfig()
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ConfigError(key: "", "the file is not valid YAML: \(ConfigEcho.truncated("\(error)"))")
        }
        try YAMLDuplicateKeys.check(node)
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
                throw ConfigError(key: ConfigEcho.truncated(section), "unknown section.\(hint) Sections: \(ConfigKey.sections.joined(separator: ", ")), seed")
            }
            if case .scalar(let s) = v, ["", "~", "null"].contains(s.string) { continue }
            guard let entries = v.mapping else { throw ConfigError(key: section, "must be a mapping of keys") }
            // the model file first: it decides what the other model.* keys mean
            let ordered = entries.filter { $0.key.string == "file" } + entries.filter { $0.key.string != "file" }
            for (kk, vv) in ordered { try config.set("\(section).\(kk.string ?? "")", scalar: vv) }
        }
        return config
    }

    mutating func set(_ path: String, scalar node: Node) throws {
        if let seq = node.sequence, let key = ConfigKey.byPath[path], key.typeName.hasPrefix("a list") {
            let items = try seq.map { item -> String in
                guard case .scalar(let s) = item else { throw ConfigError(key: path, "expected a list of single values") }
                return s.string
            }
            try set(path, value: "[" + items.joined(separator: ", ") + "]")
            return
        }
        guard case .scalar(let s) = node else { throw ConfigError(key: path, "expected a single value, got a list or mapping") }
        try set(path, value: s.string)
    }

    mutating func set(_ path: String, value: String) throws {
        do { try setUnchecked(path, value: value) } catch let e as ConfigError {
            // never echo a huge value or key back in full
            throw ConfigError(key: ConfigEcho.truncated(e.key), ConfigEcho.shorten(ConfigEcho.shorten(e.message, value: value), value: path))
        }
    }

    private mutating func setUnchecked(_ path: String, value: String) throws {
        if try setModelFileKey(path, value: value) { return }
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
            throw ConfigError(key: ConfigEcho.truncated(override), "an override must look like section.key=value, e.g. model.N=1024")
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
        if modelFile != nil { return modelFileYAML() }
        return "# SymmetricDP run configuration (every key; missing keys take these defaults)\n" + yamlSections(excluding: [])
    }

    /// The sections as YAML, each key with its comment, then the seed.
    func yamlSections(excluding skipped: Set<String>) -> String {
        var out = ""
        let comments = [
            "model": "economy: N firms, Lucas–Prescott investment (paper eq. 9, 17, 20) and its extensions (§6)",
            "method": "data and expectations: LQ-simulated paths, one draw Ŵ, Gauss–Hermite over ω",
            "network": "u = ρ(mean_i φ(X_i)); phi: identity | moments | deepset",
            "optimizer": "Adam with StepLR",
            "trainer": "stopping rules; precision 32 or 64",
        ]
        for section in ConfigKey.sections where !skipped.contains(section) {
            out += "\n# \(comments[section]!)\n\(section):\n"
            for key in ConfigKey.all where key.path.hasPrefix(section + ".") && key.applies(to: self) {
                // a model file declares its own initial cross-section
                if modelFile != nil && key.path.hasPrefix("method.X_0_") { continue }
                let line = "  \(key.path.dropFirst(section.count + 1)): \(key.read(self))"
                let note = key.help
                out += note.isEmpty ? line + "\n" : line.padding(toLength: max(line.count, 36), withPad: " ", startingAt: 0) + "  # \(note)\n"
            }
        }
        out += "\nseed: \(seed)\n"
        return out
    }

    public enum Purpose: Sendable { case solve, lq }

    /// Rejects values outside their allowed ranges, naming the key and the range.
    public func validate(for purpose: Purpose = .solve) throws {
        if modelFile != nil {
            guard purpose == .solve else { throw ConfigError(key: "model.file", "this command solves the built-in investment model only; drop model.file") }
            _ = try compiledModel()
            try validateKeys()
            return
        }
        func check(_ ok: Bool, _ key: String, _ rule: String) throws {
            if !ok { throw ConfigError(key: key, "\(value(of: key) ?? "?") is out of range; \(rule)") }
        }
        try validateKeys()
        let m = model
        if purpose == .lq {
            try check(m.nu == 1, "model.nu", "the LQ benchmark needs ν = 1 (linear demand)")
            try check(m.zeta == 1, "model.zeta", "the LQ benchmark needs ζ = 1")
            try check(m.mu == 0, "model.mu", "the LQ benchmark needs μ = 0 (constant returns)")
            return
        }
        // rules that tie several keys together
        let x = extensions
        switch kind {
        case .investment: break
        case .types:
            try check(x.typeProductivities.count == x.typeSizes.count && x.typeSizes.count >= 1, "model.type_sizes",
                      "need one size per entry of model.type_productivities (\(x.typeProductivities.count))")
            try check(x.typeSizes.allSatisfy { $0 >= 1 } && x.typeSizes.reduce(0, +) == m.N, "model.type_sizes",
                      "need sizes ≥ 1 that add up to model.N = \(m.N)")
            try check(m.mu == 0, "model.mu", "need μ = 0 with model.kind = types (the policy depends on the type only)")
        case .productivity:
            try check(m.mu == 0, "model.mu", "need μ = 0 with model.kind = productivity")
        case .customers:
            try check(m.mu == 0, "model.mu", "need μ = 0 with model.kind = customers")
            try check(network.phi == .deepset, "network.phi", "need deepset: nested sets use φ1, φ2 networks")
        }
    }

    /// Each key's own range, from its declaration (the keys that apply to this config).
    func validateKeys() throws {
        for key in ConfigKey.all where key.applies(to: self) {
            if let rule = key.rule, !rule.test(self) {
                throw ConfigError(key: key.path, "\(key.read(self)) is out of range; \(rule.text)")
            }
        }
    }
}
