import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// The repository's `models/` folder.
let modelsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models")

func shippedModel(_ name: String, _ overrides: [String: Double] = [:]) throws -> CompiledModel {
    try ModelCompiler.compile(try ModelFile.load(path: modelsFolder.appendingPathComponent(name + ".yaml").path), overrides: overrides)
}

/// A small network so that the Float64 comparisons run fast.
func smallArchitecture(_ phi: PhiKind = .deepset) -> SymmetricArchitecture {
    var a = SymmetricArchitecture()
    a.phi = phi; a.phiHidden = 16; a.rhoHidden = 16; a.rhoLayers = 2; a.L = 3
    return a
}

/// Largest |a − b| / max(|b|, scale) over two lists.
func maxRelativeDifference(_ a: [Double], _ b: [Double], scale: Double) -> Double {
    XCTAssertEqual(a.count, b.count)
    return zip(a, b).map { abs($0 - $1) / max(abs($1), scale) }.max() ?? 0
}

/// Residuals and ∂(Σ r·ε)/∂θ of an economy, in Float64.
func residualsAndGradients<E: SymmetricEconomy>(_ e: E, _ policy: E.Policy, _ X: Tensor<Double>, subsample: UInt64?,
                                                 weights seed: UInt64 = 9) -> (residuals: [Double], gradients: [Double]) where E.Scalar == Double {
    for p in policy.parameters { p.zeroGrad() }
    let eps = e.eulerResidual(Variable(X), policy: policy, subsample: subsample)
    var g = SeededGenerator(seed: seed)
    let r = Tensor<Double>(shape: eps.shape, scalars: (0..<eps.value.count).map { _ in g.normal() })
    (eps * Variable(r)).sumAll().backward()
    return (eps.value.scalars, policy.parameters.flatMap { $0.grad?.scalars ?? Array(repeating: 0, count: $0.value.count) })
}

/// Each shipped model file against the hand-written Swift economy it replaces: the same states,
/// the same draws and the same network weights give the same residuals and gradients.
final class ModelEquivalenceTests: XCTestCase {
    func investmentPair(_ overrides: [String: Double], phi: PhiKind = .deepset, seed: UInt64 = 3)
        throws -> (ModelEconomy<Double>, InvestmentEconomy<Double>, ModelPolicy<Double>, SymmetricNetwork<Double>, Tensor<Double>) {
        let compiled = try shippedModel("investment", overrides)
        var model = InvestmentModel()
        model.N = Int(overrides["N"] ?? 128)
        model.nu = overrides["nu"] ?? 1; model.mu = overrides["mu"] ?? 0; model.zeta = overrides["zeta"] ?? 1
        model.beta = overrides["beta"] ?? model.beta; model.gamma = overrides["gamma"] ?? model.gamma
        var expectation = ExpectationSettings()
        expectation.firmsPerState = 5
        var g1 = SeededGenerator(seed: seed), g2 = SeededGenerator(seed: seed)
        let file = ModelEconomy<Double>(model: compiled, architecture: smallArchitecture(phi), expectation: expectation, generator: &g1)
        let swift = try InvestmentEconomy<Double>(model: model, architecture: smallArchitecture(phi), expectation: expectation, generator: &g2)
        var n1 = SeededGenerator(seed: seed + 1), n2 = SeededGenerator(seed: seed + 1)
        let policy = file.makePolicy(generator: &n1), network = swift.makePolicy(generator: &n2)
        var d = SeededGenerator(seed: seed + 2)
        let X0 = swift.initialState(generator: &d)
        let X = swift.simulate(from: X0, trajectories: 3, steps: 3, policy: nil, generator: &d).reshaped([-1, model.N])
        return (file, swift, policy, network, X)
    }

    func testInvestmentFileMatchesTheSwiftEconomyWithConstantReturns() throws {
        for phi in [PhiKind.identity, .moments, .deepset] {
            let (file, swift, policy, network, X) = try investmentPair(["N": 24], phi: phi)
            XCTAssertEqual(file.model.controls[0].own, [], "μ = 0: the policy is u(X)")
            XCTAssertEqual(policy.parameterCount, network.parameterCount)
            let a = residualsAndGradients(file, policy, X, subsample: 7), b = residualsAndGradients(swift, network, X, subsample: 7)
            XCTAssertLessThan(maxRelativeDifference(a.residuals, b.residuals, scale: 1e-3), 1e-10, "\(phi)")
            XCTAssertLessThan(maxRelativeDifference(a.gradients, b.gradients, scale: 1e-8), 1e-10, "\(phi)")
        }
    }

