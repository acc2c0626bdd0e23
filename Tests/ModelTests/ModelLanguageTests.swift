import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// A model written against the format's contract, with one line replaced.
func variant(_ replace: String, with text: String, file: String = "investment") throws -> String {
    let source = try String(contentsOf: modelsFolder.appendingPathComponent(file + ".yaml"), encoding: .utf8)
    XCTAssertTrue(source.contains(replace), "test setup: '\(replace)' not in \(file).yaml")
    return source.replacingOccurrences(of: replace, with: text)
}

func compileError(_ yaml: String) -> ModelFileError? {
    do { _ = try ModelCompiler.compile(try ModelFile.parse(yaml: yaml, path: "m.yaml")); return nil } catch let e as ModelFileError { return e } catch {
        XCTFail("unexpected error \(error)"); return nil
    }
}

/// Line (1-based) of the first occurrence of `text` in `yaml`, and the column where it starts.
func position(of text: String, in yaml: String) -> (line: Int, column: Int) {
    for (i, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if let r = line.range(of: text) { return (i + 1, line.distance(from: line.startIndex, to: r.lowerBound) + 1) }
    }
    return (0, 0)
}

final class ModelLanguageTests: XCTestCase {
    func testMisspeltSymbolIsReportedAtItsLineAndColumnWithASuggestion() throws {
        let yaml = try variant("gamma * u = beta * E[", with: "gamma * u = betta * E[")
        let e = try XCTUnwrap(compileError(yaml))
        let at = position(of: "betta", in: yaml)
        XCTAssertEqual(e.location?.line, at.line)
        XCTAssertEqual(e.location?.column, at.column)
        XCTAssertTrue(e.message.contains("unknown symbol 'betta'") && e.message.contains("Did you mean 'beta'?"), e.message)
    }

    func testMissingTransitionNamesTheState() throws {
        let yaml = try variant("  x: (1 - delta) * x + u + sigma * w + eta * omega          # eq. 17\n", with: "")
        let e = try XCTUnwrap(compileError(yaml))
        XCTAssertTrue(e.message.contains("state 'x' has no transition"), e.message)
        XCTAssertEqual(e.location?.line, position(of: "states: [x]", in: yaml).line)
    }

    func testNextPeriodShockOutsideTheExpectationIsAnError() throws {
        let yaml = try variant("euler: gamma * u = beta * E[p' * max(x', 1e-6)^(-mu) + gamma * (1 - delta) * u']",
                               with: "euler: gamma * u = beta * (p' + gamma * (1 - delta) * u')")
        let e = try XCTUnwrap(compileError(yaml))
        XCTAssertTrue(e.message.contains("must be inside E[...]"), e.message)
        let bare = try XCTUnwrap(compileError(try variant("gamma * u = beta * E[", with: "gamma * u + w = beta * E[")))
        XCTAssertTrue(bare.message.contains("shock 'w' is a next-period shock outside E[...]"), bare.message)
        XCTAssertEqual(bare.location?.column, position(of: "+ w =", in: try variant("gamma * u = beta * E[", with: "gamma * u + w = beta * E[")).column + 2)
    }

