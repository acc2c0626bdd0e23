import XCTest
import SymmetricNumerics
import SymmetricNetworks
import SymmetricTraining

/// Equilibrium selection by default (issue 10): ρ starts flat, the implicit-bias argument for the
/// stable root; docs/equilibrium-selection.md has the measurements.
final class EquilibriumSelectionTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-selection" }

    func testAFlatStartGivesAConstantPolicyAtInitialisation() {
        var a = SymmetricArchitecture()
        a.rhoOutputScale = 0
        var g = SeededGenerator(seed: 1)
        let net = SymmetricNetwork<Double>(a, generator: &g)
        let X = Tensor<Double>.randomNormal(shape: [4, 16], mean: 0.9, std: 0.3, using: &g)
        let u = withoutGradients { net(Variable(X)).value.scalars }
        for v in u { XCTAssertEqual(v, net.rho.layers.last!.bias!.value.scalars[0], accuracy: 1e-15) }
        var c = RunConfig()
        XCTAssertNil(c.network.rhoOutputScale, "a run's default: by architecture")
        c.network.phi = .moments
        XCTAssertEqual(c.network.resolvedRhoOutputScale, 0, "flat for φ(Moments)")
        c.network.phi = .deepset
        XCTAssertEqual(c.network.resolvedRhoOutputScale, 1, "PyTorch's for Deep Sets")
    }

    /// The case that used to fail on every attempt with the PyTorch initialisation (test MSE 8.7e44):
    /// φ(Moments), ν = 1.5, seed 1, every other setting at its default.
    func testMomentsWithCurvedDemandReachesTheStationaryEquilibriumByDefault() throws {
        var c = RunConfig()
        try c.apply(override: "network.phi=moments")
        try c.apply(override: "model.nu=1.5")
        try c.apply(override: "seed=1")
        try c.validate()
        let progress = ProgressReporter(forceTerminal: false)
        progress.quiet = true
        let s = try SolveRunner.solve(config: c, folder: RunFolder(dir.appendingPathComponent("moments")), progress: progress)
        XCTAssertEqual(s.status, .solved)
        XCTAssertLessThanOrEqual(s.testMSE, 1e-5)
    }
}
