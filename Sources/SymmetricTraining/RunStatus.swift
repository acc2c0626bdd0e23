import Foundation

/// How a run ended: one of four documented outcomes, written to `metrics.json` (`status`) and on
/// the last console line, each with its own process exit code (the one place that defines them).
///
/// | status          | meaning                                                                  | exit |
/// |-----------------|--------------------------------------------------------------------------|------|
/// | `solved`        | val MSE reached `trainer.stopping_threshold` and the own-path check passed (or is off), test paths finite | 0 |
/// | `not_converged` | stopped by `trainer.max_epochs`, `trainer.max_time` or `trainer.patience`; paths fine | 3 |
/// | `failed`        | every attempt was rejected by the own-path check, or the test paths exploded (non-finite or huge test MSE) | 4 |
/// | `diverged`      | the loss or val MSE became non-finite or exceeded `trainer.divergence_threshold` | 5 |
///
/// Errors that stop a command before a run ends (a bad config, an unreadable file, a folder held
/// by another run) exit with `RunStatus.errorExitCode` (1); command-line syntax errors exit 64;
/// `evaluate` of a run that has not ended exits 6 (`unfinished`).
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case solved
    case notConverged = "not_converged"
    case failed
    case diverged

    /// The process exit code of a command whose run ended with this status.
    public var exitCode: Int32 {
        switch self {
        case .solved: return 0
        case .notConverged: return 3
        case .failed: return 4
        case .diverged: return 5
        }
    }

    /// Exit code of an error that stopped the command before any run ended (config, file, I/O).
    public static let errorExitCode: Int32 = 1
    /// Exit code of `evaluate` on a run that has not ended (status `unfinished` in metrics.json).
    public static let unfinishedExitCode: Int32 = 6
    /// Exit code of a command-line syntax error (ArgumentParser's EX_USAGE).
    public static let usageExitCode: Int32 = 64

    /// The status whose exit code is `code` (nil for 1, 64 and anything else).
    public init?(exitCode code: Int32) {
        guard let s = RunStatus.allCases.first(where: { $0.exitCode == code }) else { return nil }
        self = s
    }

    /// One line on what the status means, for the console.
    public var meaning: String {
        switch self {
        case .solved: return "val MSE reached the stopping threshold and the solution passed the own-path check"
        case .notConverged: return "stopped before val MSE reached the stopping threshold"
        case .failed: return "no accepted solution: every attempt failed the own-path check, or the test paths exploded"
        case .diverged: return "training diverged"
        }
    }

    /// Test MSE above this (or not finite) means the trained network's own test paths exploded.
    public static func testPathsExploded(testMSE: Double, divergenceThreshold: Double) -> Bool {
        !testMSE.isFinite || testMSE > divergenceThreshold
    }

    /// The status of a run that stopped for `reason` and measured `testMSE` on its test paths.
    ///
    /// A run that reached the threshold but whose test paths explode is `failed`, not `solved`;
    /// one that stopped early with exploding test paths is `failed`, not `not_converged`.
    /// - Parameter ownPathsLeaveBand: a run stopped before the threshold whose final policy, simulated
    ///   on its own paths, leaves the own-path check's band (a runaway, not the stationary
    ///   equilibrium): `failed`, not `not_converged`, whose paths are fine.
    public init(stop reason: StopReason, testMSE: Double, divergenceThreshold: Double, ownPathsLeaveBand: Bool = false) {
        let exploded = RunStatus.testPathsExploded(testMSE: testMSE, divergenceThreshold: divergenceThreshold)
        switch reason {
        case .diverged: self = .diverged
        case .unverified: self = .failed
        case .threshold: self = exploded ? .failed : .solved
        case .patience, .maxEpochs, .maxTime: self = exploded || ownPathsLeaveBand ? .failed : .notConverged
        }
    }

    /// The status recorded in a `metrics.json` dictionary: its `status` key, or for files written
    /// before statuses existed, derived from `stop_reason` and `test_mse` (nil when neither says).
    public init?(metrics m: [String: Any]) {
        if let s = m["status"] as? String {
            guard let status = RunStatus(rawValue: s) else { return nil }
            self = status
            return
        }
        guard let text = m["stop_reason"] as? String, let reason = StopReason(rawValue: text) else { return nil }
        let test = (m["test_mse"] as? Double) ?? (m["test_mse"] as? NSNumber)?.doubleValue ?? .nan
        self.init(stop: reason, testMSE: test, divergenceThreshold: TrainerConfig().divergenceThreshold)
    }
}

