import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// `agents.interest`: in training steps a share of the agents of interest have their own states
/// drawn from the file's training distribution (`method.interest_share`); validation and test
/// never do.
final class InterestDrawTests: XCTestCase {
    /// The Krusell–Smith file's text with its `agents.interest` block drawing k from `interest`.
    func krusellSmithText(interest: String) throws -> String {
        let text = try String(contentsOf: modelsFolder.appendingPathComponent("krusell_smith.yaml"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let block = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("  interest:") }, "test setup: agents.interest in krusell_smith.yaml")
        XCTAssertTrue(lines[block + 1].hasPrefix("    k: "), "test setup: agents.interest draws k")
        lines[block] = "  interest:"
        lines[block + 1] = "    k: \(interest)"
        return lines.joined(separator: "\n")
    }

    func krusellSmith(interest: String, _ overrides: [String: Double]) throws -> CompiledModel {
        try ModelCompiler.compile(try ModelFile.parse(yaml: try krusellSmithText(interest: interest), path: "krusell_smith.yaml"), overrides: overrides)
    }

    func economy(_ m: CompiledModel) -> (ModelEconomy<Double>, ModelPolicy<Double>, Tensor<Double>) {
        var g = SeededGenerator(seed: 11)
        var e = ExpectationSettings(); e.firmsPerState = 5
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: e, generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X0 = economy.initialState(generator: &g)
        let X = economy.simulate(from: X0, trajectories: 2, steps: 2, policy: nil, generator: &g).reshaped([-1] + economy.stateShape)
        return (economy, policy, X)
    }

    /// When every household holds k0_mean and agents.interest draws exactly k0_mean, the drawn
    /// states are the households' own: the residuals and gradients through the override (the
    /// network evaluated on the drawn own states, their own k' and c') equal those read off the
    /// cross-section, to rounding.
    func testDrawingTheAgentsOwnStatesChangesNothing() throws {
        let m = try krusellSmith(interest: "k0_mean", ["N": 40, "k0_spread": 0])
        XCTAssertEqual(m.interest.map(\.state), [m.states.firstIndex(of: "k")!])
        let (economy, policy, X) = economy(m)
        let training = economy.drawingInterestStates(share: 1)
        XCTAssertEqual(training.interestShare, 1)
        let a = residualsAndGradients(economy, policy, X, subsample: 7)
        let b = residualsAndGradients(training, policy, X, subsample: 7)
        XCTAssertLessThan(maxRelativeDifference(b.residuals, a.residuals, scale: 1e-8), 1e-10)
        XCTAssertLessThan(maxRelativeDifference(b.gradients, a.gradients, scale: 1e-8), 1e-10)
    }

