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
    /// Fresh sets on which the mean relative error is measured.
    public var testPoints = 1000
    public var hidden = 64
    public var phiLayers = 2
    public var rhoLayers = 2
    public var mlpLayers = 3
    public var steps = 3000
    public var learningRate = 1e-3
    public var seed: UInt64 = 1

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

    /// Fits one model and returns its mean relative error on fresh data.
    public func run(N: Int, L: Int?) -> Result {
        var g = SeededGenerator(seed: seed &+ UInt64(N) &* 1_000 &+ UInt64(L ?? 999))
        let Xtrain = sample(sets: trainPoints, agents: N, using: &g), ytrain = target(Xtrain)
        let Xtest = sample(sets: testPoints, agents: N, using: &g), ytest = target(Xtest)
        let model: (Variable<Float>) -> Variable<Float>
        let parameters: [Variable<Float>]
        if let L {
            var a = SymmetricArchitecture()
            a.phi = .deepset; a.L = L; a.phiLayers = phiLayers; a.phiHidden = hidden
            a.rhoLayers = rhoLayers; a.rhoHidden = hidden
            let net = SymmetricNetwork<Float>(a, generator: &g)
            model = { net($0) }
            parameters = net.parameters
        } else {
            let net = MLP<Float>(inputSize: N, hidden: hidden, hiddenLayers: mlpLayers, outputSize: 1, generator: &g)
            model = { net($0) }
            parameters = net.layers.flatMap(\.parameters)
        }
        let adam = Adam(parameters: parameters, learningRate: learningRate)
        let schedule = StepLR(initialRate: learningRate, stepSize: steps / 3, gamma: 0.3)
        let x = Variable(Xtrain), y = Variable(ytrain)
        for step in 0..<steps {
            adam.learningRate = schedule.rate(epoch: step)
            adam.zeroGrad()
            let loss = (model(x) - y).squared().meanAll()
            loss.backward()
            adam.update()
        }
        let prediction = withoutGradients { model(Variable(Xtest)).value }
        var err = 0.0
        for r in 0..<testPoints { err += abs(Double(prediction.pointer[r] - ytest.pointer[r]) / Double(ytest.pointer[r])) }
        return Result(N: N, L: L, relError: err / Double(testPoints))
    }
}
