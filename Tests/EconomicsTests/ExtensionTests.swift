import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics

/// The §6 extensions: their symmetries, their exact special cases, and their gradients.
final class ExtensionTests: XCTestCase {
    func lq(_ m: InvestmentModel) -> LQEquilibrium { try! LQEquilibrium(model: m) }

    func architecture(_ phi: PhiKind = .deepset, hidden: Int = 8, rhoLayers: Int = 2, phiLayers: Int = 1) -> SymmetricArchitecture {
        var a = SymmetricArchitecture()
        a.phi = phi; a.phiHidden = hidden; a.rhoHidden = hidden; a.rhoLayers = rhoLayers; a.phiLayers = phiLayers
        a.L = 3; a.outerL = 2; a.rho2Hidden = hidden; a.rho2Layers = 1; a.activation = .tanh
        return a
    }

    /// Central-difference check of ∂(Σ ε²)/∂θ for every parameter (a subsample of entries).
    func checkResidualGradients<P: ParameterizedModel>(_ policy: P, stride: Int = 5, file: StaticString = #filePath, line: UInt = #line,
                                                       _ residual: () -> Variable<Double>) where P.Scalar == Double {
        func loss() -> Double { withoutGradients { residual().value.scalars.map { $0 * $0 }.reduce(0, +) } }
        for p in policy.parameters { p.zeroGrad() }
        residual().squared().sumAll().backward()
        let h = 1e-6
        for p in policy.parameters {
            for i in Swift.stride(from: 0, to: p.value.count, by: stride) {
                let saved = p.value.pointer[i]
                p.value.pointer[i] = saved + h; let lp = loss()
                p.value.pointer[i] = saved - h; let lm = loss()
                p.value.pointer[i] = saved
                XCTAssertEqual(p.grad?.pointer[i] ?? 0, (lp - lm) / (2 * h), accuracy: 1e-6 * max(1, abs(lp)), file: file, line: line)
            }
        }
    }

    // MARK: Decreasing returns (§6.1)

    func testDecreasingReturnsResidualReducesToEq20AtTheLQPolicyWhenMuIsZero() throws {
        // the μ > 0 code path (per-firm policies, 2-D quadrature) evaluated at μ = 0 with a network
        // that computes u(x, X) = H0 + H1·mean X exactly: every residual vanishes
        var m = InvestmentModel(); m.N = 12
        var g = SeededGenerator(seed: 1)
        var a = architecture(.identity, rhoLayers: 0)
        a.bias = true
        let economy = try InvestmentEconomy<Double>(model: m, architecture: a, generator: &g)
        let net = SymmetricNetwork<Double>(a, ownStateDimension: 1, generator: &g)
        let w = net.rho.layers[0].weight.value.pointer   // inputs [x, mean X]
        w[0] = 0; w[1] = lq(m).H1
        net.rho.layers[0].bias!.value.pointer[0] = lq(m).H0
        let X = Tensor<Double>.randomNormal(shape: [4, m.N], mean: 0.9, std: 0.05, using: &g)
        let eps = withoutGradients { economy.decreasingReturnsResidual(Variable(X), network: net, subsample: nil).value }
        XCTAssertEqual(eps.shape, [4, m.N])
        for e in eps.scalars { XCTAssertEqual(e, 0, accuracy: 1e-12) }
    }

    func testDecreasingReturnsResidualGradientMatchesFiniteDifferences() throws {
        var m = InvestmentModel(); m.N = 6; m.mu = 0.3
        var e = ExpectationSettings(); e.aggregateNodes = 2; e.ownNodes = 2; e.firmsPerState = 3
        var g = SeededGenerator(seed: 2)
        let economy = try InvestmentEconomy<Double>(model: m, architecture: architecture(), expectation: e, generator: &g)
        let net = economy.makePolicy(generator: &g)
        let X = Tensor<Double>.randomNormal(shape: [3, m.N], mean: 0.9, std: 0.05, using: &g)
        checkResidualGradients(net) { economy.eulerResidual(Variable(X), policy: net, subsample: 7) }
    }

    // MARK: Several types (§6.2)

    func testBlockNetworkIsInvariantWithinBlocksNotAcrossThem() {
        for shared in [false, true] {
            var a = architecture(); a.sharedPhi = shared
            var g = SeededGenerator(seed: 3)
            let net = BlockSymmetricNetwork<Double>(a, blockSizes: [4, 3], ownStateDimension: 2, generator: &g)
            let X = Tensor<Double>(shape: [1, 7], scalars: [0.8, 0.9, 1.0, 1.1, 0.5, 0.6, 0.7])
            let own = Variable(Tensor<Double>(shape: [1, 2, 2], scalars: [1, 0, 0, 1]))
            func u(_ x: [Double]) -> [Double] {
                withoutGradients { net.policy(own: own, pooled: net.pooled(Variable(Tensor(shape: [1, 7], scalars: x)))).value.scalars }
            }
            let base = u(X.scalars)
            let within = u([1.1, 0.8, 1.0, 0.9, 0.7, 0.5, 0.6])        // permutations inside each block
            for (p, q) in zip(base, within) { XCTAssertEqual(p, q, accuracy: 1e-12) }
            let across = u([0.5, 0.9, 1.0, 1.1, 0.8, 0.6, 0.7])        // firm 1 of block 1 ↔ firm 1 of block 2
            XCTAssertGreaterThan(zip(base, across).map { abs($0 - $1) }.max()!, 1e-6, "shared φ: \(shared)")
        }
    }

