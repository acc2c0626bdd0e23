import XCTest
import SymmetricTraining

/// The own-path decisions, on their own: accept a passing solution, refine one that stays near
/// its path, restart an explosive one, give up when no restart is left.
final class OwnPathPolicyTests: XCTestCase {
    func check(passed: Bool, bounded: Bool, mse: Double = 1e-5) -> OwnPathCheck {
        OwnPathCheck(mse: mse, meanStateRange: [0.8, 0.9], allowedRange: [0.5, 1.2], passed: passed, bounded: bounded)
    }

    func testAPassingSolutionIsAccepted() {
        var p = OwnPathPolicy(maxRestarts: 2, maxRefinements: 1)
        XCTAssertEqual(p.atThreshold(check(passed: true, bounded: true)), .accept)
        XCTAssertEqual(p.attempt, 0)
    }

    func testABoundedButInaccurateSolutionIsRefinedThenRestarted() {
        var p = OwnPathPolicy(maxRestarts: 1, maxRefinements: 2)
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: true)), .refine)
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: true)), .refine)
        XCTAssertEqual(p.refinements, 2)
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: true)), .restart, "refinements used up")
        XCTAssertEqual(p.attempt, 1)
        XCTAssertEqual(p.refinements, 0, "a new attempt has its own refinements")
    }

    func testAnExplosiveSolutionIsRestartedUntilNoRestartIsLeft() {
        var p = OwnPathPolicy(maxRestarts: 2, maxRefinements: 5)
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: false)), .restart)
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: true, mse: .nan)), .restart, "non-finite own-path MSE is not refined")
        XCTAssertEqual(p.atThreshold(check(passed: false, bounded: false)), .giveUp)
        XCTAssertEqual(p.attempt, 2)
    }

    func testTheScreenRestartsOnlyRunawayPathsAndSparesTheLastAttempt() {
        var p = OwnPathPolicy(maxRestarts: 1, maxRefinements: 1)
        XCTAssertEqual(p.atScreen(check(passed: false, bounded: true)), .carryOn)
        XCTAssertEqual(p.atScreen(check(passed: false, bounded: false)), .restart)
        XCTAssertEqual(p.atScreen(check(passed: false, bounded: false)), .carryOn, "the last attempt trains on to the threshold's check")
    }
}