/// Why a run diverged, as far as the solver can tell from when it happened.
public enum DivergenceCause: String, Codable, Sendable {
    /// The loss was finite and blew up after optimiser steps: the steps are too large.
    case learningRate = "learning_rate"
    /// The Euler residuals are not finite at the initial network, before any optimiser step: the
    /// model parameters or the simulated data, not the learning rate.
    case initialResiduals = "initial_residuals"
    /// The training loss is fine but val MSE exploded: the validation paths reach states where the
    /// network extrapolates badly (data coverage), not evidently the learning rate.
    case validationData = "validation_data"
    /// The loss stayed small over many steps and then was not finite: the equations gave a
    /// non-finite value or gradient (a log or a division at a control's bound), not a blow-up of
    /// the steps.
    case equations = "equations"

    /// Whether going back and taking smaller steps can help (`trainer.rollbacks`): not when the
    /// residuals were non-finite before any step.
    public var stepsCanHelp: Bool { self != .initialResiduals }

    /// The cause of a non-finite training loss (seen at a batch).
    /// - Parameters:
    ///   - optimizerSteps: Adam steps taken in the current attempt when the divergence was seen.
    ///   - lossBefore: the first finite batch loss of the attempt, if one was seen.
    ///   - lastEpochLoss: the previous epoch's mean training loss in this attempt, if any.
    public static func diagnose(optimizerSteps: Int, lossBefore: Double?, lastEpochLoss: Double? = nil) -> DivergenceCause {
        if optimizerSteps == 0 && lossBefore == nil { return .initialResiduals }
        // steady for at least an epoch and 100 steps, no larger than 10 × where the attempt started
        if optimizerSteps >= 100, let before = lossBefore, let last = lastEpochLoss, last.isFinite, last <= 10 * before { return .equations }
        return .learningRate
    }

    /// The cause of a val MSE above the divergence threshold, when the losses tell; nil when they don't.
    /// - Parameters:
    ///   - trainLoss: the epoch's mean training loss; `previousTrainLoss`: the epoch before's, if any.
    public static func diagnoseValidation(trainLoss: Double, previousTrainLoss: Double?) -> DivergenceCause? {
        guard let previous = previousTrainLoss, previous.isFinite else { return nil }
        if !trainLoss.isFinite || trainLoss > 10 * previous { return .learningRate }   // the training loss blew up too
        if trainLoss <= previous { return .validationData }                             // still falling: the fit is fine on its data
        return nil
    }

    /// The sentence the console prints after "training diverged …" (nil: the cause is not known).
    public static func advice(_ cause: DivergenceCause?, lr: Double) -> String {
        cause?.advice(lr: lr) ?? "The losses do not tell the cause (the training loss neither blew up nor kept falling)."
    }

    public func advice(lr: Double) -> String {
        switch self {
        case .learningRate:
            return "Likely cause: the learning rate (optimizer.lr = \(lr)): the training loss was finite and blew up after optimiser steps; try a smaller optimizer.lr."
        case .initialResiduals:
            return "Cause: the Euler residuals are not finite at the initial network, before any optimiser step, so the learning rate is not to blame; check the model.* parameters and method.X_0_loc/X_0_scale."
        case .validationData:
            return "The training loss kept falling while val MSE exploded: the validation paths reach states the training data do not cover; the learning rate is not the evident cause."
        case .equations:
            return "The training loss stayed small for many steps and then was not finite: the model's equations gave a non-finite value or gradient "
                + "(a log or a division at a control's bound, e.g. consumption sliding to 0), not a blow-up of the steps. Look at history.csv and the last "
                + "checkpoint's policy; a smaller optimizer.lr may not help."
        }
    }
}
