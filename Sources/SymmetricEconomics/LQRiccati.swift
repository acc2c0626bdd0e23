import Foundation

/// The firm's problem of Proposition 5 as a discounted linear-quadratic regulator, eqs. (22)–(28):
/// state `x̄ = [1, x, X₁, …, X_N]` (size N+2), shocks `w̄ = [ω, W₁, …, W_N]` (the firm's own
/// shock is W₁), for a perceived aggregate policy `u(X) = H0 + H1·mean(X)`:
/// `max_u −x̄ᵀRx̄ − uᵀQu + βE[v(x̄')]` s.t. `x̄' = Ax̄ + Bu + Cw̄`.
///
/// Sign of R: the period reward must be the profit `p(X)·x − (γ/2)u² = α0·x − α1·x·mean(X) − (γ/2)u²`,
/// so `R[1,0] = R[0,1] = −α0/2` and `R[1,X_j] = R[X_j,1] = +α1/(2N)`. Eq. (25) as printed has
/// both signs flipped, which would make the reward `−p(X)·x`; with it the two routes disagree.
public struct LQRegulator {
    public let model: InvestmentModel
    /// The perceived law of motion of the other firms.
    public let H0: Double, H1: Double

    public init(model: InvestmentModel, H0: Double, H1: Double) {
        self.model = model; self.H0 = H0; self.H1 = H1
    }

    /// N + 2.
    public var stateSize: Int { model.N + 2 }

    /// Transition, eq. (22): `1' = 1`, `x' = (1−δ)x (+u)`, `X' = H0·1 + ((1−δ)I + (H1/N)11ᵀ)X`.
    public func transition() -> DenseMatrix {
        let n = stateSize, N = model.N
        let A = DenseMatrix(size: n)
        A[0, 0] = 1
        A[1, 1] = 1 - model.delta
        let h = H1 / Double(N)
        for i in 2..<n {
            A[i, 0] = H0
            for j in 2..<n { A[i, j] = h }
            A[i, i] += 1 - model.delta
        }
        return A
    }

    /// Control loading, eq. (23): the control moves only the firm's own x.
    public func controlLoading() -> DenseMatrix {
        let B = DenseMatrix(rows: stateSize, columns: 1)
        B[1, 0] = 1
        return B
    }

    /// Shock loading, eq. (24), (N+2) × (N+1): x gets `ηω + σW₁`, X_i gets `ηω + σW_i`.
    public func shockLoading() -> DenseMatrix {
        let n = stateSize
        let C = DenseMatrix(rows: n, columns: model.N + 1)
        C[1, 0] = model.eta; C[1, 1] = model.sigma
        for i in 2..<n { C[i, 0] = model.eta; C[i, i - 1] = model.sigma }
        return C
    }

    /// State weight, eq. (25) with the sign that makes `−x̄ᵀRx̄` the revenue `p(X)·x`.
    public func stateWeight() -> DenseMatrix {
        let n = stateSize
        let R = DenseMatrix(size: n)
        R[0, 1] = -model.alpha0 / 2; R[1, 0] = -model.alpha0 / 2
        let c = model.alpha1 / (2 * Double(model.N))
        for j in 2..<n { R[1, j] = c; R[j, 1] = c }
        return R
    }

    /// Control weight, eq. (26): `Q = [γ/2]`.
    public func controlWeight() -> DenseMatrix {
        let Q = DenseMatrix(size: 1)
        Q[0, 0] = model.gamma / 2
        return Q
    }
}