    func testTheOtherChecksOfTheContract() throws {
        func expectError(_ replace: String, _ text: String, _ message: String, file: String = "investment") throws {
            let e = try XCTUnwrap(compileError(try variant(replace, with: text, file: file)), "no error for \(text)")
            XCTAssertTrue(e.message.contains(message), "'\(e.message)' lacks '\(message)'")
            XCTAssertNotNil(e.location, e.message)
        }
        try expectError("  p: alpha_0 - alpha_1 * mean(max(x, 0)^nu)^zeta", "  p: alpha_0 - alpha_1 * mean(max(x, 0)^nu)^zeta + q\n  q: p", "used before it is defined")
        try expectError("  p: alpha_0 - alpha_1 * mean(max(x, 0)^nu)^zeta", "  p: alpha_0 - p", "refers to itself")
        try expectError("gamma * u = beta", "gamma' * u = beta", "gamma is a parameter")
        try expectError("    distribution: [x]", "    distribution: [p]", "policy input 'p'")
        try expectError("  N: 128 ", "  M: 128 ", "need N")
        try expectError("beta: {value: 0.95, min: 0, max: 0.9999}", "beta: {value: 1.5, min: 0, max: 0.9999}", "above its maximum")
        try expectError("p' * max(x', 1e-6)", "p' * mux(x', 1e-6)", "unknown function 'mux'")
        try expectError("gamma * (1 - delta) * u']", "gamma * (1 - delta) * u'']", "two periods ahead")
        try expectError("gamma * (1 - delta) * u']", "gamma * (1 - delta) * u'", "']' expected")
        try expectError("w: {distribution: normal, per: agent}", "w: {distribution: normal, per: firm}", "per: 'firm' is not allowed")
        try expectError("transition:", "transiton:", "Did you mean 'transition'?")
        XCTAssertThrowsError(try ModelCompiler.compile(try ModelFile.parse(yaml: try variant("N: 128", with: "N: 128"), path: "m"), overrides: ["bta": 0.9])) {
            XCTAssertTrue("\($0)".contains("Did you mean 'beta'?"), "\($0)")
        }
    }

