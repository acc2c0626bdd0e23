import XCTest
import SymmetricNumerics
import SymmetricNetworks

final class NetworkTests: XCTestCase {
    func arch(_ phi: PhiKind, rhoLayers: Int = 4, rhoHidden: Int = 128, phiLayers: Int = 2, bias: Bool = false) -> SymmetricArchitecture {
        var a = SymmetricArchitecture()
        a.phi = phi; a.rhoLayers = rhoLayers; a.rhoHidden = rhoHidden; a.phiLayers = phiLayers; a.bias = bias
        return a
    }

    func testParameterCountsWithoutBiasesEqualThePapers() {
        // Paper Table 1/2 and slides: parameters counted without biases.
        var g = SeededGenerator(seed: 1)
        XCTAssertEqual(SymmetricNetwork<Float>(arch(.identity), generator: &g).parameterCount, 49_408)
        XCTAssertEqual(SymmetricNetwork<Float>(arch(.moments), generator: &g).parameterCount, 49_792)
        XCTAssertEqual(SymmetricNetwork<Float>(arch(.deepset), generator: &g).parameterCount, 66_816)
        XCTAssertEqual(SymmetricNetwork<Float>(arch(.identity, rhoHidden: 64), generator: &g).parameterCount, 12_416)
        XCTAssertEqual(SymmetricNetwork<Float>(arch(.deepset, rhoLayers: 2, phiLayers: 1), generator: &g).parameterCount, 17_664)
    }

    func testPermutingAgentsLeavesTheOutputUnchanged() {
        var g = SeededGenerator(seed: 2)
        for phi in PhiKind.allCases {
            var a = arch(phi, rhoHidden: 32, bias: true); a.phiHidden = 32
            for d in [1, 2] {
                let net = SymmetricNetwork<Float>(a, agentDimension: d, ownStateDimension: 1, generator: &g)
                let batch = 5, n = 17
                let X = Tensor<Float>.randomNormal(shape: d == 1 ? [batch, n] : [batch, n, d], mean: 1, std: 0.3, using: &g)
                let x = Tensor<Float>.randomNormal(shape: [batch], using: &g)
                var perm = Array(0..<n); perm.seededShuffle(using: &g)
                // permute agents inside every set (jointly over the d coordinates)
                let permuted = Tensor<Float>(uninitializedShape: X.shape)
                for b in 0..<batch { for i in 0..<n { for k in 0..<d {
                    permuted.pointer[(b * n + i) * d + k] = X.pointer[(b * n + perm[i]) * d + k]
                } } }
                let u1 = withoutGradients { net(Variable(X), own: Variable(x)).value }
                let u2 = withoutGradients { net(Variable(permuted), own: Variable(x)).value }
                for i in 0..<batch { XCTAssertEqual(u1.pointer[i], u2.pointer[i], accuracy: 1e-5, "\(phi), d=\(d)") }
                if d == 2 && phi == .deepset {
                    // permuting x's and y's separately is NOT a symmetry of a Deep Set (coordinate-wise
                    // identity/moments pooling cannot tell, by construction: it has no cross moments)
                    let mixed = X.copy()
                    for b in 0..<batch { for i in 0..<n { mixed.pointer[(b * n + i) * 2] = X.pointer[(b * n + perm[i]) * 2] } }
                    let u3 = withoutGradients { net(Variable(mixed), own: Variable(x)).value }
                    XCTAssertGreaterThan((0..<batch).map { abs(u3.pointer[$0] - u1.pointer[$0]) }.max()!, 1e-6, "\(phi)")
                }
            }
        }
    }