/// The symmetric recursive competitive equilibrium of Proposition 5 found the paper's classical
/// way: for a guess (H0, H1) solve the firm's Riccati equation (D.6) in the full (N+2)-dimensional
/// state, read the feedback F (D.8), and root-find on (H0, H1) until F has the symmetric form of
/// eq. (31), `F = −[H0, 0, (H1/N)·1ᵀ]`. O(N³) per Riccati solve.
public struct LQRiccatiEquilibrium {
    public let model: InvestmentModel
    public let H0: Double, H1: Double
    /// Solution of eq. (D.6) at the equilibrium, (N+2) × (N+2).
    public let P: DenseMatrix
    /// Feedback of eq. (D.8), 1 × (N+2); the policy is `u = −F x̄`.
    public let F: DenseMatrix
    /// Constant of eq. (D.7).
    public let d: Double
    /// `max |r(H) − H|` at the returned point, r the map (H0, H1) ↦ (−F₀, −Σ_j F_{X_j}).
    public let fixedPointResidual: Double
    /// Relative residual of eq. (D.6) at the returned P (NaN when not computed).
    public let riccatiResidual: Double
    /// Riccati solves at N, and at the warm-start size (0 without warm start).
    public let riccatiSolves: Int, warmStartRiccatiSolves: Int
    /// Doubling steps over all solves at N.
    public let doublingIterations: Int
    /// Size of the coarse problem whose equilibrium started the root-find (nil: cold start).
    public let warmStartN: Int?

    /// Coefficients of eq. (D.12) read off P: p1 = P₀₀, p2 = P₀ₓ, p3 = N·mean P₀X, p4 = N·mean PₓX, p5 = N²·mean P_XX.
    public var p1: Double { P[0, 0] }
    public var p2: Double { P[0, 1] }
    public var p3: Double { blockMean(row: 0) * Double(model.N) }
    public var p4: Double { blockMean(row: 1) * Double(model.N) }
    public var p5: Double {
        let n = model.N + 2
        var s = 0.0
        for j in 2..<n { for i in 2..<n { s += P[i, j] } }
        return s   // N² entries of p5/N²
    }

    func blockMean(row: Int) -> Double {
        var s = 0.0
        for j in 2..<(model.N + 2) { s += P[row, j] }
        return s / Double(model.N)
    }

    /// Steady state of the aggregate, `H0 / (δ − H1)`.
    public var steadyState: Double { H0 / (model.delta - H1) }

    /// How far F is from the symmetric form of eq. (31): `max(|F_x|, max_j |F_{X_j} − mean F_X|)`.
    public var feedbackAsymmetry: Double {
        let n = model.N + 2
        var mean = 0.0
        for j in 2..<n { mean += F[0, j] }
        mean /= Double(model.N)
        var dev = abs(F[0, 1])
        for j in 2..<n { dev = max(dev, abs(F[0, j] - mean)) }
        return dev
    }

    /// Largest deviation of P from the structure of eq. (D.12), relative to max|P|: P_xx = 0,
    /// P₀X, PₓX constant, P_XX constant, P symmetric.
    public var structureDeviation: Double {
        let n = model.N + 2, N = Double(model.N)
        let (q3, q4, q5) = (p3 / N, p4 / N, p5 / (N * N))
        var dev = abs(P[1, 1])
        for j in 2..<n {
            dev = max(dev, abs(P[0, j] - q3), abs(P[j, 0] - q3), abs(P[1, j] - q4), abs(P[j, 1] - q4))
            for i in 2..<n { dev = max(dev, abs(P[i, j] - q5)) }
        }
        dev = max(dev, abs(P[0, 1] - P[1, 0]))
        return dev / max(P.maxAbs, .leastNormalMagnitude)
    }
}

/// The classical O(N³) route to the LQ equilibrium (App. D, Prop. 5).
public enum LQRiccati {
    public struct Options: Sendable {
        /// Settings of each Riccati solve.
        public var riccati = DiscreteRiccati.Options()
        /// Stop when `max |r(H) − H| ≤ tolerance`.
        public var tolerance = 1e-12
        /// Riccati solves allowed in one root-find.
        public var maxEvaluations = 60
        /// Start the root-find at N from the equilibrium (and final Broyden Jacobian) of the same
        /// route at this small size (continuation in N); nil starts cold from `initialGuess`.
        public var warmStartN: Int? = 1
        /// Cold-start point (H0, H1).
        public var initialGuess = (H0: 0.0, H1: 0.0)
        /// Evaluate the residual of eq. (D.6) at the solution (about 4n³ flops).
        public var computeResidual = true
        public init() {}
    }