    func testInvestmentFileMatchesTheSwiftEconomyWithDecreasingReturnsAndCurvedDemand() throws {
        let (file, swift, policy, network, X) = try investmentPair(["N": 20, "mu": 0.05, "nu": 1.5, "zeta": 0.8])
        XCTAssertEqual(file.model.controls[0].own, [0], "μ > 0: the policy is u(x, X)")
        XCTAssertTrue(file.model.perAgentResiduals)
        XCTAssertEqual(file.model.ownQuadratureShocks, [0], "the firm's own shock w by quadrature")
        for subsample: UInt64? in [nil, 11] {
            let a = residualsAndGradients(file, policy, X, subsample: subsample), b = residualsAndGradients(swift, network, X, subsample: subsample)
            XCTAssertEqual(a.residuals.count, b.residuals.count)
            XCTAssertLessThan(maxRelativeDifference(a.residuals, b.residuals, scale: 1e-3), 1e-10)
            XCTAssertLessThan(maxRelativeDifference(a.gradients, b.gradients, scale: 1e-8), 1e-10)
        }
    }

    func testInvestmentFileSimulatesTheSameDataAndExactPolicy() throws {
        let (file, swift, _, _, X) = try investmentPair(["N": 16])
        var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
        XCTAssertEqual(file.initialState(generator: &g1).scalars, swift.initialState(generator: &g2).scalars)
        let a = file.nextState(X, policy: nil, generator: &g1), b = swift.nextState(X, policy: nil, generator: &g2)
        XCTAssertLessThan(maxRelativeDifference(a.scalars, b.scalars, scale: 1e-3), 1e-12)
        let lq = swift.dataPolicy
        XCTAssertEqual(file.model.value(of: "H1")!, lq.H1, accuracy: 1e-12)
        XCTAssertEqual(file.model.value(of: "H0")!, lq.H0, accuracy: 1e-12)
        XCTAssertLessThan(maxRelativeDifference(file.referenceMeanPolicy(X)!.scalars, swift.referenceMeanPolicy(X)!.scalars, scale: 1e-3), 1e-12)
    }

    func testBenchmarkDeviationWithDecreasingReturnsIsTheSwiftEconomys() throws {
        let (file, swift, policy, network, X) = try investmentPair(["N": 20, "mu": 0.05])
        XCTAssertNil(try shippedModel("investment").benchmark[0], "no benchmark when the exact policy holds")
        let a = try XCTUnwrap(file.benchmarkDeviations(X, policy: policy)), b = try XCTUnwrap(swift.benchmarkDeviations(X, policy: network))
        XCTAssertLessThan(maxRelativeDifference(a, b, scale: 1e-6), 1e-10)
    }

    func testExactPolicyIsWithdrawnOutsideTheLQCase() throws {
        XCTAssertNotNil(try shippedModel("investment").exact[0])
        XCTAssertNil(try shippedModel("investment", ["nu": 1.5]).exact[0])
        XCTAssertNil(try shippedModel("investment", ["mu": 0.05]).exact[0])
    }

    func testProductivityFileMatchesTheSwiftEconomy() throws {
        let compiled = try shippedModel("productivity", ["N": 18])
        var model = InvestmentModel()
        model.N = 18
        var expectation = ExpectationSettings()
        expectation.firmsPerState = 6
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let file = ModelEconomy<Double>(model: compiled, architecture: smallArchitecture(), expectation: expectation, generator: &g1)
        let swift = try ProductivityOracle<Double>(model: model, rhoY: 0.9, sigmaY: 0.02, architecture: smallArchitecture(),
                                                    expectation: expectation, initialLoc: 0.9, initialScale: 0.05, generator: &g2)
        XCTAssertEqual(file.model.ownQuadratureShocks, [1], "own quadrature over the productivity shock only")
        var n1 = SeededGenerator(seed: 8), n2 = SeededGenerator(seed: 8)
        let policy = file.makePolicy(generator: &n1), network = swift.makePolicy(generator: &n2)
        var d1 = SeededGenerator(seed: 2), d2 = SeededGenerator(seed: 2)
        let X0 = swift.initialState(generator: &d2)
        XCTAssertLessThan(maxRelativeDifference(file.initialState(generator: &d1).scalars, X0.scalars, scale: 1e-3), 1e-14)
        let X = swift.simulate(from: X0, trajectories: 2, steps: 3, policy: nil, generator: &d2).reshaped([-1, 18, 2])
        let Xf = file.simulate(from: X0, trajectories: 2, steps: 3, policy: nil, generator: &d1).reshaped([-1, 18, 2])
        XCTAssertLessThan(maxRelativeDifference(Xf.scalars, X.scalars, scale: 1e-3), 1e-12)
        for subsample: UInt64? in [nil, 3] {
            let a = residualsAndGradients(file, policy, X, subsample: subsample), b = residualsAndGradients(swift, network, X, subsample: subsample)
            XCTAssertLessThan(maxRelativeDifference(a.residuals, b.residuals, scale: 1e-3), 1e-10)
            XCTAssertLessThan(maxRelativeDifference(a.gradients, b.gradients, scale: 1e-8), 1e-10)
        }
    }
}

