import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// Markov states (the language extension behind Krusell–Smith): chains derived from a joint
/// matrix, matched-share draws, exact expectations over the next Markov states.
final class MarkovTests: XCTestCase {
    func testKrusellSmithChainsFollowTheCalibration() throws {
        let m = try shippedModel("krusell_smith", ["N": 50])
        let z = try XCTUnwrap(m.chains.first { $0.name == "z" }), e = try XCTUnwrap(m.chains.first { $0.name == "e" })
        // aggregate chain implied by the joint matrix: spells of 8 quarters
        XCTAssertEqual(z.economyTransition[0][0], 0.875, accuracy: 1e-6)
        XCTAssertEqual(z.economyTransition[1][1], 0.875, accuracy: 1e-6)
        // the conditional chains keep unemployment at u_b = 0.10 in bad and u_g = 0.04 in good times:
        // u' = u P(u'|u) + (1 − u) P(u'|e) for each (z, z')
        let u = [0.10, 0.04]
        for zi in 0..<2 { for zj in 0..<2 {
            let P = e.agentTransition[zi][zj]
            for row in P { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12) }
            XCTAssertEqual(u[zi] * P[0][0] + (1 - u[zi]) * P[1][0], u[zj], accuracy: 1e-5, "z \(zi) → \(zj)")
        } }
        XCTAssertEqual(e.initialShares[0], 0.10, accuracy: 1e-4, "initial unemployment: the stationary share in the bad state")
    }

    func testMatchedSharesReproduceTheChainsRatesExactly() {
        let n = 1000
        var g = SeededGenerator(seed: 1)
        let current = Tensor<Double>(shape: [n], scalars: (0..<n).map { $0 < 100 ? 0 : 1 })
        let next = Tensor<Double>(zeros: [n])
        let order = Array(0..<n).shuffled(using: &g)
        let P = [[0.6, 0.4], [0.05, 0.95]]
        ModelEconomy<Double>.matchedShares(current: current.pointer, order: order, transition: P, into: next.pointer, count: n)
        let stayUnemployed = (0..<100).filter { next.pointer[$0] == 0 }.count
        let becomeUnemployed = (100..<n).filter { next.pointer[$0] == 0 }.count
        XCTAssertEqual(stayUnemployed, 60)
        XCTAssertEqual(becomeUnemployed, 45)   // round(900 · 0.05)
    }

    func testExpectationWeightsSumToOneAndSimulationKeepsUnemploymentOnTheChain() throws {
        let m = try shippedModel("krusell_smith", ["N": 200])
        var g = SeededGenerator(seed: 2)
        var e = ExpectationSettings(); e.firmsPerState = 5
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), expectation: e, generator: &g)
        let policy = economy.makePolicy(generator: &g)
        var X = economy.initialState(generator: &g).reshaped([1, 200, 3])
        let zColumn = m.states.firstIndex(of: "z")!, eColumn = m.states.firstIndex(of: "e")!
        for _ in 0..<40 {
            X = economy.nextState(X, policy: nil, generator: &g)
            let z = Int(X[0, 0, zColumn]), employed = (0..<200).filter { X[0, $0, eColumn] == 1 }.count
            XCTAssertEqual(employed, z == 0 ? 180 : 192, "unemployment follows z exactly (u_b = 10 %, u_g = 4 % of 200)")
        }
        // the residual is finite and has one column per agent of interest
        let r = economy.eulerResidual(Variable(X), policy: policy, subsample: 3)
        XCTAssertEqual(r.shape, [1, 5])
        XCTAssertTrue(r.value.scalars.allSatisfy(\.isFinite))
    }

    /// A two-state chain with a known expectation: E[v(z')] for v = value of z' is P·values.
    func testExpectationOverAnEconomyChainIsTheExactSum() throws {
        let yaml = """
        parameters: {N: 3}
        markov:
          z: {per: economy, values: [1, 3], transition: [[0.7, 0.3], [0.2, 0.8]], initial: 1}
        agents:
          states: [x]
          initial:
            x: uniform(1, 2)
        policy: {u: {own: [], aggregate: [z], distribution: [x]}}
        transition: {x: x}
        equations:
          e: u - E[z']
        simulate: {u: 0}
        """
        let m = try ModelCompiler.compile(try ModelFile.parse(yaml: yaml, path: "z.yaml"))
        var g = SeededGenerator(seed: 3)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(.identity), generator: &g)
        let policy = economy.makePolicy(generator: &g)
        for zIndex in [0.0, 1.0] {
            let X = Tensor<Double>(shape: [1, 3, 2], scalars: [1.2, zIndex, 1.5, zIndex, 1.9, zIndex])
            let u = economy.controlValues(X, policy: policy).scalars[0]
            let r = withoutGradients { economy.eulerResidual(Variable(X), policy: policy, subsample: nil).value.scalars[0] }
            let expected = zIndex == 0 ? 0.7 * 1 + 0.3 * 3 : 0.2 * 1 + 0.8 * 3
            XCTAssertEqual(u - r, expected, accuracy: 1e-12)
        }
    }

    func testMarkovErrorsAreReported() throws {
        func error(_ markov: String) -> String {
            let yaml = """
            parameters: {N: 3}
            markov:
            \(markov)
            agents:
              states: [x]
              initial:
                x: uniform(1, 2)
            policy: {u: {own: [], distribution: [x]}}
            transition: {x: x}
            equations: {e: u - 1}
            simulate: {u: 0}
            """
            do { _ = try ModelCompiler.compile(try ModelFile.parse(yaml: yaml, path: "m.yaml")); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(error("  z: {per: economy, values: [1, 2], transition: [[0.5, 0.6], [0.5, 0.5]]}").contains("row 1 sums to 1.1"))
        XCTAssertTrue(error("  z: {per: economy, values: [1, 2], transition: [[1]]}").contains("must be 2×2"))
        XCTAssertTrue(error("  z: {per: economy, values: [1, 2]}").contains("needs transition"))
        XCTAssertTrue(error("  z: {per: region, values: [1, 2]}").contains("per: 'region' is not allowed"))
        XCTAssertTrue(error("  z: {per: economy, values: [1, 2], transition: [[0.5, 0.5], [0.5, 0.5]], initial: 3}").contains("is not one of its values"))
    }
}
