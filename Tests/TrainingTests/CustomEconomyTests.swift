import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricTraining

/// The documented way to add an economy works, and the page shows the code that is tested.
final class CustomEconomyTests: XCTestCase {
    func testTheWorkedExampleSolvesToTheClosedForm() throws {
        let dir = try temporaryFolder("symdp-custom", create: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try solveCongestionEconomy(folder: dir)
        XCTAssertEqual(summary.stopReason, StopReason.threshold)
        XCTAssertLessThan(summary.testMSE, 1e-5, "issue 10's bar for a solved run's test MSE")
        // the congestion economy is the investment model with α0 = a, α1 = b: compare the fitted
        // policy with that closed form on aggregate states along the equilibrium path
        var m = InvestmentModel(); m.N = 64
        let exact = try LQEquilibrium(model: m)
        let file = try Safetensors.read(from: dir.appendingPathComponent("best.safetensors"))
        var arch = SymmetricArchitecture(); arch.phiHidden = 64
        var g = SeededGenerator(seed: 0)
        let net = SymmetricNetwork<Float>(arch, generator: &g)
        for (name, p) in net.namedParameters {
            let t: Tensor<Float> = try XCTUnwrap(file.tensors[name]).tensor()
            p.value.pointer.update(from: t.pointer, count: t.count)
        }
        for mean in stride(from: 0.7, through: 0.9, by: 0.05) {
            let u = Double(withoutGradients { net(Variable(Tensor<Float>(shape: [1, 64], repeating: Float(mean)))).value.scalar })
            let target = exact.policy(meanX: mean)
            XCTAssertEqual(u, target, accuracy: 0.005 * abs(target), "mean X = \(mean)")
        }
    }

    func testTheDocumentationShowsTheTestedCode() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: here.appendingPathComponent("CustomEconomyExample.swift"), encoding: .utf8)
        let page = try String(contentsOf: here.appendingPathComponent("../../docs/custom-economy.md").standardized, encoding: .utf8)
        let begin = source.range(of: "// BEGIN EXAMPLE\n")!, end = source.range(of: "// END EXAMPLE")!
        let code = String(source[begin.upperBound..<end.lowerBound])
        XCTAssertTrue(page.contains(code), "docs/custom-economy.md must contain the example exactly as compiled here")
    }
}
