import Foundation

/// Why the LQ benchmark has no equilibrium for these parameters.
public struct LQError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The exact equilibrium of the linear-quadratic case (ν = ζ = 1, μ = 0), O(1) in N (SPEC §3).
///
/// The policy is `u(X) = H0 + H1·mean(X)`. Matching coefficients in the Euler equation gives
/// `γH1 = β(γ(1−δ)H1 − α1)(1−δ+H1)`, a quadratic with two roots; the equilibrium is the stable
/// one, |1−δ+H1| < 1, the other is the explosive solution. Then
/// `H0 = βα0 / (γ − βγ(1−δ) − β(γ(1−δ)H1 − α1))`.
public struct LQEquilibrium: Sendable, Equatable {
    public let model: InvestmentModel
    /// Stable coefficients.
    public let H0: Double, H1: Double
    /// The explosive root and its intercept.
    public let H0Explosive: Double, H1Explosive: Double

    public init(model m: InvestmentModel) throws {
        model = m
        let (b, g, d, a1) = (m.beta, m.gamma, m.delta, m.alpha1)
        // β γ (1−δ) H1² + [β γ (1−δ)² − β α1 − γ] H1 − β α1 (1−δ) = 0
        let qa = b * g * (1 - d), qb = b * g * (1 - d) * (1 - d) - b * a1 - g, qc = -b * a1 * (1 - d)
        let roots: [Double]
        if qa == 0 {
            guard qb != 0 else { throw LQError("the Euler quadratic is degenerate (β γ (1−δ) = 0 and no linear term); check beta, gamma, delta") }
            roots = [-qc / qb]
        } else {
            let disc = qb * qb - 4 * qa * qc
            guard disc >= 0 else { throw LQError("the Euler quadratic has complex roots (discriminant \(disc)); no linear equilibrium for these parameters") }
            let s = disc.squareRoot()
            // numerically stable pair of roots
            let q = -0.5 * (qb + (qb >= 0 ? s : -s))
            roots = q == 0 ? [0, 0] : [q / qa, qc / q]
        }
        let stable = roots.filter { abs(1 - d + $0) < 1 }
        guard let h1 = stable.min(by: { abs(1 - d + $0) < abs(1 - d + $1) }) else {
            throw LQError("no stable root: both roots \(roots) give |1−δ+H1| ≥ 1 (explosive); check beta, gamma, delta, alpha_1")
        }
        let other = roots.count > 1 ? (roots[0] == h1 ? roots[1] : roots[0]) : Double.nan
        func intercept(_ h1: Double) -> Double { b * m.alpha0 / (g - b * g * (1 - d) - b * (g * (1 - d) * h1 - a1)) }
        H1 = h1; H0 = intercept(h1)
        H1Explosive = other; H0Explosive = other.isNaN ? .nan : intercept(other)
    }

    /// `u(X) = H0 + H1·mean(X)`.
    public func policy(meanX: Double) -> Double { H0 + H1 * meanX }

    /// Steady state of the aggregate: `x = (1−δ)x + H0 + H1 x` ⇒ `x_ss = H0 / (δ − H1)`.
    public var steadyState: Double { H0 / (model.delta - H1) }
}
