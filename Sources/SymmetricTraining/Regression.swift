import Foundation
import RealModule
import SymmetricNumerics
import SymmetricNetworks

/// The 2025 slides' symmetric regression example (appendix): learn
/// `y = f(X) = ((1/N) Σ_i x_i^ζ)^{1/ζ}` from M sets `X ~ N(a, σ²)ᴺ`, `a ~ U(a_min, a_max)`,
/// with a Deep Set `ρ(mean φ(X_i))` of latent width L, or with a plain MLP on the raw vector.
public struct RegressionExperiment: Sendable {
    public var zeta = 1.5, aMin = 1.0, aMax = 2.0, sigma = 0.2
    /// Training sets M.
    public var trainPoints = 10
    /// Sets for choosing the best weights during the fit (as the reference's early stopping).
    public var valPoints = 50
    /// Fresh sets on which the mean relative error is measured.
    public var testPoints = 1000
    /// Deep Set: φ 1 → 256 → L, ρ L → 128 → 128 → 1; plain MLP N → 256 ×3 → 1 (reference setup).
    public var phiHidden = 256
    public var phiLayers = 1
    public var rhoHidden = 128
    public var rhoLayers = 2
    public var mlpHidden = 256
    public var mlpLayers = 3
    public var steps = 3000
    /// Validation error is measured every this many steps.
    public var validateEvery = 25
    public var learningRate = 1e-3
    public var seed: UInt64 = 1
    /// Independent fits per (N, L) cell; the table reports their median.
    public var seeds = 3

    public init() {}

    /// One row of the slides' Table 1: N, L (nil = plain MLP "NONE"), mean relative test error.
    public struct Result: Codable, Sendable {
        public let N: Int
        public let L: Int?
        public let relError: Double
    }

    /// Target `f(X)` for sets stored row-wise in `X` [M, N].
    public func target(_ X: Tensor<Float>) -> Tensor<Float> {
        let m = X.shape[0], n = X.shape[1]
        let y = Tensor<Float>(uninitializedShape: [m, 1])
        for r in 0..<m {
            var s = 0.0
            for i in 0..<n { s += Double.pow(max(0, Double(X.pointer[r * n + i])), zeta) }
            y.pointer[r] = Float(Double.pow(s / Double(n), 1 / zeta))
        }
        return y
    }

    /// Draws M sets of N agents.
    public func sample(sets m: Int, agents n: Int, using g: inout SeededGenerator) -> Tensor<Float> {
        let X = Tensor<Float>(uninitializedShape: [m, n])
        for r in 0..<m {
            let a = g.uniform(aMin, aMax)
            for i in 0..<n { X.pointer[r * n + i] = Float(g.normal(mean: a, std: sigma)) }
        }
        return X
    }

    /// Median over `seeds` independent fits (fresh data and initialisation each) of the mean
    /// relative test error.
    public func run(N: Int, L: Int?) -> Result {
        let errors = (0..<max(1, seeds)).map { fit(N: N, L: L, replicate: $0) }.sorted()
        let mid = errors.count / 2
        let median = errors.count % 2 == 1 ? errors[mid] : (errors[mid - 1] + errors[mid]) / 2
        return Result(N: N, L: L, relError: median)
    }

    /// Fits one model and returns its mean relative error on fresh data.
    public func fit(N: Int, L: Int?, replicate: Int) -> Double {
        var g = SeededGenerator(seed: seed &+ UInt64(N) &* 1_000 &+ UInt64(L ?? 999) &+ UInt64(replicate) &* 1_000_003)
        let Xtrain = sample(sets: trainPoints, agents: N, using: &g), ytrain = target(Xtrain)
        let Xval = sample(sets: valPoints, agents: N, using: &g), yval = target(Xval)
        let Xtest = sample(sets: testPoints, agents: N, using: &g), ytest = target(Xtest)
        let model: (Variable<Float>) -> Variable<Float>
        let parameters: [Variable<Float>]
        if let L {
            var a = SymmetricArchitecture()
            a.phi = .deepset; a.L = L; a.phiLayers = phiLayers; a.phiHidden = phiHidden
            a.rhoLayers = rhoLayers; a.rhoHidden = rhoHidden
            let net = SymmetricNetwork<Float>(a, generator: &g)
            model = { net($0) }
            parameters = net.parameters
        } else {
            let net = MLP<Float>(inputSize: N, hidden: mlpHidden, hiddenLayers: mlpLayers, outputSize: 1, generator: &g)
            model = { net($0) }
            parameters = net.layers.flatMap(\.parameters)
        }
        let adam = Adam(parameters: parameters, learningRate: learningRate)
        let schedule = StepLR(initialRate: learningRate, stepSize: steps / 3, gamma: 0.3)
        let x = Variable(Xtrain), y = Variable(ytrain)
        func relError(_ X: Tensor<Float>, _ y: Tensor<Float>) -> Double {
            let prediction = withoutGradients { model(Variable(X)).value }
            var err = 0.0
            for r in 0..<X.shape[0] { err += abs(Double(prediction.pointer[r] - y.pointer[r]) / Double(y.pointer[r])) }
            return err / Double(X.shape[0])
        }
        var best = (error: Double.infinity, weights: parameters.map { $0.value.copy() })
        for step in 0..<steps {
            adam.learningRate = schedule.rate(epoch: step)
            adam.zeroGrad()
            let loss = (model(x) - y).squared().meanAll()
            loss.backward()
            adam.update()
            if (step + 1) % validateEvery == 0 || step == steps - 1 {
                let e = relError(Xval, yval)
                if e < best.error { best = (e, parameters.map { $0.value.copy() }) }
            }
        }
        for (p, w) in zip(parameters, best.weights) { p.value.pointer.update(from: w.pointer, count: w.count) }
        let err = relError(Xtest, ytest) * Double(testPoints)
        return err / Double(testPoints)
    }
}
