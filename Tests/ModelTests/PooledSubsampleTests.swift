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

    /// `stratifiedStates` (`method.pool_stratified`): per state a systematic sample of its agents
    /// sorted by (e, k). Claims: the sample is `size` distinct agents of the row; the unemployed
    /// share is the row's to within one agent; the mean k is within (range of k)·3/size of the row's
    /// (each sampled agent lies in its block of N/size agents in sorted order, so it differs from the
    /// block's mean by at most the block's range, and the block ranges of k sorted within e = 0,
    /// within e = 1 and the block across the boundary add up to at most 3 ranges of k); and its
    /// spread over seeds is well below a random subset's, std/√size (here 0.68 against 2.1: what is
    /// left comes from the top block, the lognormal's right tail); a permutation of the agents
    /// gives the same sample.
    func testStratifiedSampleKeepsTheSharesAndTheMeanOfEachState() throws {
        let n = 1000, size = 100
        let m = try shippedModel("krusell_smith", ["N": Double(n)])
        var g = SeededGenerator(seed: 11)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: ExpectationSettings(), generator: &g)
        let X = economy.simulate(from: economy.initialState(generator: &g), trajectories: 2, steps: 3, policy: nil, generator: &g)
            .reshaped([-1] + economy.stateShape)
        let d = m.states.count, kColumn = m.states.firstIndex(of: "k")!, eColumn = m.states.firstIndex(of: "e")!
        func agents(_ T: Tensor<Double>, _ r: Int, _ count: Int) -> [[Double]] {
            (0..<count).map { i in (0..<d).map { T[r, i, $0] } }
        }
        func mean(_ a: [[Double]], _ c: Int) -> Double { a.map { $0[c] }.reduce(0, +) / Double(a.count) }
        var stratifiedErrors: [Double] = [], randomErrors: [Double] = []
        for r in 0..<X.shape[0] {
            let row = agents(X, r, n)
            let ks = row.map { $0[kColumn] }, range = ks.max()! - ks.min()!
            for seed in 0..<25 as Range<UInt64> {
                let S = economy.stratifiedStates(X, rows: [r], size: size, seed: seed)
                XCTAssertEqual(S.shape, [1, size, d])
                let sample = agents(S, 0, size)
                // distinct agents of the row: every sampled state is used no more often than the row has it
                for state in Set(sample) {
                    XCTAssertLessThanOrEqual(sample.filter { $0 == state }.count, row.filter { $0 == state }.count)
                }
                XCTAssertLessThanOrEqual(abs(mean(sample, eColumn) - mean(row, eColumn)), 1.0 / Double(size) + 1e-12)
                XCTAssertLessThanOrEqual(abs(mean(sample, kColumn) - mean(row, kColumn)), 3 * range / Double(size))
                stratifiedErrors.append(mean(sample, kColumn) - mean(row, kColumn))
                let random = economy.restrictedStates(X, rows: [r], toAgents: randomSubset(count: n, size: size, seed: seed))
                randomErrors.append(mean(agents(random, 0, size), kColumn) - mean(row, kColumn))
            }
        }
        let rms = { (e: [Double]) in (e.map { $0 * $0 }.reduce(0, +) / Double(e.count)).squareRoot() }
        XCTAssertLessThan(rms(stratifiedErrors), rms(randomErrors) / 2, "stratified \(rms(stratifiedErrors)), random \(rms(randomErrors))")
        // invariance: the same sample when the agents come in another order
        var order = Array(0..<n)
        order.seededShuffle(using: &g)
        let permuted = Tensor<Double>(shape: [1, n, d], scalars: order.flatMap { i in (0..<d).map { X[0, i, $0] } })
        XCTAssertEqual(economy.stratifiedStates(permuted, rows: [0], size: size, seed: 3).scalars,
                       economy.stratifiedStates(X, rows: [0], size: size, seed: 3).scalars)
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
