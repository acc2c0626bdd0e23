import XCTest
import SymmetricNumerics

/// Every differentiable op's backward rule matches central finite differences in Float64.
final class AutodiffTests: XCTestCase {
    func testAddSubMulDivWithBroadcastingMatchFiniteDifferences() {
        let a = randomTensor([2, 3, 4], seed: 1), b = randomTensor([3, 1], seed: 2, low: 0.5, high: 2)
        checkGradients([a, b]) { $0[0] + $0[1] }
        checkGradients([a, b]) { $0[0] - $0[1] }
        checkGradients([a, b]) { $0[0] * $0[1] }
        checkGradients([a, b]) { $0[0] / $0[1] }
        let c = randomTensor([4], seed: 3)
        checkGradients([a, c]) { $0[0] * $0[1] + $0[1] }
        checkGradients([randomTensor([], seed: 4), a]) { $0[0] * $0[1] }
    }

    func testScalarOpsAndNegation() {
        let a = randomTensor([3, 2], seed: 5)
        checkGradients([a]) { -($0[0] * 3.0 + 2.0) / 4.0 - 1.0 }
        checkGradients([a]) { 2.0 - $0[0] }
    }

    func testElementwiseFunctionsMatchFiniteDifferences() {
        let a = randomTensor([4, 5], seed: 6, low: -2, high: 2)
        let positive = randomTensor([4, 5], seed: 7, low: 0.3, high: 2)
        checkGradients([positive]) { $0[0].pow(1.5) }
        checkGradients([positive]) { $0[0].pow(-0.7) }
        checkGradients([a]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([a]) { $0[0].relu() }
        checkGradients([a]) { $0[0].softplus() }
        checkGradients([a]) { $0[0].tanh() }
        checkGradients([a]) { $0[0].sigmoid() }
        checkGradients([a]) { $0[0].squared() }
    }

    func testReductionsMatchFiniteDifferences() {
        let a = randomTensor([2, 3, 4], seed: 8)
        for axis in 0..<3 {
            checkGradients([a]) { $0[0].sum(axis: axis) }
            checkGradients([a]) { $0[0].mean(axis: axis, keepingDims: true) }
        }
        checkGradients([a]) { $0[0].sumAll() }
        checkGradients([a]) { $0[0].meanAll() }
    }

    func testShapeOpsMatchFiniteDifferences() {
        let a = randomTensor([3, 4], seed: 9), b = randomTensor([3, 2], seed: 10)
        checkGradients([a]) { $0[0].reshaped([2, 6]) * $0[0].reshaped([2, 6]) }
        checkGradients([a, b]) { Variable.concat([$0[0], $0[1]], axis: 1).squared() }
        checkGradients([a, a]) { Variable.concat([$0[0], $0[1]], axis: 0).squared() }
        checkGradients([a]) { $0[0].slice(axis: 1, 1..<3).squared() }
        checkGradients([a]) { $0[0].gather([2, 0, 2]).squared() }
    }

    func testMatrixProductsInAllTranspositionsMatchFiniteDifferences() {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randomTensor(ta ? [4, 3] : [3, 4], seed: 11), b = randomTensor(tb ? [5, 4] : [4, 5], seed: 12)
                checkGradients([a, b]) { Variable.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            }
        }
        let x = randomTensor([6, 3], seed: 13), w = randomTensor([2, 3], seed: 14), bias = randomTensor([2], seed: 15)
        checkGradients([x, w, bias]) { Variable.affine($0[0], weight: $0[1], bias: $0[2]) }
        checkGradients([x, w]) { Variable.affine($0[0], weight: $0[1], bias: nil) }
    }

    func testGradientFlowsThroughAReusedNode() {
        // u depends on x twice (like X' depending on u(X)): gradients accumulate.
        let a = randomTensor([3], seed: 16)
        checkGradients([a]) { v in let y = v[0].tanh(); return y * y + y.exp() }
    }

    func testNoGradientPathRecordsNothing() {
        let p = Variable(randomTensor([3], seed: 17), requiresGrad: true)
        let y = withoutGradients { (p * p).exp() }
        XCTAssertFalse(y.requiresGrad)
        y.backward()
        XCTAssertNil(p.grad)
    }

    func testFloatMatchesDoubleForward() {
        let a = randomTensor([5, 7], seed: 18), b = randomTensor([7, 3], seed: 19)
        let d = Tensor.matmul(a, b)
        let f = Tensor.matmul(a.cast(to: Float.self), b.cast(to: Float.self))
        for i in 0..<d.count { XCTAssertEqual(Double(f.pointer[i]), d.pointer[i], accuracy: 1e-5) }
    }
}

final class MoreOpsTests: XCTestCase {
    func testGatherAlongAxisOneMatchesFiniteDifferences() {
        let a = randomTensor([2, 4, 3], seed: 21)
        checkGradients([a]) { $0[0].gather(axis1: [3, 0, 3, 1]).squared() }
        checkGradients([randomTensor([3, 5], seed: 22)]) { $0[0].gather(axis1: [4, 4, 2]).squared() }
    }

    func testClampedMatchesFiniteDifferences() {
        let a = randomTensor([4, 5], seed: 23, low: -1, high: 1)
        checkGradients([a]) { $0[0].clamped(min: 0.1).pow(-0.3) }
    }
}
