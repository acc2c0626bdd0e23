import Foundation
import SymmetricNumerics
import SymmetricNetworks

/// The level of the policy at the start of an attempt (`method.fit_start_level`).
///
/// Why: a step that corrects a level error also moves the policy's slope in the aggregate state
/// (for u = H0 + H1·mean X both sensitivities of the Euler residual have the same sign on the
/// data), and a start far below the equilibrium level pushes the slope toward, or past, the
/// explosive root (docs/equilibrium-selection.md, "A start at the level of the data"). So, when the
/// option is on, ρ's last-layer biases — the policy's level — are set before training to the
/// values that minimise the mean squared Euler residual on a sample of the training states,
/// everything else as initialised. Off by default: measured, it stalls φ(Identity) at γ = 30,
/// N = 512.
public struct StartLevelFit: Sendable, Equatable {
    /// The fitted biases, one per policy network.
    public var biases: [Double]
    /// Mean squared residual on the sample before and after.
    public var before: Double, after: Double
    /// Wall seconds the fit took (before the training clock starts).
    public var seconds: Double

    public var description: String {
        "start level: ρ's output bias \(biases.map { String(format: "%.4g", $0) }.joined(separator: ", ")) "
            + "(mean squared residual on the training sample \(sci(before)) → \(sci(after)), \(String(format: "%.2f", seconds)) s)"
    }
}

extension Solver {
    /// ρ's last-layer biases, one per policy network.
    var outputBiases: [Variable<T>] {
        let named = network.namedParameters
        return Self.outputBiasIndices(names: named.map(\.0)).map { named[$0].1 }
    }

    /// Indices of the names `[PREFIX.]rho.layers.K.bias` with the highest K of each prefix, in the
    /// order of the prefixes' first appearance (one per policy network of a model file).
    public static func outputBiasIndices(names: [String]) -> [Int] {
        var last: [String: (layer: Int, index: Int)] = [:]
        var order: [String] = []
        for (i, name) in names.enumerated() {
            guard name.hasSuffix(".bias"), let r = name.range(of: "rho.layers.", options: .backwards),
                  r.lowerBound == name.startIndex || name[name.index(before: r.lowerBound)] == ".",
                  let layer = Int(name[r.upperBound...].dropLast(".bias".count)) else { continue }
            let prefix = String(name[..<r.lowerBound])
            if last[prefix] == nil { order.append(prefix) }
            if layer > last[prefix]?.layer ?? -1 { last[prefix] = (layer, i) }
        }
        return order.compactMap { last[$0]?.index }
    }

    /// Training states evenly spaced through the training data (paths from their start to their
    /// end): the sample the start level is fitted on, every agent's equations. 64 states, fewer
    /// from N = 1,024 on (at least 8), so that the fit costs about as much as a validation.
    public func startLevelSample() -> Tensor<T> {
        let states = min(64, max(8, 65_536 / max(economy.agentCount, 1)))
        let stride = max(1, trainX.shape[0] / states)
        return trainX.gather(Array(Swift.stride(from: 0, to: trainX.shape[0], by: stride).prefix(states)))
    }

    /// The start level of a new attempt (its initialisation and every restart): fitted when
    /// `method.fit_start_level` is on, else nil.
    func configuredStartLevel() -> StartLevelFit? { config.method.fitStartLevel ? fitStartLevel() : nil }

    /// Sets ρ's output biases to the least-squares level on `startLevelSample()`: a few
    /// damped Gauss–Newton steps with a finite-difference Jacobian (one residual evaluation per
    /// bias), each step kept only if it lowers the mean squared residual. nil when the network has
    /// no output bias or the residuals are not finite at the start.
    @discardableResult
    public func fitStartLevel(iterations: Int = 8) -> StartLevelFit? {
        let biases = outputBiases
        guard !biases.isEmpty, biases.allSatisfy({ $0.value.count == 1 }), trainX.shape[0] > 0 else { return nil }
        let X = startLevelSample()
        func set(_ b: [Double]) { for (p, v) in zip(biases, b) { p.value.pointer[0] = T(v) } }
        func r(_ b: [Double]) -> [Double] { set(b); return residuals(X, subsample: nil).flatMap { $0 } }
        func mse(_ v: [Double]) -> Double {
            let s = v.reduce(0) { $0 + $1 * $1 } / Double(max(v.count, 1))
            return s.isFinite ? s : .infinity
        }
        let clock = Date()
        var b = biases.map { Double($0.value.pointer[0]) }
        var res = r(b)
        let before = mse(res)
        guard before.isFinite else { set(b); return nil }
        var best = before
        let k = b.count
        for _ in 0..<iterations {
            // Jacobian by forward differences: J[i][j] = ∂r_i/∂b_j
            var J = [[Double]](repeating: [Double](repeating: 0, count: k), count: res.count)
            for j in 0..<k {
                let h = 1e-3 * max(1, abs(b[j]))
                var bj = b
                bj[j] += h
                let rj = r(bj)
                for i in res.indices { J[i][j] = (rj[i] - res[i]) / h }
            }
            // (JᵀJ + μ·diag) δ = −Jᵀr
            var A = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
            var g = [Double](repeating: 0, count: k)
            for i in res.indices where res[i].isFinite && J[i].allSatisfy(\.isFinite) {
                for a in 0..<k {
                    g[a] -= J[i][a] * res[i]
                    for c in 0..<k { A[a][c] += J[i][a] * J[i][c] }
                }
            }
            for a in 0..<k { A[a][a] *= 1 + 1e-6 }
            guard var step = Self.solveSmall(A, g) else { break }
            var accepted = false
            for _ in 0..<6 {
                let trial = zip(b, step).map { $0 + $1 }
                let rt = r(trial)
                let m = mse(rt)
                if m < best { b = trial; res = rt; best = m; accepted = true; break }
                step = step.map { $0 / 2 }
            }
            if !accepted || zip(step, b).allSatisfy({ abs($0) <= 1e-7 * max(1, abs($1)) }) { break }
        }
        set(b)
        return StartLevelFit(biases: b, before: before, after: best, seconds: Date().timeIntervalSince(clock))
    }

    /// Solves the small dense system A x = y by Gaussian elimination with partial pivoting (nil
    /// when singular).
    public static func solveSmall(_ A: [[Double]], _ y: [Double]) -> [Double]? {
        var a = A, v = y
        let n = v.count
        for c in 0..<n {
            guard let p = (c..<n).max(by: { abs(a[$0][c]) < abs(a[$1][c]) }), abs(a[p][c]) > 1e-300 else { return nil }
            a.swapAt(c, p); v.swapAt(c, p)
            for r in (c + 1)..<n {
                let f = a[r][c] / a[c][c]
                for j in c..<n { a[r][j] -= f * a[c][j] }
                v[r] -= f * v[c]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = v[r]
            for j in (r + 1)..<n { s -= a[r][j] * x[j] }
            x[r] = s / a[r][r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}