    /// Solves the firm's problem for a perceived law (H0, H1): P of eq. (D.6) and F of eq. (D.8).
    public static func firmSolution(model: InvestmentModel, H0: Double, H1: Double,
                                    options: DiscreteRiccati.Options = DiscreteRiccati.Options(),
                                    workspace: RiccatiWorkspace? = nil) throws -> (P: DenseMatrix, F: DenseMatrix, iterations: Int) {
        let lq = LQRegulator(model: model, H0: H0, H1: H1)
        let A = lq.transition(), B = lq.controlLoading(), Q = lq.controlWeight()
        let sol = try DiscreteRiccati.solve(A: A, B: B, R: lq.stateWeight(), Q: Q, beta: model.beta,
                                            options: options, workspace: workspace)
        let F = try DiscreteRiccati.feedback(P: sol.P, A: A, B: B, Q: Q, beta: model.beta)
        return (sol.P, F, sol.iterations)
    }

    /// The other firms' coefficients implied by the firm's own feedback F: eq. (31) read
    /// backwards, `(H0, H1) = (−F₀, −Σ_j F_{X_j})`.
    static func impliedCoefficients(_ F: DenseMatrix, N: Int) -> (Double, Double) {
        var s = 0.0
        for j in 2..<(N + 2) { s += F[0, j] }
        return (-F[0, 0], -s)
    }

    /// Memory the route needs at this N, in bytes (workspace plus A, R, P, C Cᵀ and temporaries).
    public static func memoryNeeded(N: Int) -> Double {
        let n = Double(N) + 2
        return (9 + 6) * n * n * Double(MemoryLayout<Double>.size)   // in Double: no overflow for any N
    }

    /// Finds (H0, H1) such that the firm's optimal F has the symmetric form of eq. (31).
    ///
    /// The unknowns solve `G(H) = r(H) − H = 0`, r the best response read from F. The root-find
    /// is Broyden's method (each step one Riccati solve): from a cold start the first step is the
    /// paper's fixed-point update H ← r(H); with `warmStartN` the same route is first run at a
    /// small N and its equilibrium and Jacobian start the iteration at N (continuation in N), so
    /// that only one or two O(N³) solves are needed at the full size. Steps are halved when they
    /// would leave the region `√β|1−δ+H1| < 1` in which the firm's discounted problem is well posed.
    /// - Throws: `LQError` when no stable equilibrium is found (|1−δ+H1| ≥ 1), the root-find does
    ///   not converge, a Riccati solve breaks down, or the dense matrices would not fit in memory.
    public static func equilibrium(model: InvestmentModel, options: Options = Options()) throws -> LQRiccatiEquilibrium {
        guard model.N >= 1 else { throw LQError("model.N must be at least 1, got \(model.N)") }
        let needed = memoryNeeded(N: model.N)
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        if needed > 0.6 * available {
            throw LQError("the Riccati route stores dense (N+2)×(N+2) matrices: about \(String(format: "%.3g", needed / 1048576)) MiB at model.N = \(model.N), "
                          + "more than this machine can hold (\(Int(available / 1048576)) MiB). Lower model.N or use --method closed-form (O(1) in N)")
        }
        var start = (h: [options.initialGuess.H0, options.initialGuess.H1], J: [[-1.0, 0.0], [0.0, -1.0]])
        var warmSolves = 0, warmN: Int? = nil
        if let coarse = options.warmStartN, coarse >= 1, coarse < model.N {
            var small = model; small.N = coarse
            let c = try rootFind(model: small, h: start.h, J: start.J, options: options)
            start = (c.h, c.J); warmSolves = c.evaluations; warmN = coarse
        }
        let r = try rootFind(model: model, h: start.h, J: start.J, options: options)
        let a = 1 - model.delta + r.h[1]
        guard abs(a) < 1 else {
            throw LQError("the root-find on (H0, H1) converged to H1 = \(r.h[1]) with |1−δ+H1| = \(abs(a)) ≥ 1: "
                          + "an explosive solution, no stable equilibrium for these parameters (check model.alpha_1 ≥ 0, model.beta, model.gamma, model.delta)")
        }
        let lq = LQRegulator(model: model, H0: r.h[0], H1: r.h[1])
        let d = DiscreteRiccati.constant(P: r.P, C: lq.shockLoading(), beta: model.beta)
        let residual = options.computeResidual
            ? DiscreteRiccati.relativeResidual(P: r.P, F: r.F, A: lq.transition(), B: lq.controlLoading(), R: lq.stateWeight(), beta: model.beta)
            : .nan
        return LQRiccatiEquilibrium(model: model, H0: r.h[0], H1: r.h[1], P: r.P, F: r.F, d: d,
                                    fixedPointResidual: r.residual, riccatiResidual: residual,
                                    riccatiSolves: r.evaluations, warmStartRiccatiSolves: warmSolves,
                                    doublingIterations: r.doublingIterations, warmStartN: warmN)
    }

