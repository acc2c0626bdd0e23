import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// The economy restricted to a subset of its agents (`ModelEconomy.restricted(toAgents:)`), which
/// pooled training steps (`method.pool_sample`) and validation estimates (`method.val_pool_sample`) use.
final class PooledSubsampleTests: XCTestCase {
    func investment(_ overrides: [String: Double], phi: PhiKind, seed: UInt64 = 4) throws -> (ModelEconomy<Double>, ModelPolicy<Double>, Tensor<Double>) {
        let m = try shippedModel("investment", overrides)
        var g = SeededGenerator(seed: seed)
        var e = ExpectationSettings(); e.aggregateNodes = 3; e.firmsPerState = 0
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(phi), expectation: e, generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X0 = economy.initialState(generator: &g)
        let X = economy.simulate(from: X0, trajectories: 2, steps: 2, policy: nil, generator: &g).reshaped([-1] + economy.stateShape)
        return (economy, policy, X)
    }

    func testRandomSubsetIsSortedDistinctInRangeAndReproducible() {
        for (n, k) in [(10, 3), (1000, 32), (1_000_000, 64), (5, 5), (5, 9)] {
            let s = randomSubset(count: n, size: k, seed: 7)
            XCTAssertEqual(s.count, min(n, k))
            XCTAssertEqual(s, s.sorted())
            XCTAssertEqual(Set(s).count, s.count)
            XCTAssertTrue(s.allSatisfy { $0 >= 0 && $0 < n })
            XCTAssertEqual(s, randomSubset(count: n, size: k, seed: 7))
        }
        XCTAssertNotEqual(randomSubset(count: 1000, size: 32, seed: 7), randomSubset(count: 1000, size: 32, seed: 8))
        // every agent is equally likely: 20,000 draws of 10 out of 40 put each agent in 5,000 ± 4σ (σ ≈ 61)
        var hits = [Int](repeating: 0, count: 40)
        for seed in 0..<20_000 { for i in randomSubset(count: 40, size: 10, seed: UInt64(seed)) { hits[i] += 1 } }
        XCTAssertLessThan(hits.map { abs($0 - 5000) }.max()!, 245)
    }

    /// Restricted to every agent, the economy is the economy: same residuals and gradients.
    func testRestrictionToEveryAgentChangesNothing() throws {
        for (overrides, phi) in [([:], PhiKind.deepset), (["mu": 0.05, "nu": 1.5, "N": 12], .moments)] as [([String: Double], PhiKind)] {
            let (economy, policy, X) = try investment(overrides.merging(["N": overrides["N"] ?? 16]) { a, _ in a }, phi: phi)
            let all = Array(0..<economy.N)
            let restricted = try XCTUnwrap(economy.restricted(toAgents: all))
            let a = residualsAndGradients(economy, policy, X, subsample: nil)
            let b = residualsAndGradients(restricted, policy, restricted.restrictedStates(X, toAgents: all), subsample: nil)
            XCTAssertLessThan(maxRelativeDifference(b.residuals, a.residuals, scale: 1e-8), 1e-12)
            XCTAssertLessThan(maxRelativeDifference(b.gradients, a.gradients, scale: 1e-8), 1e-12)
        }
    }

    /// With φ = identity and μ = 0 the residual sees the cross-section only through mean(x) and
    /// mean(x') = (1 − δ) mean(x) + u + η ω (the normalised draw has mean 0). So the economy of the
    /// agents S equals the N-agent economy whose cross-section repeats S's states N/K times: an
    /// independent route to the restricted residuals, including the re-normalised draw.
    func testRestrictedEconomyIsTheEconomyOfItsAgents() throws {
        let (economy, policy, X) = try investment(["N": 24], phi: .identity)
        let subset = [1, 4, 5, 9, 11, 17, 22, 23]
        let restricted = try XCTUnwrap(economy.restricted(toAgents: subset))
        XCTAssertEqual(restricted.N, 8)
        let Xs = restricted.restrictedStates(X, toAgents: subset)
        XCTAssertEqual(Xs.shape, [X.shape[0], 8])
        let replicated = Tensor<Double>(shape: X.shape, scalars: (0..<X.shape[0]).flatMap { r in
            (0..<24).map { i in Xs.pointer[r * 8 + i % 8] }
        })
        let a = residualsAndGradients(restricted, policy, Xs, subsample: nil)
        let b = residualsAndGradients(economy, policy, replicated, subsample: nil)
        XCTAssertLessThan(maxRelativeDifference(a.residuals, b.residuals, scale: 1e-8), 1e-10)
        XCTAssertLessThan(maxRelativeDifference(a.gradients, b.gradients, scale: 1e-8), 1e-10)
        // the subset's part of the draw is normalised again
        let w = try XCTUnwrap(restricted.draws.compactMap { $0 }.first).scalars
        XCTAssertEqual(w.reduce(0, +) / 8, 0, accuracy: 1e-12)
        XCTAssertEqual(w.reduce(0) { $0 + $1 * $1 } / 8, 1, accuracy: 1e-12)
    }

    /// A Krusell–Smith economy restricted to half of its households keeps matched shares: the
    /// realised unemployment of those households follows z exactly.
    func testRestrictedMarkovEconomyKeepsTheChainsShares() throws {
        let m = try shippedModel("krusell_smith", ["N": 200])
        var g = SeededGenerator(seed: 3)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: ExpectationSettings(), generator: &g)
        let subset = randomSubset(count: 200, size: 100, seed: 5)
        let restricted = try XCTUnwrap(economy.restricted(toAgents: subset))
        XCTAssertEqual(restricted.markovOrder.values.first?.count, 100)
        XCTAssertEqual(Set(restricted.markovOrder.values.first ?? []), Set(0..<100))
        var X = economy.initialState(generator: &g).reshaped([1, 200, 3])
        let zColumn = m.states.firstIndex(of: "z")!, eColumn = m.states.firstIndex(of: "e")!
        // start the half from exactly 10 % unemployed, as the whole economy starts
        X = economy.nextState(X, policy: nil, generator: &g)
        var Y = restricted.restrictedStates(X, toAgents: subset)
        let employedNow = (0..<100).filter { Y[0, $0, eColumn] == 1 }.count
        for step in 0..<30 {
            Y = restricted.nextState(Y, policy: nil, generator: &g)
            let z = Int(Y[0, 0, zColumn]), employed = (0..<100).filter { Y[0, $0, eColumn] == 1 }.count
            if step > 0 || employedNow == 90 || employedNow == 96 {
                XCTAssertEqual(employed, z == 0 ? 90 : 96, "unemployment of the 100 households follows z (step \(step))")
            }
        }
    }

    func testParameterAverageFollowsItsRecursionAndRestoresTheIterate() {
        let p = Variable(Tensor<Double>(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let average = ParameterAverage(parameters: [p], decay: 0.9)
        var expected = [1.0, 2, 3]
        for t in 1...30 {
            p.value = Tensor(shape: [3], scalars: [Double(t), -Double(t), 0.5 * Double(t)])
            average.update()
            let d = min(0.9, Double(1 + t) / Double(10 + t))
            expected = zip(expected, p.value.scalars).map { d * $0 + (1 - d) * $1 }
        }
        let iterate = p.value.scalars
        average.load()
        XCTAssertEqual(p.value.scalars, expected)
        average.load()   // idempotent
        XCTAssertEqual(p.value.scalars, expected)
        average.unload()
        XCTAssertEqual(p.value.scalars, iterate)
        average.reset()
        average.load()
        XCTAssertEqual(p.value.scalars, iterate, "after reset the average is the current parameters")
        average.unload()
    }
}
