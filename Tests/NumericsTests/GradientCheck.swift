import XCTest
import SymmetricNumerics

/// Compares reverse-mode gradients with central finite differences in Float64.
/// The loss is `Σ out ⊙ R` with a fixed random R, so every output element is checked.
func checkGradients(_ inputs: [Tensor<Double>], tolerance: Double = 1e-6, step h: Double = 1e-6,
                    file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Variable<Double>]) -> Variable<Double>) {
    var g = SeededGenerator(seed: 99)
    let probeShape = f(inputs.map { Variable($0) }).shape
    let weights = Tensor<Double>.randomNormal(shape: probeShape, using: &g)
    func loss(_ xs: [Tensor<Double>]) -> Double {
        withoutGradients { (f(xs.map { Variable($0) }).value * weights).sumAll() }
    }
    let vars = inputs.map { Variable($0.copy(), requiresGrad: true) }
    let out = f(vars)
    out.backward(seed: weights)
    for (k, v) in vars.enumerated() {
        let analytic = v.grad ?? Tensor(zeros: v.shape)
        for i in 0..<inputs[k].count {
            var plus = inputs.map { $0.copy() }, minus = inputs.map { $0.copy() }
            plus[k].pointer[i] += h
            minus[k].pointer[i] -= h
            let numeric = (loss(plus) - loss(minus)) / (2 * h)
            let a = analytic.pointer[i]
            XCTAssertEqual(a, numeric, accuracy: tolerance * max(1, abs(numeric)),
                           "input \(k), element \(i): autodiff \(a) vs finite differences \(numeric)", file: file, line: line)
        }
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Tensor<Double> {
    var g = SeededGenerator(seed: seed)
    return Tensor.randomUniform(shape: shape, low: low, high: high, using: &g)
}
