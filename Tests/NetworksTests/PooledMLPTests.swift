import XCTest
import SymmetricNumerics
import SymmetricNetworks

/// The fused Deep Sets pooling op against the same network built from unfused ops, and its
/// gradients against central finite differences, on every code path (one or many lanes,
/// activations kept or recomputed, thin or BLAS first layer, with and without biases).
final class PooledMLPTests: XCTestCase {
    override func tearDown() {
        PooledMLPSettings.chunkRows = 512
        PooledMLPSettings.activationBudgetBytes = 256 << 20
        Parallelism.threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// `(1/n) Σ_i mlp(X_i)` from the generic ops (dense layers, reshape, mean).
    func reference(_ mlp: MLP<Double>, _ x: Variable<Double>, setSize n: Int) -> Variable<Double> {
        mlp(x).reshaped([x.shape[0] / n, n, mlp.outputSize]).mean(axis: 1)
    }

    func check(inputSize d: Int, activation: Activation, bias: Bool, chunkRows: Int, keep: Bool, threads: Int,
               file: StaticString = #filePath, line: UInt = #line) {
        PooledMLPSettings.chunkRows = chunkRows
        PooledMLPSettings.activationBudgetBytes = keep ? 1 << 30 : 0
        Parallelism.threads = threads
        var g = SeededGenerator(seed: UInt64(7 * d + chunkRows))
        let mlp = MLP<Double>(inputSize: d, hidden: 6, hiddenLayers: 2, outputSize: 3, bias: bias, activation: activation, generator: &g)
        let sets = 4, n = 9
        let X = Tensor<Double>.randomNormal(shape: [sets * n, d], mean: 0.3, std: 1, using: &g)
        let weights = Tensor<Double>.randomNormal(shape: [sets, 3], using: &g)

        // value: fused equals unfused
        let fused = withoutGradients { mlp.pooledMean(Variable(X), setSize: n).value }
        let plain = withoutGradients { reference(mlp, Variable(X), setSize: n).value }
        for i in 0..<fused.count { XCTAssertEqual(fused.pointer[i], plain.pointer[i], accuracy: 1e-12, file: file, line: line) }

        // gradients: input and every parameter against central differences
        let xv = Variable(X.copy(), requiresGrad: true)
        for p in mlp.layers.flatMap(\.parameters) { p.zeroGrad() }
        mlp.pooledMean(xv, setSize: n).backward(seed: weights)
        func loss(_ Xt: Tensor<Double>) -> Double { withoutGradients { (mlp.pooledMean(Variable(Xt), setSize: n).value * weights).sumAll() } }
        let h = 1e-6
        for i in 0..<X.count {
            let p = X.copy(), m = X.copy(); p.pointer[i] += h; m.pointer[i] -= h
            XCTAssertEqual(xv.grad!.pointer[i], (loss(p) - loss(m)) / (2 * h), accuracy: 1e-7, "∂/∂X[\(i)]", file: file, line: line)
        }
        for (k, param) in mlp.layers.flatMap(\.parameters).enumerated() {
            for i in 0..<param.value.count {
                let saved = param.value.pointer[i]
                param.value.pointer[i] = saved + h; let lp = loss(X)
                param.value.pointer[i] = saved - h; let lm = loss(X)
                param.value.pointer[i] = saved
                XCTAssertEqual(param.grad!.pointer[i], (lp - lm) / (2 * h), accuracy: 1e-7, "parameter \(k)[\(i)]", file: file, line: line)
            }
        }
    }

    /// Frozen parameters (`withFrozenParameters`, the next period's policy of a time-iteration
    /// step): the same values and the same input gradient, and no parameter gradient, on both the
    /// layer-by-layer path and the fused one.
    func testFrozenParametersKeepTheInputGradientAndGiveNoParameterGradient() {
        for (threads, rows) in [(1, 6), (2, 4 * PooledMLPSettings.parallelRowThreshold)] {
            Parallelism.threads = threads
            var g = SeededGenerator(seed: 3)
            let mlp = MLP<Double>(inputSize: 2, hidden: 5, hiddenLayers: 2, outputSize: 1, bias: true, activation: .tanh, generator: &g)
            let X = Tensor<Double>.randomNormal(shape: [rows, 2], using: &g)
            let seed = Tensor<Double>.randomNormal(shape: [rows, 1], using: &g)
            func run(frozen: Bool) -> (value: Tensor<Double>, input: Tensor<Double>, parameters: [Tensor<Double>?]) {
                for p in mlp.layers.flatMap(\.parameters) { p.zeroGrad() }
                let x = Variable(X.copy(), requiresGrad: true)
                let y = frozen ? withFrozenParameters { mlp(x) } : mlp(x)
                y.backward(seed: seed)
                return (y.value, x.grad!, mlp.layers.flatMap(\.parameters).map(\.grad))
            }
            let free = run(frozen: false), frozen = run(frozen: true)
            XCTAssertEqual(free.value.scalars, frozen.value.scalars, "rows \(rows)")
            for i in 0..<X.count { XCTAssertEqual(frozen.input.pointer[i], free.input.pointer[i], accuracy: 1e-12, "rows \(rows)") }
            XCTAssertTrue(free.parameters.allSatisfy { $0 != nil }, "rows \(rows)")
            XCTAssertTrue(frozen.parameters.allSatisfy { $0 == nil }, "rows \(rows)")
            XCTAssertTrue(parameterGradients, "restored after the block")
        }
    }

    func testFusedPoolingMatchesUnfusedOpsAndFiniteDifferences() {
        for activation in [Activation.relu, .tanh, .softplus] {
            check(inputSize: 1, activation: activation, bias: true, chunkRows: 512, keep: true, threads: 1)
            check(inputSize: 1, activation: activation, bias: true, chunkRows: 5, keep: false, threads: 2)
        }
        check(inputSize: 2, activation: .sigmoid, bias: false, chunkRows: 7, keep: true, threads: 2)
        check(inputSize: 6, activation: .tanh, bias: true, chunkRows: 4, keep: false, threads: 3)   // BLAS first layer
        check(inputSize: 6, activation: .relu, bias: false, chunkRows: 8, keep: true, threads: 2)
    }

    func testResultsDoNotDependOnTheNumberOfThreads() {
        // lanes are fixed by the problem size, so the reduction order is too: bitwise equal
        PooledMLPSettings.chunkRows = 16
        var g = SeededGenerator(seed: 11)
        let mlp = MLP<Float>(inputSize: 1, hidden: 32, hiddenLayers: 2, outputSize: 4, generator: &g)
        let X = Tensor<Float>.randomNormal(shape: [8 * 64, 1], using: &g)
        var outputs: [[Float]] = [], grads: [[Float]] = []
        for threads in [1, 2, 4] {
            Parallelism.threads = threads
            let xv = Variable(X, requiresGrad: true)
            let y = mlp.pooledMean(xv, setSize: 64)
            y.backward(seed: Tensor(shape: y.shape, repeating: 1))
            outputs.append(y.value.scalars)
            grads.append(xv.grad!.scalars + mlp.layers[1].weight.grad!.scalars)
            for p in mlp.layers.flatMap(\.parameters) { p.zeroGrad() }
        }
        XCTAssertEqual(outputs[0], outputs[1]); XCTAssertEqual(outputs[0], outputs[2])
        XCTAssertEqual(grads[0], grads[1]); XCTAssertEqual(grads[0], grads[2])
    }
}
