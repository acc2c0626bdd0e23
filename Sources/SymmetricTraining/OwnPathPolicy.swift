/// The solver's last line of defence as a small state machine: what to do with a candidate
/// solution after its own-path check (`trainer.verify_own_paths`), and at the screen below
/// `trainer.own_path_screen`. It decides; the solver acts (adds data, restarts, stops).
public struct OwnPathPolicy: Equatable, Sendable {
    public enum Decision: Equatable, Sendable {
        /// The solution passed: the run is solved.
        case accept
        /// Near the equilibrium path but inaccurate on it: add the network's own paths to the data.
        case refine
        /// Explosive or inaccurate beyond repair: a fresh initialisation.
        case restart
        /// No restarts left: the run fails.
        case giveUp
        /// The screen saw nothing wrong: keep training.
        case carryOn
    }

    public let maxRestarts: Int
    public let maxRefinements: Int
    /// The current attempt (0 = the first initialisation) and its refinements so far.
    public var attempt = 0
    public var refinements = 0

    public init(maxRestarts: Int, maxRefinements: Int, attempt: Int = 0, refinements: Int = 0) {
        self.maxRestarts = maxRestarts; self.maxRefinements = maxRefinements
        self.attempt = attempt; self.refinements = refinements
    }

    /// At the stopping threshold.
    public mutating func atThreshold(_ check: OwnPathCheck) -> Decision {
        if check.passed { return .accept }
        if check.bounded && check.mse.isFinite && refinements < maxRefinements {
            refinements += 1
            return .refine
        }
        return nextAttempt()
    }

    /// Below `trainer.own_path_screen`, before the threshold: only runaway paths matter, and only
    /// while a restart is left (the last attempt trains on to the threshold's check).
    public mutating func atScreen(_ check: OwnPathCheck) -> Decision {
        guard attempt < maxRestarts, !check.bounded else { return .carryOn }
        return nextAttempt()
    }

    private mutating func nextAttempt() -> Decision {
        guard attempt < maxRestarts else { return .giveUp }
        attempt += 1
        refinements = 0
        return .restart
    }
}
