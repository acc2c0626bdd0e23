import XCTest
import SymmetricNumerics
import SymmetricTraining

/// The slides' symmetric regression example (appendix, Table 1).
final class RegressionTests: XCTestCase {
    func testTargetIsTheGeneralisedMean() {
        let e = RegressionExperiment()
        let X = Tensor<Float>(shape: [1, 3], scalars: [1, 4, 9])
        // ((1 + 8 + 27) / 3)^(2/3) = 12^(2/3)
        XCTAssertEqual(Double(e.target(X).scalar), Foundation.pow(12.0, 2.0 / 3.0), accuracy: 1e-5)
    }

    func testDeepSetGeneralisesFromTenSetsAndBeatsThePlainMLP() {
        var e = RegressionExperiment()
        e.seeds = 1; e.steps = 1500
        let symmetric = e.run(N: 64, L: 4).relError, plain = e.run(N: 64, L: nil).relError
        XCTAssertLessThan(symmetric, 0.005, "slides: 0.27–0.33 % at N = 64")
        XCTAssertLessThan(symmetric, plain, "the plain MLP on the raw vector generalises worse (slides: 5.77 %)")
    }
}