    struct RootFindResult {
        var h: [Double], J: [[Double]]
        var P: DenseMatrix, F: DenseMatrix
        var residual: Double
        var evaluations: Int, doublingIterations: Int
    }

    /// Broyden's ("good") method on `G(H) = r(H) − H` in two unknowns.
    static func rootFind(model: InvestmentModel, h start: [Double], J start0: [[Double]], options: Options) throws -> RootFindResult {
        let workspace = RiccatiWorkspace(n: model.N + 2)
        var evaluations = 0, doubling = 0
        let limit = 1 / model.beta.squareRoot()
        func wellPosed(_ h: [Double]) -> Bool { abs(1 - model.delta + h[1]) < limit * (1 - 1e-9) }
        func evaluate(_ h: [Double]) throws -> (g: [Double], P: DenseMatrix, F: DenseMatrix) {
            guard evaluations < options.maxEvaluations else {
                throw LQError("the root-find on (H0, H1) did not converge in \(options.maxEvaluations) Riccati solves (last point H0 = \(h[0]), H1 = \(h[1]))")
            }
            evaluations += 1
            let s = try firmSolution(model: model, H0: h[0], H1: h[1], options: options.riccati, workspace: workspace)
            doubling += s.iterations
            let (r0, r1) = impliedCoefficients(s.F, N: model.N)
            return ([r0 - h[0], r1 - h[1]], s.P, s.F)
        }
        var h = start
        if !wellPosed(h) { h = [0, 0] }
        var J = start0
        var current = try evaluate(h)
        func size(_ g: [Double]) -> Double { max(abs(g[0]), abs(g[1])) }
        while !(size(current.g) <= options.tolerance) {
            guard current.g.allSatisfy({ $0.isFinite }) else { throw LQError("the root-find on (H0, H1) produced non-finite values at H = \(h)") }
            // Newton step with the Broyden Jacobian: J s = −G (fixed-point step if J is singular)
            let det = J[0][0] * J[1][1] - J[0][1] * J[1][0]
            var step: [Double]
            if abs(det) > 1e-14 * max(1, abs(J[0][0] * J[1][1]), abs(J[0][1] * J[1][0])) {
                step = [(-J[1][1] * current.g[0] + J[0][1] * current.g[1]) / det,
                        (J[1][0] * current.g[0] - J[0][0] * current.g[1]) / det]
            } else {
                step = current.g
            }
            var next: (g: [Double], P: DenseMatrix, F: DenseMatrix)? = nil
            var trial = h
            for _ in 0..<30 {
                trial = [h[0] + step[0], h[1] + step[1]]
                if wellPosed(trial) {
                    do { next = try evaluate(trial); break } catch let e as LQError where evaluations < options.maxEvaluations {
                        _ = e   // the doubling broke down at this guess: shorten the step
                    }
                }
                step = step.map { $0 / 2 }
            }
            guard let accepted = next else {
                throw LQError("the root-find on (H0, H1) could not find a well-posed next guess from H0 = \(h[0]), H1 = \(h[1])")
            }
            // Broyden update J ← J + (y − J s) sᵀ / (sᵀ s)
            let y = [accepted.g[0] - current.g[0], accepted.g[1] - current.g[1]]
            let ss = step[0] * step[0] + step[1] * step[1]
            if ss > 0 {
                let js = [J[0][0] * step[0] + J[0][1] * step[1], J[1][0] * step[0] + J[1][1] * step[1]]
                for i in 0..<2 { for j in 0..<2 { J[i][j] += (y[i] - js[i]) * step[j] / ss } }
            }
            h = trial
            current = accepted
        }
        return RootFindResult(h: h, J: J, P: current.P, F: current.F, residual: size(current.g),
                              evaluations: evaluations, doublingIterations: doubling)
    }
}
