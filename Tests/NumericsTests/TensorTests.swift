import XCTest
import SymmetricNumerics

final class TensorTests: XCTestCase {
    func testGemmMatchesNaiveProduct() {
        let a = randomTensor([4, 6], seed: 1), b = randomTensor([6, 3], seed: 2)
        let c = Tensor.matmul(a, b)
        for i in 0..<4 { for j in 0..<3 {
            var s = 0.0
            for k in 0..<6 { s += a[i, k] * b[k, j] }
            XCTAssertEqual(c[i, j], s, accuracy: 1e-12)
        } }
        let ct = Tensor.matmul(b, a, transposeA: true, transposeB: true)  // (a·b)ᵀ
        for i in 0..<4 { for j in 0..<3 { XCTAssertEqual(ct[j, i], c[i, j], accuracy: 1e-12) } }
    }

    func testBroadcastingFollowsNumPyRules() {
        let a = Tensor<Double>(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor<Double>(shape: [2, 1], scalars: [10, 20])
        let c = a + b
        XCTAssertEqual(c.shape, [2, 2, 3])
        XCTAssertEqual(c.scalars, [11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26])
        let rowSums: [Double] = [11 + 12 + 13 + 14 + 15 + 16, 21 + 22 + 23 + 24 + 25 + 26]
        XCTAssertEqual(c.sumToShape([2, 1]).scalars, rowSums)
    }

    func testReductionsConcatSliceGather() {
        let a = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(a.sum(axis: 0).scalars, [5, 7, 9])
        XCTAssertEqual(a.mean(axis: 1).scalars, [2, 5])
        XCTAssertEqual(Tensor.concat([a, a], axis: 1).shape, [2, 6])
        XCTAssertEqual(a.slice(axis: 1, 1..<3).scalars, [2, 3, 5, 6])
        XCTAssertEqual(a.gather([1, 1, 0]).scalars, [4, 5, 6, 4, 5, 6, 1, 2, 3])
        XCTAssertEqual(a.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(a.reshaped([3, -1]).shape, [3, 2])
    }

    func testSeededGeneratorIsReproducibleAndStandardNormal() {
        var g1 = SeededGenerator(seed: 7), g2 = SeededGenerator(seed: 7)
        let x = (0..<5).map { _ in g1.normal() }, y = (0..<5).map { _ in g2.normal() }
        XCTAssertEqual(x, y)
        var g = SeededGenerator(seed: 8)
        let n = 200_000
        let draws = (0..<n).map { _ in g.normal() }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 4 / Double(n).squareRoot())          // 4 standard errors
        XCTAssertEqual(variance, 1, accuracy: 4 * 2.0.squareRoot() / Double(n).squareRoot())
        let u = (0..<n).map { _ in g.uniform() }
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0, +) / Double(n), 0.5, accuracy: 0.01)
    }

    func testGaussHermiteIntegratesNormalMomentsExactly() {
        // E[Z^2k] = (2k−1)!! for a standard normal; an n-node rule is exact to degree 2n−1.
        let rule = GaussHermite(nodes: 7)
        func moment(_ p: Int) -> Double { zip(rule.nodes, rule.weights).map { $1 * Foundation.pow($0, Double(p)) }.reduce(0, +) }
        XCTAssertEqual(rule.weights.reduce(0, +), 1, accuracy: 1e-13)
        XCTAssertEqual(moment(1), 0, accuracy: 1e-13)
        XCTAssertEqual(moment(2), 1, accuracy: 1e-12)
        XCTAssertEqual(moment(4), 3, accuracy: 1e-11)
        XCTAssertEqual(moment(6), 15, accuracy: 1e-10)
        XCTAssertEqual(moment(12), 10395, accuracy: 1e-6)
        // n = 3: nodes 0, ±√3 with weights 2/3, 1/6.
        let three = GaussHermite(nodes: 3)
        XCTAssertEqual(three.nodes[2], 3.0.squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(three.weights[1], 2.0 / 3.0, accuracy: 1e-14)
        XCTAssertEqual(GaussHermite(nodes: 1).nodes, [0])
        let product = GaussHermite.product(nodes: 3, dimensions: 2)
        XCTAssertEqual(product.points.count, 9)
        XCTAssertEqual(product.weights.reduce(0, +), 1, accuracy: 1e-14)
    }

    func testBufferPoolReusesMemoryAcrossIdenticalSteps() {
        func step() { let a = Tensor<Float>(zeros: [512, 64]); _ = Tensor.matmul(a, a, transposeB: true) }
        step()
        let before = BufferPool.shared.systemAllocations
        for _ in 0..<20 { step() }
        XCTAssertEqual(BufferPool.shared.systemAllocations, before, "repeated steps must not allocate fresh buffers")
    }
}