    func testTheContractsExampleCompilesUnchanged() throws {
        // the complete example of the format's contract (shared/MODEL_FILES.md), verbatim
        let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/MODEL_FILES.md")
        guard let text = try? String(contentsOf: contract, encoding: .utf8), let start = text.range(of: "```yaml\n"),
              let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            throw XCTSkip("shared/MODEL_FILES.md is not beside the repository")
        }
        let m = try ModelCompiler.compile(try ModelFile.parse(yaml: String(text[start.upperBound..<end.lowerBound]), path: "MODEL_FILES.md"))
        XCTAssertEqual(m.N, 128)
        XCTAssertEqual(m.controls[0].own, [])
        XCTAssertNotNil(m.exact[0])
    }

    /// Every built-in function's gradient on the tape against central finite differences (Float64).
    func testEveryFunctionGradientMatchesFiniteDifferences() throws {
        let functions = ["exp(a)", "log(a)", "sqrt(a)", "abs(a - 1)", "max(a, b)", "min(a, b)", "max(a, 1.1)", "min(1.1, a)",
                         "sigmoid(a)", "tanh(a)", "softplus(a)", "relu(a - 1)", "fb(a - 1, b - 1)", "a ^ b", "a ^ 2.5", "(a - 1)^3",
                         "2 ^ a", "a / b", "3 / a", "-a * b + a - b", "mean(a * b)"]
        for f in functions {
            let yaml = """
            parameters: {N: 6}
            agents:
              states: [a, b]
              initial:
                a: uniform(0.5, 1.5)
                b: uniform(0.5, 1.5)
            policy: {u: {own: [a], distribution: [a, b]}}
            transition: {a: a, b: b}
            definitions:
              f: \(f)
            equations: {e: u - f}
            simulate: {u: a}
            """
            let m = try ModelCompiler.compile(try ModelFile.parse(yaml: yaml, path: "f.yaml"))
            var g = SeededGenerator(seed: 1)
            var arch = SymmetricArchitecture(); arch.phi = .identity; arch.rhoLayers = 0; arch.rhoHidden = 1
            let economy = ModelEconomy<Double>(model: m, architecture: arch, generator: &g)
            let policy = economy.makePolicy(generator: &g)
            let X = Tensor<Double>(shape: [3, 6, 2], scalars: (0..<36).map { _ in g.uniform(0.6, 1.6) })
            // the residual's gradient w.r.t. the states: put them on the tape through a parameter-like leaf
            let Xv = Variable(X, requiresGrad: true)
            let r = economy.eulerResidual(Xv, policy: policy, subsample: nil)
            r.sumAll().backward()
            let analytic = try XCTUnwrap(Xv.grad, f).scalars
            func value(_ x: Tensor<Double>) -> Double { withoutGradients { economy.eulerResidual(Variable(x), policy: policy, subsample: nil).value.sumAll() } }
            for i in stride(from: 0, to: 36, by: 5) {
                let h = 1e-6
                let plus = X.copy(), minus = X.copy()
                plus.pointer[i] += h; minus.pointer[i] -= h
                let numeric = (value(plus) - value(minus)) / (2 * h)
                XCTAssertEqual(analytic[i], numeric, accuracy: 1e-6 * max(1, abs(numeric)), "\(f), element \(i)")
            }
        }
    }

    func testCompiledModelIsInvariantToPermutingAgents() throws {
        let m = try shippedModel("productivity", ["N": 10])
        var g = SeededGenerator(seed: 3)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(), generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X = economy.simulate(from: economy.initialState(generator: &g), trajectories: 2, steps: 2, policy: nil, generator: &g).reshaped([-1, 10, 2])
        var order = Array(0..<10); order.seededShuffle(using: &g)
        let P = Tensor<Double>(shape: X.shape, scalars: (0..<X.shape[0]).flatMap { r in order.flatMap { i in [X[r, i, 0], X[r, i, 1]] } })
        // the mean policy and the exact-free residuals of all agents (as a set) are unchanged
        for (a, b) in zip(economy.meanPolicy(X, policy: policy).scalars, economy.meanPolicy(P, policy: policy).scalars) { XCTAssertEqual(a, b, accuracy: 1e-13) }
        let u = economy.controlValues(X, policy: policy), up = economy.controlValues(P, policy: policy)
        for r in 0..<X.shape[0] { for (k, i) in order.enumerated() { XCTAssertEqual(up[r, k], u[r, i], accuracy: 1e-13) } }
    }

    /// `transform` maps the raw network output to the control: here a saved share of wealth x.
    func testTransformAppliesToTheNetworkOutput() throws {
        let yaml = """
        parameters: {N: 5}
        agents:
          states: [x]
          initial:
            x: uniform(1, 2)
        policy: {u: {own: [x], distribution: [x], transform: x * sigmoid(net)}}
        transition: {x: x - u + 1}
        equations: {e: u - 0.5 * x}
        simulate: {u: 0.5 * x}
        """
        let m = try ModelCompiler.compile(try ModelFile.parse(yaml: yaml, path: "t.yaml"))
        XCTAssertTrue(m.controls[0].perAgent)
        var g = SeededGenerator(seed: 4)
        let economy = ModelEconomy<Double>(model: m, architecture: smallArchitecture(.identity), generator: &g)
        let policy = economy.makePolicy(generator: &g)
        let X = Tensor<Double>(shape: [2, 5], scalars: (0..<10).map { _ in g.uniform(1, 2) })
        let u = economy.controlValues(X, policy: policy)
        let net = policy.networks[0]
        let raw = withoutGradients { net.policy(own: Variable(X.reshaped([2, 5, 1])), pooled: net.pooled(Variable(X))).value }
        for i in 0..<10 { XCTAssertEqual(u.pointer[i], X.pointer[i] / (1 + Foundation.exp(-raw.pointer[i])), accuracy: 1e-14) }
    }

    func testCompilationIsFast() throws {
        let text = try String(contentsOf: modelsFolder.appendingPathComponent("investment.yaml"), encoding: .utf8)
        let start = Date()
        for _ in 0..<10 { _ = try ModelCompiler.compile(try ModelFile.parse(yaml: text)) }
        // a figure, not a bar: printed for the record
        print("compile investment.yaml: \(String(format: "%.2f", Date().timeIntervalSince(start) * 100)) ms per compile")
    }

    func testSHA256OfKnownVectors() {
        XCTAssertEqual(sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha256Hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256Hex(Array(String(repeating: "a", count: 1000).utf8)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
