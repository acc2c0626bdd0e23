import Foundation

/// The training state a checkpoint carries beside the weights (safetensors `__metadata__`):
/// counters, the history, and the resolved config the run was started with.
///
/// Written as one JSON string under the metadata key `state` (and, for readers that look at
/// single keys, as the flat string keys of format 1). Reading validates every field: a negative,
/// non-numeric or missing counter is a clear error naming the file and the key, never a trap and
/// never a silent "epoch 0".
public struct CheckpointState: Codable, Sendable {
    public static let format = "symdp-checkpoint-1"

    public var epochs: Int
    public var optimizerStep: Int
    public var elapsedSeconds: Double
    public var bestValMSE: Double?
    public var history: [EpochRecord]
    public var precision: String
    public var modelKind: String
    public var attempt: Int
    public var screenRestarts: Int
    public var attemptStartEpoch: Int
    public var refinements: Int
    /// Seconds until val MSE first reached `trainer.stopping_threshold` in the current attempt.
    public var secondsToThreshold: Double?
    /// The resolved `config.yaml` the run was started with (nil in checkpoints written before it was kept).
    public var config: String?

    public init(epochs: Int, optimizerStep: Int, elapsedSeconds: Double, bestValMSE: Double?, history: [EpochRecord],
                precision: String, modelKind: String, attempt: Int, screenRestarts: Int, attemptStartEpoch: Int,
                refinements: Int, secondsToThreshold: Double?, config: String?) {
        self.epochs = epochs; self.optimizerStep = optimizerStep; self.elapsedSeconds = elapsedSeconds
        self.bestValMSE = bestValMSE; self.history = history; self.precision = precision; self.modelKind = modelKind
        self.attempt = attempt; self.screenRestarts = screenRestarts; self.attemptStartEpoch = attemptStartEpoch
        self.refinements = refinements; self.secondsToThreshold = secondsToThreshold; self.config = config
    }

    /// Safetensors metadata: `state` (JSON) plus the flat keys of format 1.
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = Self.nonFinite
        var copy = self
        if let b = copy.bestValMSE, !b.isFinite { copy.bestValMSE = nil }   // no improvement yet
        let historyJSON = (try? encoder.encode(history)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        var meta: [String: String] = [
            "format": Self.format,
            "state": (try? encoder.encode(copy)).map { String(decoding: $0, as: UTF8.self) } ?? "",
            "epochs": String(epochs),
            "optimizer_step": String(optimizerStep),
            "elapsed_seconds": String(elapsedSeconds),
            "best_val_mse": String(bestValMSE ?? .infinity),
            "history": historyJSON,
            "precision": precision,
            "model_kind": modelKind,
            "attempt": String(attempt),
            "screen_restarts": String(screenRestarts),
            "attempt_start_epoch": String(attemptStartEpoch),
            "refinements": String(refinements),
        ]
        if let s = secondsToThreshold { meta["seconds_to_threshold"] = String(s) }
        return meta
    }

    /// Reads and validates the state from a checkpoint's metadata.
    /// - Parameter file: the checkpoint's path, for messages.
    public init(metadata meta: [String: String], file: String) throws {
        func fail(_ what: String) -> SolverError {
            SolverError("checkpoint '\(file)': \(what). The file is damaged or was not written by symdp solve; "
                        + "resume from the other checkpoint (best/last) or start the run again")
        }
        guard let format = meta["format"] else { throw fail("metadata has no 'format' key (training state missing)") }
        guard format == Self.format else { throw fail("unknown checkpoint format '\(format.prefix(40))' (expected \(Self.format))") }
        if let json = meta["state"] {
            do { self = try Self.decoder.decode(CheckpointState.self, from: Data(json.utf8)) } catch {
                throw fail("metadata 'state' is not a valid training state (\(Self.describe(error)))")
            }
        } else {
            // format 1 without the JSON state: the flat string keys
            func int(_ key: String, default value: Int? = nil) throws -> Int {
                guard let text = meta[key] else {
                    if let value { return value }
                    throw fail("metadata lacks '\(key)'")
                }
                guard let v = Int(text) else { throw fail("metadata '\(key)' is '\(text.prefix(40))', not an integer") }
                return v
            }
            func double(_ key: String) throws -> Double? {
                guard let text = meta[key] else { return nil }
                guard let v = Double(text) else { throw fail("metadata '\(key)' is '\(text.prefix(40))', not a number") }
                return v
            }
            guard let historyText = meta["history"] else { throw fail("metadata lacks 'history'") }
            let history: [EpochRecord]
            do { history = try Self.decoder.decode([EpochRecord].self, from: Data(historyText.utf8)) } catch {
                throw fail("metadata 'history' is not a list of epoch records (\(Self.describe(error)))")
            }
            let best = try double("best_val_mse")
            self.init(epochs: try int("epochs"), optimizerStep: try int("optimizer_step"),
                      elapsedSeconds: try double("elapsed_seconds") ?? 0, bestValMSE: best.flatMap { $0.isFinite ? $0 : nil },
                      history: history, precision: meta["precision"] ?? "", modelKind: meta["model_kind"] ?? "",
                      attempt: try int("attempt", default: 0), screenRestarts: try int("screen_restarts", default: 0),
                      attemptStartEpoch: try int("attempt_start_epoch", default: 0), refinements: try int("refinements", default: 0),
                      secondsToThreshold: try double("seconds_to_threshold") ?? double("seconds_to_1e-6"), config: nil)
        }
        try validate(fail)
    }

    /// Counters must be non-negative and agree with each other and with the history.
    func validate(_ fail: (String) -> SolverError) throws {
        for (key, v) in [("epochs", epochs), ("optimizer_step", optimizerStep), ("attempt", attempt),
                         ("screen_restarts", screenRestarts), ("attempt_start_epoch", attemptStartEpoch), ("refinements", refinements)] where v < 0 {
            throw fail("'\(key)' is \(v); it must be ≥ 0")
        }
        guard epochs >= 1 else { throw fail("'epochs' is 0: a checkpoint is written after an epoch ends") }
        guard attemptStartEpoch <= epochs else { throw fail("'attempt_start_epoch' (\(attemptStartEpoch)) exceeds 'epochs' (\(epochs))") }
        guard history.count == epochs else {
            throw fail("the history has \(history.count) epochs but 'epochs' says \(epochs)")
        }
        for (i, r) in history.enumerated() where r.epoch != i + 1 {
            throw fail("history row \(i + 1) is numbered epoch \(r.epoch)")
        }
        guard elapsedSeconds.isFinite, elapsedSeconds >= 0 else { throw fail("'elapsed_seconds' is \(elapsedSeconds); it must be a finite number ≥ 0") }
        if let s = secondsToThreshold, !(s.isFinite && s >= 0) { throw fail("'seconds_to_threshold' is \(s); it must be ≥ 0") }
    }

    /// JSON has no NaN or ∞; a history may hold them (a loss that blew up).
    static let nonFinite = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        default: return "\(error)"
        }
    }
}
