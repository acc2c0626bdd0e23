import XCTest
import SymmetricNumerics
import SymmetricEconomics

/// The paper's classical route (Prop. 5, App. D): Riccati equation (D.6) in N+2 states by
/// doubling, F (D.8), d (D.7) and the root-find on (H0, H1) imposing eq. (31).
final class LQRiccatiTests: XCTestCase {
    let model = InvestmentModel()

    /// Eqs. (22)–(26): −x̄ᵀRx̄ − uᵀQu is the profit p(X)x − (γ/2)u², A moves X by the perceived
    /// law, and A, B, R are unchanged by permuting the firms in X (eq. 21).
    func testRegulatorMatricesFollowEquations22To26() {
        var m = model; m.N = 5; m.alpha0 = 1.3; m.alpha1 = 0.7
        let lq = LQRegulator(model: m, H0: 0.06, H1: -0.05)
        let A = lq.transition(), B = lq.controlLoading(), R = lq.stateWeight(), Q = lq.controlWeight(), C = lq.shockLoading()
        var g = SeededGenerator(seed: 5)
        let X = (0..<m.N).map { _ in g.uniform(0.5, 1.0) }, x = 0.8, u = 0.03
        let state = [1, x] + X
        var quad = 0.0
        for i in 0..<7 { for j in 0..<7 { quad += state[i] * R[i, j] * state[j] } }
        let meanX = X.reduce(0, +) / Double(m.N)
        XCTAssertEqual(-quad - Q[0, 0] * u * u, (m.alpha0 - m.alpha1 * meanX) * x - m.gamma / 2 * u * u, accuracy: 1e-14)
        // x̄' = A x̄ + B u: x' = (1−δ)x + u, X'_i = (1−δ)X_i + H0 + H1·mean X
        for i in 0..<7 {
            var next = B[i, 0] * u
            for j in 0..<7 { next += A[i, j] * state[j] }
            let expected = i == 0 ? 1 : i == 1 ? (1 - m.delta) * x + u : (1 - m.delta) * X[i - 2] + 0.06 - 0.05 * meanX
            XCTAssertEqual(next, expected, accuracy: 1e-14)
        }
        // C: x gets ηω + σW₁, X_i gets ηω + σW_i
        XCTAssertEqual(C[1, 0], m.eta); XCTAssertEqual(C[1, 1], m.sigma); XCTAssertEqual(C[2, 1], m.sigma); XCTAssertEqual(C[3, 2], m.sigma)
        XCTAssertEqual(C[0, 0], 0); XCTAssertEqual(C[1, 2], 0)
        // permutation π of eq. (21): swap X₁ and X₄ (state indices 2 and 5)
        func permuted(_ M: DenseMatrix) -> [[Double]] {
            let p = [0, 1, 5, 3, 4, 2, 6]
            return (0..<7).map { i in (0..<7).map { j in M[p[i], p[j]] } }
        }
        XCTAssertEqual(permuted(A), A.rowArrays)
        XCTAssertEqual(permuted(R), R.rowArrays)
    }

    /// The doubling algorithm against plain value iteration of eq. (D.6) on a random 4-state,
    /// 2-control problem; with and without the shift.
    func testDoublingAgreesWithValueIteration() throws {
        var g = SeededGenerator(seed: 11)
        let n = 4, m = 2, beta = 0.9
        let A = DenseMatrix(size: n), B = DenseMatrix(rows: n, columns: m), R = DenseMatrix(size: n), Q = DenseMatrix(size: m)
        for i in 0..<n { for j in 0..<n { A[i, j] = g.uniform(-0.5, 0.5) } }
        for i in 0..<n { for j in 0..<m { B[i, j] = g.uniform(-1, 1) } }
        for i in 0..<n { R[i, i] = 1 + Double(i) }
        R[0, 1] = 0.3; R[1, 0] = 0.3
        Q[0, 0] = 2; Q[1, 1] = 1; Q[0, 1] = 0.2; Q[1, 0] = 0.2
        // value iteration P ← R + βAᵀPA − β²AᵀPB(Q + βBᵀPB)⁻¹BᵀPA, in plain loops
        var P = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for _ in 0..<3000 {
            var PA = [[Double]](repeating: [Double](repeating: 0, count: n), count: n), PB = [[Double]](repeating: [0, 0], count: n)
            for i in 0..<n { for j in 0..<n { for k in 0..<n { PA[i][j] += P[i][k] * A[k, j] } } }
            for i in 0..<n { for j in 0..<m { for k in 0..<n { PB[i][j] += P[i][k] * B[k, j] } } }
            var S = [[Q[0, 0], Q[0, 1]], [Q[1, 0], Q[1, 1]]], BPA = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
            for i in 0..<m { for j in 0..<m { for k in 0..<n { S[i][j] += beta * B[k, i] * PB[k][j] } } }
            for i in 0..<m { for j in 0..<n { for k in 0..<n { BPA[i][j] += B[k, i] * PA[k][j] } } }
            let det = S[0][0] * S[1][1] - S[0][1] * S[1][0]
            let Si = [[S[1][1] / det, -S[0][1] / det], [-S[1][0] / det, S[0][0] / det]]
            var next = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for i in 0..<n {
                for j in 0..<n {
                    var v = R[i, j]
                    for k in 0..<n { v += beta * A[k, i] * PA[k][j] }
                    for a in 0..<m { for b in 0..<m { v -= beta * beta * BPA[a][i] * Si[a][b] * BPA[b][j] } }
                    next[i][j] = v
                }
            }
            P = next
        }
        for shift in [0.0, 1.0] {
            var options = DiscreteRiccati.Options(); options.shift = shift
            let sol = try DiscreteRiccati.solve(A: A, B: B, R: R, Q: Q, beta: beta, options: options)
            for i in 0..<n { for j in 0..<n { XCTAssertEqual(sol.P[i, j], P[i][j], accuracy: 1e-11, "shift \(shift)") } }
            XCTAssertLessThan(sol.iterations, 15)
        }
    }

