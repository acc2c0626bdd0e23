import Foundation

/// Why the LQ benchmark has no equilibrium for these parameters, or why a route to it failed.
public struct LQError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The exact equilibrium of the linear-quadratic case (ν = ζ = 1, μ = 0), O(1) in N: the linear policy
/// substituted into the Euler equation, eq. (20) (the paper reaches the same H1 through the Riccati
/// equation (D.6) and eq. (31), `LQRiccati.swift`).
///
/// The policy is `u(X) = H0 + H1·mean(X)`. Matching coefficients in the Euler equation gives
/// `γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1)`, a quadratic with two roots; the equilibrium is the stable
/// one, |1−δ+H1| < 1, the other is the explosive solution. Then
/// `H0 = βα0 / (γ − βγ(1−δ) − β(γ(1−δ)H1 − α1))`.
///
/// The value function of App. D.4 comes with it:
/// `v(x, X) = −(p1 + d + 2p2·x + 2p3·m + 2p4·x·m + p5·m²)`, m = mean(X), where p1…p5 are the
/// entries of the Riccati matrix P in the structure of eq. (D.12) and d is eq. (D.7).
public struct LQEquilibrium: Sendable, Equatable {
    public let model: InvestmentModel
    /// Stable coefficients.
    public let H0: Double, H1: Double
    /// The explosive root and its intercept (NaN when the quadratic degenerates to one root, δ = 1).
    public let H0Explosive: Double, H1Explosive: Double
    /// Coefficients of the value function, App. D.4 / eq. (D.12).
    public let p1: Double, p2: Double, p3: Double, p4: Double, p5: Double
    /// Constant of the value function, eq. (D.7): `d = β/(1−β)·(2p4 + p5)·(η² + σ²/N)`.
    public let d: Double

    /// Solves the Euler quadratic and selects the stable root.
    /// - Throws: `LQError` when the roots are complex or both explosive (|1−δ+H1| ≥ 1).
    public init(model m: InvestmentModel) throws {
        model = m
        let (b, g, dl, a1) = (m.beta, m.gamma, m.delta, m.alpha1)
        // β γ (1−δ) H1² + [β γ (1−δ)² − β α1 − γ] H1 − β α1 (1−δ) = 0
        let qa = b * g * (1 - dl), qb = b * g * (1 - dl) * (1 - dl) - b * a1 - g, qc = -b * a1 * (1 - dl)
        let roots: [Double]
        if qa == 0 {
            guard qb != 0 else { throw LQError("the Euler quadratic is degenerate (β γ (1−δ) = 0 and no linear term); check model.beta, model.gamma, model.delta") }
            roots = [-qc / qb]
        } else {
            let disc = qb * qb - 4 * qa * qc
            guard disc >= 0 else {
                throw LQError("the Euler quadratic γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1) has complex roots (discriminant \(disc)): "
                              + "no linear equilibrium for these parameters; check model.alpha_1 (demand must slope down, α1 ≥ 0)")
            }
            let s = disc.squareRoot()
            // numerically stable pair of roots
            let q = -0.5 * (qb + (qb >= 0 ? s : -s))
            roots = q == 0 ? [0, 0] : [q / qa, qc / q]
        }
        let stable = roots.filter { abs(1 - dl + $0) < 1 }
        guard let h1 = stable.min(by: { abs(1 - dl + $0) < abs(1 - dl + $1) }) else {
            let shown = roots.map { "H1 = \($0) (1−δ+H1 = \(1 - dl + $0))" }.joined(separator: ", ")
            throw LQError("no stable root: \(shown); both give |1−δ+H1| ≥ 1 (explosive). Check model.alpha_1 (α1 ≥ 0), model.beta, model.gamma, model.delta")
        }
        let other = roots.count > 1 ? (roots[0] == h1 ? roots[1] : roots[0]) : Double.nan
        H1 = h1; H0 = Self.intercept(model: m, H1: h1)
        H1Explosive = other; H0Explosive = other.isNaN ? .nan : Self.intercept(model: m, H1: other)
        (p1, p2, p3, p4, p5, d) = Self.valueCoefficients(model: m, H0: H0, H1: H1)
    }

    /// `H0 = βα0 / (γ − βγ(1−δ) − β(γ(1−δ)H1 − α1))`, the intercept that goes with a root H1.
    public static func intercept(model m: InvestmentModel, H1 h1: Double) -> Double {
        m.beta * m.alpha0 / (m.gamma - m.beta * m.gamma * (1 - m.delta) - m.beta * (m.gamma * (1 - m.delta) * h1 - m.alpha1))
    }

    /// p1…p5 and d of App. D.4 for the law of motion `m' = H0 + a·m`, a = 1−δ+H1, obtained by
    /// matching coefficients in the Bellman equation of eq. (27) in its loss form
    /// `x̄ᵀPx̄ = −α0x + α1·x·m + (γ/2)u² + β·x̄'ᵀPx̄'` (certainty equivalence); P_xx = 0.
    static func valueCoefficients(model m: InvestmentModel, H0: Double, H1: Double)
        -> (Double, Double, Double, Double, Double, Double) {
        let (b, g, dl) = (m.beta, m.gamma, m.delta)
        let a = 1 - dl + H1
        let p4 = m.alpha1 / (2 * (1 - b * (1 - dl) * a))                          // x·m
        let p2 = (-m.alpha0 / 2 + b * (1 - dl) * p4 * H0) / (1 - b * (1 - dl))       // x
        let p5 = (g / 2 * H1 * H1 + 2 * b * p4 * H1 * a) / (1 - b * a * a)          // m²
        let p3 = (g * H0 * H1 + 2 * b * p2 * H1 + 2 * b * p4 * H0 * (a + H1) + 2 * b * p5 * H0 * a) / (2 * (1 - b * a))  // m
        let p1 = (g / 2 * H0 * H0 + 2 * b * (p2 + p3) * H0 + b * (2 * p4 + p5) * H0 * H0) / (1 - b)  // 1
        // eq. (D.7), trace(P C Cᵀ) with C of eq. (24): the firm's own shock is W_1
        let d = b / (1 - b) * (2 * p4 + p5) * (m.eta * m.eta + m.sigma * m.sigma / Double(m.N))
        return (p1, p2, p3, p4, p5, d)
    }

    /// `u(X) = H0 + H1·mean(X)`.
    public func policy(meanX: Double) -> Double { H0 + H1 * meanX }

    /// Steady state of the aggregate: `x = (1−δ)x + H0 + H1 x` ⇒ `x_ss = H0 / (δ − H1)`.
    public var steadyState: Double { H0 / (model.delta - H1) }

    /// Value function of App. D.4: `v(x, X) = −(p1 + d + 2p2 x + 2p3 m + 2p4 x m + p5 m²)`, m = mean(X).
    public func value(x: Double, meanX m: Double) -> Double {
        -(p1 + d + 2 * p2 * x + 2 * p3 * m + 2 * p4 * x * m + p5 * m * m)
    }
}