    /// Mean pooling keeps u = ρ(mean_i φ(X_i)) bounded as N grows, with bounds derived, not picked:
    /// the pooled mean z_N lies in the box spanned by the φ(X_i) (a mean is a convex combination),
    /// whatever N; ρ is Lipschitz with constant at most Λ = Π_l ‖W_l‖_F (ReLU is 1-Lipschitz and the
    /// Frobenius norm bounds the spectral norm), so |u_N − u_M| ≤ Λ‖z_N − z_M‖; and for i.i.d. agents
    /// E‖z_N − z_M‖² = tr Cov φ (1/N + 1/M) (independent draws), so by Chebyshev
    /// ‖z_N − z_M‖ ≤ 10 √(tr Cov φ (1/N + 1/M)) except with probability ≤ 1 %.
    func testMeanPoolingKeepsOutputsBoundedAsNGrows() throws {
        var g = SeededGenerator(seed: 3)
        let net = SymmetricNetwork<Double>(arch(.deepset, rhoHidden: 32, bias: true), generator: &g)
        let phi = try XCTUnwrap(net.phiNet)
        let lipschitz = net.rho.layers.map { layer -> Double in
            (0..<layer.weight.value.count).reduce(0.0) { $0 + layer.weight.value.pointer[$1] * layer.weight.value.pointer[$1] }.squareRoot()
        }.reduce(1, *)
        let L = net.latentSize
        var outputs: [Double] = [], pooled: [[Double]] = []
        var lo = [Double](repeating: .infinity, count: L), hi = [Double](repeating: -.infinity, count: L)
        var traceCov = 0.0
        for n in [16, 256, 4096] {
            let X = Tensor<Double>.randomNormal(shape: [1, n], mean: 0.9, std: 0.05, using: &g)
            let (u, z, features) = withoutGradients {
                (net(Variable(X)).value.scalar, net.pooled(Variable(X)).value, phi(Variable(X.reshaped([n, 1]))).value)
            }
            outputs.append(u)
            pooled.append((0..<L).map { z.pointer[$0] })
            // the box the φ(X_i) span, and z inside it
            var mean = [Double](repeating: 0, count: L), square = [Double](repeating: 0, count: L)
            var loN = [Double](repeating: .infinity, count: L), hiN = [Double](repeating: -.infinity, count: L)
            for i in 0..<n { for k in 0..<L {
                let f = features.pointer[i * L + k]
                loN[k] = min(loN[k], f); hiN[k] = max(hiN[k], f)
                mean[k] += f / Double(n); square[k] += f * f / Double(n)
            } }
            for k in 0..<L {
                XCTAssertEqual(z.pointer[k], mean[k], accuracy: 1e-9, "the fused pooling is the mean of φ")
                XCTAssertTrue(z.pointer[k] >= loN[k] - 1e-12 && z.pointer[k] <= hiN[k] + 1e-12, "N = \(n): z is a convex combination of the φ(X_i)")
                lo[k] = min(lo[k], loN[k]); hi[k] = max(hi[k], hiN[k])
            }
            if n == 4096 { traceCov = (0..<L).reduce(0) { $0 + square[$1] - mean[$1] * mean[$1] } }
        }
        func distance(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
        // concentration of the pooled mean, then of the output through ρ's Lipschitz constant
        let zBound = 10 * (traceCov * (1.0 / 256 + 1.0 / 4096)).squareRoot()
        XCTAssertLessThanOrEqual(distance(pooled[1], pooled[2]), zBound)
        XCTAssertLessThanOrEqual(abs(outputs[1] - outputs[2]), lipschitz * distance(pooled[1], pooled[2]) + 1e-12)
        XCTAssertLessThanOrEqual(abs(outputs[1] - outputs[2]), lipschitz * zBound)
        // bounded whatever N: every output within Λ · (diameter of the box) of the first
        let diameter = distance(lo, hi)
        for u in outputs { XCTAssertLessThanOrEqual(abs(u - outputs[0]), lipschitz * diameter + 1e-12) }
    }

    func testDenseLayerGradientsMatchFiniteDifferences() {
        var g = SeededGenerator(seed: 4)
        for activation in Activation.allCases {
            for inSize in [1, 3] {
                let layer = Dense<Double>(inputSize: inSize, outputSize: 4, bias: true, activation: activation, generator: &g)
                let x = Tensor<Double>.randomNormal(shape: [5, inSize], using: &g)
                let weights = Tensor<Double>.randomNormal(shape: [5, 4], using: &g)
                let xv = Variable(x, requiresGrad: true)
                layer(xv).backward(seed: weights)
                let h = 1e-6
                func loss(_ xt: Tensor<Double>) -> Double { withoutGradients { (layer(Variable(xt)).value * weights).sumAll() } }
                for i in 0..<x.count {
                    let p = x.copy(), m = x.copy(); p.pointer[i] += h; m.pointer[i] -= h
                    XCTAssertEqual(xv.grad!.pointer[i], (loss(p) - loss(m)) / (2 * h), accuracy: 1e-6, "\(activation)")
                }
                for param in layer.parameters {
                    for i in 0..<param.value.count {
                        let saved = param.value.pointer[i]
                        param.value.pointer[i] = saved + h; let lp = loss(x)
                        param.value.pointer[i] = saved - h; let lm = loss(x)
                        param.value.pointer[i] = saved
                        XCTAssertEqual(param.grad!.pointer[i], (lp - lm) / (2 * h), accuracy: 1e-6, "\(activation)")
                    }
                }
            }
        }
    }

    /// The fused dense op against its reference composition, `affine` then the activation as
    /// separate ops: same values and same gradients (x, W, b).
    func testFusedDenseMatchesTheUnfusedOps() {
        var g = SeededGenerator(seed: 8)
        for activation in Activation.allCases {
            for inSize in [1, 5] {
                let layer = Dense<Double>(inputSize: inSize, outputSize: 6, bias: true, activation: activation, generator: &g)
                let x = Tensor<Double>.randomNormal(shape: [7, inSize], using: &g)
                let seed = Tensor<Double>.randomNormal(shape: [7, 6], using: &g)
                func run(_ fused: Bool) -> [Double] {
                    for p in layer.parameters { p.zeroGrad() }
                    let xv = Variable(x, requiresGrad: true)
                    let pre = Variable.affine(xv, weight: layer.weight, bias: layer.bias)
                    let reference: Variable<Double>
                    switch activation {
                    case .relu: reference = pre.relu()
                    case .tanh: reference = pre.tanh()
                    case .sigmoid: reference = pre.sigmoid()
                    case .softplus: reference = pre.softplus()
                    case .identity: reference = pre
                    }
                    let y = fused ? layer(xv) : reference
                    y.backward(seed: seed)
                    return y.value.scalars + xv.grad!.scalars + layer.parameters.flatMap { $0.grad!.scalars }
                }
                let a = run(true), b = run(false)
                XCTAssertEqual(a.count, b.count)
                for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-12 * max(1, abs(v)), "\(activation), in \(inSize)") }
            }
        }
    }

    func testSymmetricNetworkInputGradientMatchesFiniteDifferences() {
        var g = SeededGenerator(seed: 5)
        for phi in PhiKind.allCases {
            var a = arch(phi, rhoLayers: 2, rhoHidden: 8, phiLayers: 1, bias: true); a.phiHidden = 8; a.activation = .tanh
            let net = SymmetricNetwork<Double>(a, ownStateDimension: 1, generator: &g)
            let X = Tensor<Double>.randomNormal(shape: [3, 6], mean: 0.9, std: 0.1, using: &g)
            let x = Tensor<Double>.randomNormal(shape: [3], using: &g)
            let Xv = Variable(X, requiresGrad: true), xv = Variable(x, requiresGrad: true)
            net(Xv, own: xv).sumAll().backward()
            func loss(_ Xt: Tensor<Double>, _ xt: Tensor<Double>) -> Double { withoutGradients { net(Variable(Xt), own: Variable(xt)).value.sumAll() } }
            let h = 1e-6
            for i in 0..<X.count {
                let p = X.copy(), m = X.copy(); p.pointer[i] += h; m.pointer[i] -= h
                XCTAssertEqual(Xv.grad!.pointer[i], (loss(p, x) - loss(m, x)) / (2 * h), accuracy: 1e-7, "\(phi)")
            }
            for i in 0..<x.count {
                let p = x.copy(), m = x.copy(); p.pointer[i] += h; m.pointer[i] -= h
                XCTAssertEqual(xv.grad!.pointer[i], (loss(X, p) - loss(X, m)) / (2 * h), accuracy: 1e-7, "\(phi)")
            }
        }
    }

    func testPyTorchDefaultInitialisationBounds() {
        var g = SeededGenerator(seed: 6)
        let layer = Dense<Double>(inputSize: 64, outputSize: 128, generator: &g)
        let bound = 1 / 8.0
        XCTAssertTrue(layer.weight.value.scalars.allSatisfy { abs($0) <= bound })
        XCTAssertTrue(layer.bias!.value.scalars.allSatisfy { abs($0) <= bound })
        // U(−b, b) has variance b²/3
        let w = layer.weight.value.scalars
        let variance = w.map { $0 * $0 }.reduce(0, +) / Double(w.count)
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.1 * bound * bound / 3)
    }

    func testAdamFollowsPyTorchUpdateRule() {
        // Step 1: m̂ = g, v̂ = g², so p ← p − lr·g/(|g| + ε). Step 2 with the same g: identical move.
        let p = Variable(Tensor<Double>(shape: [3], scalars: [1, -2, 0.5]), requiresGrad: true)
        let adam = Adam(parameters: [p], learningRate: 0.1)
        let g = [0.3, -4.0, 1e-3]
        for step in 1...2 {
            p.grad = Tensor(shape: [3], scalars: g)
            adam.update()
            for i in 0..<3 {
                let start = [1, -2, 0.5][i]
                let move = 0.1 * g[i] / (abs(g[i]) + 1e-8 * (1 - 0)) // ε enters after bias correction
                XCTAssertEqual(p.value.pointer[i], start - Double(step) * move, accuracy: 1e-9)
            }
        }
        // Step 2 with a different gradient, against the textbook formula written out.
        let q = Variable(Tensor<Double>(shape: [1], scalars: [0]), requiresGrad: true)
        let opt = Adam(parameters: [q], learningRate: 0.01)
        q.grad = Tensor(shape: [1], scalars: [2]); opt.update()
        q.grad = Tensor(shape: [1], scalars: [-1]); opt.update()
        let m = 0.9 * (0.1 * 2) + 0.1 * -1, v = 0.999 * (0.001 * 4) + 0.001 * 1
        let expected = -0.01 * 1.0 - 0.01 / (1 - 0.81) * m / ((v / (1 - 0.999 * 0.999)).squareRoot() + 1e-8)
        XCTAssertEqual(q.value.scalar, expected, accuracy: 1e-10)
    }

    func testStepLRDecaysEveryStepSizeEpochs() {
        let s = StepLR(initialRate: 1e-3, stepSize: 100, gamma: 0.1)
        XCTAssertEqual(s.rate(epoch: 0), 1e-3)
        XCTAssertEqual(s.rate(epoch: 99), 1e-3)
        XCTAssertEqual(s.rate(epoch: 100), 1e-4, accuracy: 1e-18)
        XCTAssertEqual(s.rate(epoch: 250), 1e-5, accuracy: 1e-18)
    }
}

final class BroadcastRowsTests: XCTestCase {
    func testBroadcastRowsMatchesFiniteDifferences() {
        var g = SeededGenerator(seed: 31)
        let z = Tensor<Double>.randomNormal(shape: [3, 2], using: &g)
        let w = Tensor<Double>.randomNormal(shape: [3, 4, 2], using: &g)
        let v = Variable(z, requiresGrad: true)
        (v.broadcastRows(4) * Variable(w)).sumAll().backward()
        // ∂/∂z[r, l] = Σ_f w[r, f, l]
        for r in 0..<3 { for l in 0..<2 {
            let expected = (0..<4).map { w[r, $0, l] }.reduce(0, +)
            XCTAssertEqual(v.grad![r, l], expected, accuracy: 1e-12)
        } }
    }
}
