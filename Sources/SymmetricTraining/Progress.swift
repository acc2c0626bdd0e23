import Foundation

/// Training progress on standard error: a redrawn bar on a terminal, plain log lines otherwise
/// (files, CI, `tee`).
public final class ProgressReporter {
    public let isTerminal: Bool
    public var quiet = false
    private var lastDraw = 0.0

    public init(forceTerminal: Bool? = nil) {
        isTerminal = forceTerminal ?? (isatty(STDERR_FILENO) == 1)
    }

    /// Redraws the in-epoch bar (terminal only, at most 10 times a second).
    public func step(epoch: Int, maxEpochs: Int, batch: Int, batches: Int, loss: Double, elapsed: Double, lastValMSE: Double?, policyError: Double?) {
        guard isTerminal, !quiet else { return }
        let now = elapsed
        if now - lastDraw < 0.1 && batch < batches { return }
        lastDraw = now
        let width = 24
        let filled = batches == 0 ? width : width * batch / batches
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var line = "epoch \(epoch + 1)/\(maxEpochs) \(bar) \(batch)/\(batches)  loss \(sci(loss))"
        if let v = lastValMSE { line += "  val \(sci(v))" }
        if let p = policyError { line += String(format: "  policy %.3f%%", 100 * p) }
        line += "  \(clock(elapsed))"
        FileHandle.standardError.write(("\r\u{1B}[2K" + line).data(using: .utf8)!)
    }

    /// End-of-epoch line (kept on screen on a terminal, one log line otherwise).
    public func epochDone(epoch: Int, maxEpochs: Int, trainMSE: Double, valMSE: Double, policyError: Double?, lr: Double, elapsed: Double, eta: Double?) {
        guard !quiet else { return }
        var line = "epoch \(epoch + 1)/\(maxEpochs)  train_mse \(sci(trainMSE))  val_mse \(sci(valMSE))"
        if let p = policyError { line += String(format: "  policy_err %.4f%%", 100 * p) }
        line += "  lr \(sci(lr))  elapsed \(clock(elapsed))"
        if let eta { line += "  ETA ≤ \(clock(eta))" }
        FileHandle.standardError.write(((isTerminal ? "\r\u{1B}[2K" : "") + line + "\n").data(using: .utf8)!)
    }

    public func message(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(((isTerminal ? "\r\u{1B}[2K" : "") + text + "\n").data(using: .utf8)!)
    }
}

/// `1.23e-06` style.
public func sci(_ x: Double) -> String { String(format: "%.2e", x) }

/// `m:ss` or `h:mm:ss`.
public func clock(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds)
    if s >= 3600 { return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) }
    return String(format: "%d:%04.1f", s / 60, seconds - Double(s / 60 * 60))
}