/// `models/types.yaml` (groups of agents, block-symmetric network) against the Swift economy.
final class TypesEquivalenceTests: XCTestCase {
    func testTypesFileMatchesTheSwiftEconomy() throws {
        let compiled = try shippedModel("types", ["N": 20, "n_1": 8, "nu": 1.5])
        XCTAssertTrue(compiled.residualsPerGroup, "one residual per type")
        XCTAssertEqual(compiled.controls[0].own, [], "x is dropped: the policy is u_j(X)")
        var model = InvestmentModel()
        model.N = 20; model.nu = 1.5
        var g1 = SeededGenerator(seed: 6), g2 = SeededGenerator(seed: 6)
        let file = ModelEconomy<Double>(model: compiled, architecture: smallArchitecture(), generator: &g1)
        let swift = try MultiTypeEconomy<Double>(model: model, productivities: [1.0, 1.5], sizes: [8, 12], architecture: smallArchitecture(),
                                                 expectation: ExpectationSettings(), initialLoc: 0.9, initialScale: 0.05, generator: &g2)
        var n1 = SeededGenerator(seed: 7), n2 = SeededGenerator(seed: 7)
        let policy = file.makePolicy(generator: &n1), network = swift.makePolicy(generator: &n2)
        XCTAssertEqual(policy.parameterCount, network.parameterCount)
        var d = SeededGenerator(seed: 8)
        let X = swift.simulate(from: swift.initialState(generator: &d), trajectories: 2, steps: 3, policy: nil, generator: &d).reshaped([-1, 20])
        let a = residualsAndGradients(file, policy, X, subsample: 5), b = residualsAndGradients(swift, network, X, subsample: 5)
        XCTAssertEqual(a.residuals.count, b.residuals.count)
        XCTAssertLessThan(maxRelativeDifference(a.residuals, b.residuals, scale: 1e-3), 1e-10)
        XCTAssertLessThan(maxRelativeDifference(a.gradients, b.gradients, scale: 1e-8), 1e-10)
    }

    func testTypesFileExactPolicyIsTheSwiftEconomysAndSolvesEveryTypesEquation() throws {
        let compiled = try shippedModel("types", ["N": 20, "n_1": 8])
        var model = InvestmentModel(); model.N = 20
        var g1 = SeededGenerator(seed: 6), g2 = SeededGenerator(seed: 6)
        let file = ModelEconomy<Double>(model: compiled, architecture: smallArchitecture(), generator: &g1)
        let swift = try MultiTypeEconomy<Double>(model: model, productivities: [1.0, 1.5], sizes: [8, 12], architecture: smallArchitecture(),
                                                 expectation: ExpectationSettings(), initialLoc: 0.9, initialScale: 0.05, generator: &g2)
        var d = SeededGenerator(seed: 8)
        let X = swift.simulate(from: swift.initialState(generator: &d), trajectories: 2, steps: 3, policy: nil, generator: &d).reshaped([-1, 20])
        XCTAssertLessThan(maxRelativeDifference(file.referenceMeanPolicy(X)!.scalars, swift.referenceMeanPolicy(X)!.scalars, scale: 1e-3), 1e-12)
        var f1 = SeededGenerator(seed: 9), f2 = SeededGenerator(seed: 9)
        let a = file.nextState(X, policy: nil, generator: &f1), b = swift.nextState(X, policy: nil, generator: &f2)
        XCTAssertLessThan(maxRelativeDifference(a.scalars, b.scalars, scale: 1e-3), 1e-12)
    }
}