    func testExactTypePoliciesSolveEveryTypesEulerEquation() throws {
        // independent check of the closed form u_j = (a_j/ā)(c + H̄·m): plug it into each type's
        // Euler equation, with the LQ law of motion of the mean, in plain Double arithmetic
        var m = InvestmentModel(); m.N = 10
        var g = SeededGenerator(seed: 4)
        let a = [0.8, 1.3, 1.0], sizes = [3, 5, 2]
        let economy = try MultiTypeEconomy<Double>(model: m, productivities: a, sizes: sizes, architecture: architecture(),
                                                   expectation: ExpectationSettings(), initialLoc: 0.9, initialScale: 0.05, generator: &g)
        for mean in [0.6, 0.9, 1.2] {
            let X = Tensor<Double>(shape: [1, m.N], repeating: mean)
            let u = economy.exactTypePolicies(X).scalars
            let mNext = (1 - m.delta) * mean + zip(u, sizes).map { $0 * Double($1) }.reduce(0, +) / Double(m.N)   // mean Ŵ = 0
            let uNext = economy.exactTypePolicies(Tensor(shape: [1, m.N], repeating: mNext)).scalars
            for j in 0..<3 {
                let residual = m.gamma * u[j] - m.beta * (a[j] * (m.alpha0 - m.alpha1 * mNext) + m.gamma * (1 - m.delta) * uNext[j])
                XCTAssertEqual(residual, 0, accuracy: 1e-12, "type \(j), mean \(mean)")
            }
        }
    }

    func testEqualProductivitiesGiveTheOneTypeSolution() throws {
        var m = InvestmentModel(); m.N = 8
        var g = SeededGenerator(seed: 5)
        let economy = try MultiTypeEconomy<Double>(model: m, productivities: [1, 1], sizes: [5, 3], architecture: architecture(.identity, rhoLayers: 0),
                                                   expectation: ExpectationSettings(), initialLoc: 0.9, initialScale: 0.05, generator: &g)
        let one = lq(m)
        XCTAssertEqual(economy.aggregateLQ.H0, one.H0, accuracy: 1e-14)
        XCTAssertEqual(economy.aggregateLQ.H1, one.H1, accuracy: 1e-14)
        // a linear block network holding the one-type policy zeroes both types' Euler residuals
        let net = economy.makePolicy(generator: &g)
        let w = net.rho.layers[0].weight.value.pointer  // inputs [onehot₁, onehot₂, mean X¹, mean X²]
        w[0] = 0; w[1] = 0; w[2] = one.H1 * 5 / 8; w[3] = one.H1 * 3 / 8
        net.rho.layers[0].bias!.value.pointer[0] = one.H0
        let X = Tensor<Double>.randomNormal(shape: [3, m.N], mean: 0.9, std: 0.1, using: &g)
        let eps = withoutGradients { economy.eulerResidual(Variable(X), policy: net, subsample: nil).value }
        XCTAssertEqual(eps.shape, [3, 2])
        for e in eps.scalars { XCTAssertEqual(e, 0, accuracy: 1e-12) }
    }

    func testTypesResidualGradientMatchesFiniteDifferences() throws {
        var m = InvestmentModel(); m.N = 5; m.nu = 1.5
        var e = ExpectationSettings(); e.aggregateNodes = 3
        var g = SeededGenerator(seed: 6)
        let economy = try MultiTypeEconomy<Double>(model: m, productivities: [1, 2], sizes: [2, 3], architecture: architecture(),
                                                   expectation: e, initialLoc: 0.9, initialScale: 0.05, generator: &g)
        let net = economy.makePolicy(generator: &g)
        let X = Tensor<Double>.randomNormal(shape: [2, m.N], mean: 0.9, std: 0.05, using: &g)
        checkResidualGradients(net) { economy.eulerResidual(Variable(X), policy: net, subsample: nil) }
    }

    // MARK: Two-dimensional states (§6.3)

    func testProductivityPolicyIsInvariantToPermutingFirmsJointlyNotTheirCoordinates() {
        var g = SeededGenerator(seed: 7)
        let net = SymmetricNetwork<Double>(architecture(), agentDimension: 2, ownStateDimension: 1, generator: &g)
        let Z: [Double] = [0.8, 1.1, 0.9, 0.7, 1.0, 1.3, 1.2, 0.95]   // (x, y) for 4 firms
        func u(_ z: [Double]) -> Double {
            withoutGradients { net(Variable(Tensor(shape: [1, 4, 2], scalars: z)), own: Variable(Tensor(shape: [1, 1], scalars: [1.05]))).value.scalar }
        }
        let joint: [Double] = [1.2, 0.95, 0.9, 0.7, 0.8, 1.1, 1.0, 1.3]          // firms reordered, pairs kept
        XCTAssertEqual(u(Z), u(joint), accuracy: 1e-12)
        let separate: [Double] = [0.9, 1.1, 0.8, 0.7, 1.0, 1.3, 1.2, 0.95]       // x's permuted, y's kept
        XCTAssertGreaterThan(abs(u(Z) - u(separate)), 1e-8)
    }