    /// The Riccati route and the closed form agree to 1e-9 for N ∈ {1, 2, 8, 64}: H0, H1, the
    /// steady state, p1…p5 (eq. D.12) and d (eq. D.7).
    func testBothRoutesAgree() throws {
        for N in [1, 2, 8, 64] {
            var m = model; m.N = N
            let exact = try LQEquilibrium(model: m)
            let eq = try LQRiccati.equilibrium(model: m)
            XCTAssertEqual(eq.H0, exact.H0, accuracy: 1e-9, "N = \(N)")
            XCTAssertEqual(eq.H1, exact.H1, accuracy: 1e-9, "N = \(N)")
            XCTAssertEqual(eq.steadyState, exact.steadyState, accuracy: 1e-9, "N = \(N)")
            for (a, b) in zip([eq.p1, eq.p2, eq.p3, eq.p4, eq.p5, eq.d], [exact.p1, exact.p2, exact.p3, exact.p4, exact.p5, exact.d]) {
                XCTAssertEqual(a, b, accuracy: 1e-9 * max(1, abs(b)), "N = \(N)")
            }
            XCTAssertLessThan(eq.riccatiResidual, 1e-13, "N = \(N)")
            XCTAssertLessThanOrEqual(eq.fixedPointResidual, 1e-12)
        }
    }

    /// A cold start (root-find at N from H0 = H1 = 0; the first step is the paper's fixed-point
    /// update) reaches the same equilibrium, also for other parameters.
    func testColdStartRootFindFindsTheStableEquilibrium() throws {
        var options = LQRiccati.Options(); options.warmStartN = nil
        for (beta, gamma, delta, alpha1) in [(0.95, 90.0, 0.05, 1.0), (0.9, 10.0, 0.1, 2.0), (0.99, 200.0, 0.02, 0.5)] {
            var m = model; m.N = 8; m.beta = beta; m.gamma = gamma; m.delta = delta; m.alpha1 = alpha1
            let exact = try LQEquilibrium(model: m)
            let eq = try LQRiccati.equilibrium(model: m, options: options)
            XCTAssertEqual(eq.H0, exact.H0, accuracy: 1e-9)
            XCTAssertEqual(eq.H1, exact.H1, accuracy: 1e-9)
            XCTAssertNil(eq.warmStartN)
            XCTAssertLessThan(eq.riccatiSolves, 20)
        }
    }

    /// Eq. (31): at the equilibrium F = −[H0, 0, (H1/N)·1ᵀ] — symmetric in the X block, no weight on x.
    func testFeedbackIsSymmetricInTheXBlock() throws {
        var m = model; m.N = 64
        let eq = try LQRiccati.equilibrium(model: m)
        XCTAssertLessThan(eq.feedbackAsymmetry, 1e-14)
        XCTAssertEqual(eq.F[0, 0], -eq.H0, accuracy: 1e-12)
        XCTAssertEqual(eq.F[0, 1], 0, accuracy: 1e-14)
        for j in 2..<(m.N + 2) { XCTAssertEqual(eq.F[0, j], -eq.H1 / Double(m.N), accuracy: 1e-14) }
        // symmetric for any perceived law, not only at the equilibrium (permutation invariance, App. D.2)
        let off = try LQRiccati.firmSolution(model: m, H0: 0.02, H1: -0.2)
        var mean = 0.0
        for j in 2..<(m.N + 2) { mean += off.F[0, j] / Double(m.N) }
        for j in 2..<(m.N + 2) { XCTAssertEqual(off.F[0, j], mean, accuracy: 1e-14) }
    }

    /// Eq. (D.12): P = [[p1, p2, p3/N·1ᵀ], [p2, 0, p4/N·1ᵀ], [p3/N·1, p4/N·1, p5/N²·11ᵀ]].
    func testPHasTheStructureOfEquationD12() throws {
        var m = model; m.N = 32
        let eq = try LQRiccati.equilibrium(model: m)
        XCTAssertLessThan(eq.structureDeviation, 1e-13)
        XCTAssertEqual(eq.P[1, 1], 0, accuracy: 1e-13)
        let exact = try LQEquilibrium(model: m)
        XCTAssertEqual(eq.P[2, 7] * Double(m.N * m.N), exact.p5, accuracy: 1e-10)
        XCTAssertEqual(eq.P[1, 9] * Double(m.N), exact.p4, accuracy: 1e-10)
        XCTAssertEqual(eq.P[0, 3] * Double(m.N), exact.p3, accuracy: 1e-10)
    }

    /// With an upward-sloping demand both roots are explosive; the Riccati route must say so
    /// rather than return one.
    func testNoStableEquilibriumIsAnError() {
        var m = model; m.N = 4; m.alpha1 = -0.5
        for warm in [1, nil] as [Int?] {
            var options = LQRiccati.Options(); options.warmStartN = warm; options.maxEvaluations = 30
            XCTAssertThrowsError(try LQRiccati.equilibrium(model: m, options: options)) { error in
                XCTAssertTrue("\(error)".contains("explosive") || "\(error)".contains("stable"), "\(error)")
            }
        }
    }

    /// The dense route refuses sizes whose matrices cannot fit in memory, naming model.N.
    func testHugeNIsRefusedBeforeAllocating() {
        for N in [10_000_000, Int.max / 2] {
            var m = model; m.N = N
            XCTAssertThrowsError(try LQRiccati.equilibrium(model: m)) { error in
                XCTAssertTrue("\(error)".contains("model.N"), "\(error)")
            }
        }
    }
}