    /// Share 1: every drawn k is uniform on [0, 150] (mean 75, std 150/√12 ≈ 43.3 within 4σ of the
    /// sampling error); share 0.5: about half of the agents of interest keep their own k; the draws
    /// are deterministic in the step's seed; validation (no seed) and share 0 are untouched.
    func testDrawsFollowTheDistributionAndShare() throws {
        let m = try krusellSmith(interest: "uniform(0, 150)", ["N": 60])
        let (economy, policy, X) = economy(m)
        let k = m.states.firstIndex(of: "k")!, d = m.states.count, b = X.shape[0]
        let agents = Array(0..<60)
        let all = economy.drawingInterestStates(share: 1).interestDraws(X, agents: agents, seed: 3)[k]!.value.scalars
        XCTAssertEqual(all.count, b * 60)
        XCTAssertTrue(all.allSatisfy { $0 >= 0 && $0 <= 150 })
        let mean = all.reduce(0, +) / Double(all.count)
        let sd = (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot()
        XCTAssertEqual(mean, 75, accuracy: 4 * 43.3 / Double(all.count).squareRoot())
        XCTAssertEqual(sd, 150 / 12.0.squareRoot(), accuracy: 0.1 * 43.3)
        let half = economy.drawingInterestStates(share: 0.5)
        let h = half.interestDraws(X, agents: agents, seed: 3)[k]!.value.scalars
        XCTAssertEqual(h, half.interestDraws(X, agents: agents, seed: 3)[k]!.value.scalars)
        XCTAssertNotEqual(h, half.interestDraws(X, agents: agents, seed: 4)[k]!.value.scalars)
        let kept = (0..<b).flatMap { r in agents.map { i in h[r * 60 + i] == X.pointer[(r * 60 + i) * d + k] } }.filter { $0 }.count
        let n = Double(b * 60)
        XCTAssertEqual(Double(kept), n / 2, accuracy: 4 * (n / 4).squareRoot())
        // validation passes no subsample seed; share 0 draws nothing
        let plain = residualsAndGradients(economy, policy, X, subsample: nil).residuals
        XCTAssertEqual(residualsAndGradients(economy.drawingInterestStates(share: 1), policy, X, subsample: nil).residuals, plain)
        let seeded = residualsAndGradients(economy, policy, X, subsample: 5).residuals
        XCTAssertEqual(residualsAndGradients(economy.drawingInterestStates(share: 0), policy, X, subsample: 5).residuals, seeded)
        XCTAssertNotEqual(residualsAndGradients(economy.drawingInterestStates(share: 1), policy, X, subsample: 5).residuals, seeded)
        // a restricted (pooled) training economy keeps drawing
        let pooled = try XCTUnwrap(economy.drawingInterestStates(share: 1).restricted(toAgents: Array(0..<30)))
        XCTAssertEqual(pooled.interestShare, 1)
    }

    func testBadInterestSectionsAreErrorsWithTheirPlace() throws {
        let text = try krusellSmithText(interest: "uniform(0, 150)").replacingOccurrences(of: "    k: uniform(0, 150)", with: "    KEY: VALUE")
        for (key, value, message) in [("e", "1", "is a Markov state"), ("kk", "1", "not an agent state"),
                                      ("k", "uniform(0, 150) + r", "'r' is not a parameter; agents.interest may use"),
                                      ("k", "mean(k)", "mean(...) is not allowed in agents.interest")] {
            let yaml = text.replacingOccurrences(of: "KEY: VALUE", with: "\(key): \(value)")
            let e = try XCTUnwrap(compileError(yaml), "no error for \(key): \(value)")
            XCTAssertTrue(e.message.contains(message), "'\(e.message)' lacks '\(message)'")
            XCTAssertEqual(e.location?.line, position(of: "\(key): \(value)", in: yaml).line, e.message)
        }
        // a typo in the section name gets a suggestion
        let typo = try XCTUnwrap(compileError(text.replacingOccurrences(of: "  interest:", with: "  intrest:")))
        XCTAssertTrue(typo.message.contains("Did you mean 'interest'?"), typo.message)
    }
}

/// `ModelEconomy.nextState(at:…)` (savings in `symdp simulate`'s policy grid).
final class NextStateTests: XCTestCase {
    /// Krusell–Smith: k' + c = (1 + r − δ) k + income, so at fixed e the sum is affine in k with
    /// slope 1 + r − δ, r = α z (K/L)^(α−1), K = mean k, L = l̄ mean e — computed here by hand.
    func testSavingsPlusConsumptionIsTheBudget() throws {
        let m = try shippedModel("krusell_smith", ["N": 30])
        var g = SeededGenerator(seed: 2)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: ExpectationSettings(), generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X = economy.initialState(generator: &g).reshaped([1] + economy.stateShape)
        let k = m.states.firstIndex(of: "k")!, e = m.states.firstIndex(of: "e")!, z = m.states.firstIndex(of: "z")!, d = m.states.count
        let K = (0..<30).map { X.pointer[$0 * d + k] }.reduce(0, +) / 30
        let employed = (0..<30).map { m.chain(e)!.values[Int(X.pointer[$0 * d + e])] }.reduce(0, +) / 30
        let zValue = m.chain(z)!.values[Int(X.pointer[z])]
        let (alpha, delta, lbar) = (m.value(of: "alpha")!, m.value(of: "delta")!, m.value(of: "lbar")!)
        let r = alpha * zValue * Foundation.pow(K / (lbar * employed), alpha - 1)
        let grid = [0.0, 1, 5, 20, 40, 80]
        for eIndex in [0, 1] {
            let own = grid.map { [$0, Double(eIndex)] }
            let next = try XCTUnwrap(economy.nextState(at: X, state: k, states: [k, e], own: own, policy: policy))
            let c = economy.policy(at: X, control: 0, states: [k, e], own: own, policy: policy)
            let total = zip(next, c).map { $0 + $1 }
            XCTAssertTrue(c.allSatisfy { $0 > 0 } && next.allSatisfy { $0 > 0 })
            for i in 1..<grid.count {
                XCTAssertEqual((total[i] - total[0]) / (grid[i] - grid[0]), 1 + r - delta, accuracy: 1e-10)
            }
        }
        // a model with shocks has no shock-free transition: nil
        let investment = try shippedModel("investment", ["N": 8])
        let ie = ModelEconomy<Double>(model: investment, architecture: smallArchitecture(), expectation: ExpectationSettings(), generator: &g)
        let ip = ie.makePolicy(generator: &g)
        XCTAssertNil(ie.nextState(at: ie.initialState(generator: &g).reshaped([1] + ie.stateShape), state: 0, states: [0], own: [[1]], policy: ip))
    }
}

/// `method.hold_next_aggregates`: a time-iteration step that also holds every agent's next state
/// fixed but the agent of interest's own, so next period's aggregates (K', the prices, the pooled
/// features) are data — the household problem given the law of motion.
final class HoldNextAggregatesTests: XCTestCase {
    func testItCutsOnlyTheAggregateChannelOfTimeIterationSteps() throws {
        let m = try shippedModel("krusell_smith", ["N": 12])
        var g = SeededGenerator(seed: 3)
        var settings = ExpectationSettings(); settings.firmsPerState = 0   // every household's equation
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: settings, generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X0 = economy.initialState(generator: &g)
        let X = economy.simulate(from: X0, trajectories: 2, steps: 2, policy: policy, generator: &g).reshaped([-1] + economy.stateShape)
        func run(fullGradient: Bool, aggregates: Bool) -> (residuals: [Double], gradients: [Double]) {
            withNextPolicyGradient(fullGradient, aggregates: aggregates) { residualsAndGradients(economy, policy, X, subsample: nil) }
        }
        let full = run(fullGradient: true, aggregates: true), fullHeld = run(fullGradient: true, aggregates: false)
        let ti = run(fullGradient: false, aggregates: true), held = run(fullGradient: false, aggregates: false)
        // what is held changes gradients, never the residuals
        XCTAssertEqual(fullHeld.residuals, full.residuals)
        XCTAssertEqual(ti.residuals, full.residuals)
        XCTAssertEqual(held.residuals, full.residuals)
        // the full gradient differentiates through everything: holding aggregates applies to time-iteration steps only
        XCTAssertEqual(fullHeld.gradients, full.gradients)
        // in a time-iteration step the aggregate channel (K' → r', w', pooled φ(k', e')) is a real part of the gradient
        XCTAssertGreaterThan(maxRelativeDifference(held.gradients, ti.gradients, scale: 1e-6), 1e-3)
        XCTAssertTrue(held.gradients.allSatisfy(\.isFinite))
        // the setting is restored after the step
        XCTAssertTrue(nextPolicyGradient && nextAggregateGradient)
    }
}
