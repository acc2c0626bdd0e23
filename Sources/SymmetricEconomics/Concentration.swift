import RealModule
import SymmetricNumerics

/// Concentration of measure in the LQ case (paper §4.1, Fig. 1, eq. 35).
///
/// The N-dimensional expectation over the idiosyncratic shocks W in the Euler residual is
/// replaced by ONE Monte Carlo draw, the aggregate shock ω by Gauss–Hermite. For the exact LQ
/// policy the residual is then `ε = βσ(α1 − γ(1−δ)H1)·mean(W)`, a Gaussian with standard
/// deviation `βσ|α1 − γ(1−δ)H1|/√N` (eq. 35), and the policy next period deviates from its
/// conditional mean by `σH1·mean(W)`, standard deviation `σ|H1|/√N` (eq. 33). The draw is not
/// normalised: a draw rescaled to mean 0 would make the LQ residual exactly zero.
public struct LQConcentration {
    public let equilibrium: LQEquilibrium
    /// Gauss–Hermite rule over ω.
    public let omega: GaussHermite

    public init(equilibrium: LQEquilibrium, quadratureNodes: Int = 7) {
        self.equilibrium = equilibrium
        omega = GaussHermite(nodes: quadratureNodes)
    }

    public var model: InvestmentModel { equilibrium.model }

    /// Analytic standard deviation of the one-draw Euler residual, eq. (35): `βσ|α1 − γ(1−δ)H1|/√N`.
    public func residualStd(N: Int) -> Double {
        let m = model
        return m.beta * m.sigma * abs(m.alpha1 - m.gamma * (1 - m.delta) * equilibrium.H1) / Double(N).squareRoot()
    }

    /// Analytic standard deviation of the one-draw policy `u_LQ(X')`, eq. (33): `σ|H1|/√N`.
    public func policyStd(N: Int) -> Double {
        model.sigma * abs(equilibrium.H1) / Double(N).squareRoot()
    }

    /// Euler residual of eq. (20) for the LQ policy at X with one draw W and Gauss–Hermite over ω,
    /// and the policy next period averaged over ω:
    /// `ε = γu(X) − β Σ_k w_k [p(X'_k) + γ(1−δ)u(X'_k)]`, `X'_{k,i} = (1−δ)X_i + u(X) + σW_i + ηω_k`,
    /// with the LQ demand `p(X) = α0 − α1·mean(X)` and `u(X) = H0 + H1·mean(X)`. Both are linear in
    /// mean(X'), so one pass over the N firms is enough.
    public func residual(X: [Double], draw W: [Double]) -> (residual: Double, nextPolicy: Double) {
        precondition(X.count == W.count && !X.isEmpty, "residual: X has \(X.count) firms, W has \(W.count)")
        let m = model, eq = equilibrium
        let n = Double(X.count)
        var meanX = 0.0, meanW = 0.0
        for i in 0..<X.count { meanX += X[i]; meanW += W[i] }
        meanX /= n; meanW /= n
        let u = eq.policy(meanX: meanX)
        var expectation = 0.0, nextPolicy = 0.0
        for (node, weight) in zip(omega.nodes, omega.weights) {
            let meanNext = (1 - m.delta) * meanX + u + m.sigma * meanW + m.eta * node
            let uNext = eq.policy(meanX: meanNext)
            expectation += weight * (m.alpha0 - m.alpha1 * meanNext + m.gamma * (1 - m.delta) * uNext)
            nextPolicy += weight * uNext
        }
        return (m.gamma * u - m.beta * expectation, nextPolicy)
    }

    /// A point on a simulated path: `steps` periods of the LQ economy from `X_0,i = |N(loc, scale²)|`
    /// with fresh shocks (eq. 17 with u = u_LQ).
    public func simulatedState(N: Int, steps: Int, loc: Double, scale: Double, generator g: inout SeededGenerator) -> [Double] {
        let m = model
        var X = (0..<N).map { _ in abs(g.normal(mean: loc, std: scale)) }
        for _ in 0..<steps {
            let u = equilibrium.policy(meanX: X.reduce(0, +) / Double(N))
            let common = u + m.eta * g.normal()
            for i in 0..<N { X[i] = (1 - m.delta) * X[i] + common + m.sigma * g.normal() }
        }
        return X
    }

    /// One row of Fig. 1.
    public struct Measurement: Sendable, Equatable {
        public var N: Int, draws: Int
        public var stdResidualMC: Double, stdResidualAnalytic: Double
        public var stdPolicyMC: Double, stdPolicyAnalytic: Double
        /// Monte Carlo mean of the residual (≈ 0: the one-draw residual is unbiased).
        public var meanResidualMC: Double
    }

    /// Monte Carlo standard deviations over `draws` independent draws W ∈ Rᴺ at a fixed X.
    public func measure(X: [Double], draws: Int, generator g: inout SeededGenerator) -> Measurement {
        precondition(draws >= 2, "measure: need at least 2 draws for a standard deviation")
        let N = X.count
        var W = [Double](repeating: 0, count: N)
        var eps = [Double](), next = [Double]()
        eps.reserveCapacity(draws); next.reserveCapacity(draws)
        for _ in 0..<draws {
            for i in 0..<N { W[i] = g.normal() }
            let r = residual(X: X, draw: W)
            eps.append(r.residual); next.append(r.nextPolicy)
        }
        return Measurement(N: N, draws: draws,
                           stdResidualMC: Self.sampleStd(eps), stdResidualAnalytic: residualStd(N: N),
                           stdPolicyMC: Self.sampleStd(next), stdPolicyAnalytic: policyStd(N: N),
                           meanResidualMC: eps.reduce(0, +) / Double(draws))
    }

    /// Fig. 1 for several N: for each, X from a simulated path (`steps` periods) and `draws` draws of W.
    /// Each N gets its own random stream forked from `seed`, so adding an N leaves the others unchanged.
    public func figure(Ns: [Int], draws: Int, steps: Int = 63, loc: Double = 0.9, scale: Double = 0.05, seed: UInt64 = 42) -> [Measurement] {
        Ns.map { N in
            var g = SeededGenerator(seed: seed &+ UInt64(N) &* 0x9E37_79B9_7F4A_7C15)
            let X = simulatedState(N: N, steps: steps, loc: loc, scale: scale, generator: &g)
            return measure(X: X, draws: draws, generator: &g)
        }
    }

    /// Sample standard deviation (denominator n − 1).
    public static func sampleStd(_ x: [Double]) -> Double {
        let mean = x.reduce(0, +) / Double(x.count)
        let ss = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (ss / Double(x.count - 1)).squareRoot()
    }

    /// Least-squares slope of log y on log x (−1/2 for a 1/√N law).
    public static func logLogSlope(x: [Double], y: [Double]) -> Double {
        precondition(x.count == y.count && x.count >= 2, "logLogSlope: need two or more points")
        let lx = x.map { Double.log($0) }, ly = y.map { Double.log($0) }
        let mx = lx.reduce(0, +) / Double(lx.count), my = ly.reduce(0, +) / Double(ly.count)
        var sxy = 0.0, sxx = 0.0
        for (a, b) in zip(lx, ly) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
        return sxy / sxx
    }
}