    // MARK: Nested sets (§6.3)

    func testNestedNetworkIsInvariantAtBothLevels() {
        var g = SeededGenerator(seed: 10)
        let net = NestedSymmetricNetwork<Double>(architecture(), usesOwnX: false, generator: &g)
        // 3 firms, each (x, y¹, y², y³)
        let Z: [Double] = [0.8, 1.0, 1.2, 0.9, 1.1, 0.7, 1.3, 1.05, 0.9, 1.4, 0.6, 1.0]
        let own: [Double] = [0.85, 1.1, 0.95, 1.2]
        func u(_ z: [Double], _ o: [Double] = own) -> Double {
            withoutGradients {
                net.policy(own: Variable(Tensor(shape: [1, 1, 4], scalars: o)), pooled: net.pooled(Variable(Tensor(shape: [1, 3, 4], scalars: z)))).value.scalar
            }
        }
        let firms: [Double] = [0.9, 1.4, 0.6, 1.0, 0.8, 1.0, 1.2, 0.9, 1.1, 0.7, 1.3, 1.05]      // firms permuted
        XCTAssertEqual(u(Z), u(firms), accuracy: 1e-12)
        let customers: [Double] = [0.8, 0.9, 1.0, 1.2, 1.1, 1.05, 0.7, 1.3, 0.9, 1.0, 1.4, 0.6]  // each firm's customers permuted
        XCTAssertEqual(u(Z), u(customers), accuracy: 1e-12)
        XCTAssertEqual(u(Z), u(Z, [0.85, 1.2, 1.1, 0.95]), accuracy: 1e-12, "own customers permuted")
        let moved: [Double] = [0.8, 1.3, 1.2, 0.9, 1.1, 0.7, 1.0, 1.05, 0.9, 1.4, 0.6, 1.0]      // a customer moved between firms
        XCTAssertGreaterThan(abs(u(Z) - u(moved)), 1e-8)
        let swapped: [Double] = [1.0, 0.8, 1.2, 0.9, 1.1, 0.7, 1.3, 1.05, 0.9, 1.4, 0.6, 1.0]    // a firm's x swapped with a customer
        XCTAssertGreaterThan(abs(u(Z) - u(swapped)), 1e-8)
    }

    func testCustomerResidualVanishesAtTheLQPolicyWithUnitCustomers() throws {
        var m = InvestmentModel(); m.N = 6
        var a = architecture(hidden: 4, rhoLayers: 0, phiLayers: 0); a.rho2Layers = 0; a.outerL = 1; a.L = 1
        var g = SeededGenerator(seed: 11)
        let economy = try CustomerEconomy<Double>(model: m, customers: 3, customerMean: 1, persistence: 0.9, customerScale: 0,
                                                  architecture: a, expectation: ExpectationSettings(), initialLoc: 0.9, initialScale: 0.05, generator: &g)
        let net = economy.makePolicy(generator: &g)
        // ρ2(X_i, ·) = X_i, ρ1(·, mean ρ2) = H0 + H1·mean X
        for p in net.parameters { p.value.pointer.update(repeating: 0, count: p.value.count) }
        net.rho2.layers[0].weight.value.pointer[0] = 1
        net.rho1.layers[0].weight.value.pointer[1] = lq(m).H1      // inputs [mean φ1, outer]
        net.rho1.layers[0].bias!.value.pointer[0] = lq(m).H0
        let Z = Tensor<Double>(uninitializedShape: [2, m.N, 4])
        for i in 0..<(2 * m.N) { Z.pointer[4 * i] = 0.7 + 0.03 * Double(i); for j in 1..<4 { Z.pointer[4 * i + j] = 1 } }
        let eps = withoutGradients { economy.eulerResidual(Variable(Z), policy: net, subsample: nil).value }
        for e in eps.scalars { XCTAssertEqual(e, 0, accuracy: 1e-12) }
    }

    func testCustomerResidualGradientMatchesFiniteDifferences() throws {
        var m = InvestmentModel(); m.N = 4; m.nu = 1.5
        var e = ExpectationSettings(); e.aggregateNodes = 2; e.firmsPerState = 2
        var g = SeededGenerator(seed: 12)
        let economy = try CustomerEconomy<Double>(model: m, customers: 3, customerMean: 1, persistence: 0.8, customerScale: 0.2,
                                                  architecture: architecture(), expectation: e, initialLoc: 0.9, initialScale: 0.05, generator: &g)
        let net = economy.makePolicy(generator: &g)
        var gz = SeededGenerator(seed: 13)
        let Z = economy.simulate(from: economy.initialState(generator: &gz), trajectories: 2, steps: 1, policy: nil, generator: &gz).reshaped([4, 4, 4])
        checkResidualGradients(net, stride: 7) { economy.eulerResidual(Variable(Z), policy: net, subsample: 5) }
    }
}
