/// Parameters of the Lucas–Prescott investment model with N firms (paper §2; references in docs/references.md).
///
/// Law of motion `x' = (1−δ)x + u + σw + ηω`; inverse demand (eq. 9)
/// `p(X) = α0 − α1·((1/N) Σ max(0, X_i)^ν)^ζ`; profits `p(X)·x^{1−μ}/(1−μ) − (γ/2)u²`.
public struct InvestmentModel: Codable, Equatable, Sendable {
    /// Number of firms.
    public var N: Int = 128
    public var alpha0: Double = 1
    public var alpha1: Double = 1
    /// Discount factor β ∈ (0, 1).
    public var beta: Double = 0.95
    /// Adjustment cost γ > 0.
    public var gamma: Double = 90
    /// Idiosyncratic shock scale σ ≥ 0.
    public var sigma: Double = 0.005
    /// Depreciation δ ∈ [0, 1].
    public var delta: Double = 0.05
    /// Aggregate shock scale η ≥ 0.
    public var eta: Double = 0.001
    /// Demand curvature ν > 0 (ν = 1: linear demand).
    public var nu: Double = 1
    /// Outer exponent ζ of eq. 9 (ζ = 1 in the baseline).
    public var zeta: Double = 1
    /// Decreasing returns μ ∈ [0, 1) (μ = 0: constant returns).
    public var mu: Double = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case N, alpha0 = "alpha_0", alpha1 = "alpha_1", beta, gamma, sigma, delta, eta, nu, zeta, mu
    }

    /// True when the model is the linear-quadratic benchmark (ν = ζ = 1, μ = 0).
    public var isLinearQuadratic: Bool { nu == 1 && zeta == 1 && mu == 0 }
}
