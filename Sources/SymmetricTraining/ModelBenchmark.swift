import Foundation
import SymmetricNumerics
import SymmetricNetworks
import SymmetricEconomics
import SymmetricModels

/// The compiled model file against the hand-written `InvestmentEconomy` (the speed baseline):
/// training steps on the same data, batch and weights, timed in alternating rounds in one
/// process so that both see the same machine.
public struct ModelFileBenchmark {
    public var config: RunConfig
    public var steps = 20
    public var rounds = 5
    public init(config: RunConfig) { self.config = config }

    public struct Report: Sendable {
        public let model: String
        public let N: Int
        /// Median over rounds of the seconds per training step.
        public let compiledSecondsPerStep: Double
        public let handWrittenSecondsPerStep: Double
        /// Epoch speed of the compiled model relative to the hand-written one (1 = equal).
        public var speedRatio: Double { handWrittenSecondsPerStep / compiledSecondsPerStep }
        public let compileMilliseconds: Double
        /// One validation pass (Euler residuals and policy errors on the validation data), seconds.
        public let compiledValidationSeconds: Double
        public let handWrittenValidationSeconds: Double
    }

    /// Runs the comparison; the hand-written economy gets the model file's parameter values of the
    /// same names (N, beta, gamma, delta, sigma, eta, nu, zeta, mu, alpha_0, alpha_1).
    public func run() throws -> Report {
        setBlasThreads(1)
        if config.trainer.threads > 0 { Parallelism.threads = config.trainer.threads }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let compiled = try config.compiledModel()
        let compileMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        var c = config
        func value(_ name: String, _ keep: Double) -> Double { compiled.value(of: name) ?? keep }
        c.model.N = compiled.N
        c.model.beta = value("beta", c.model.beta); c.model.gamma = value("gamma", c.model.gamma)
        c.model.delta = value("delta", c.model.delta); c.model.sigma = value("sigma", c.model.sigma)
        c.model.eta = value("eta", c.model.eta); c.model.nu = value("nu", c.model.nu); c.model.zeta = value("zeta", c.model.zeta)
        c.model.mu = value("mu", c.model.mu)
        c.model.alpha0 = value("alpha_0", c.model.alpha0); c.model.alpha1 = value("alpha_1", c.model.alpha1)
        c.method.poolSample = 0   // the same work for both: exact pooling
        let e = c.method.expectation
        let fileSolver = try Solver<ModelEconomy<Float>>(config: c) { g in
            ModelEconomy<Float>(model: compiled, architecture: c.network, expectation: e, generator: &g)
        }
        var builtin = c
        builtin.modelFile = nil
        let handSolver = try Solver<InvestmentEconomy<Float>>(config: builtin) { g in
            try InvestmentEconomy<Float>(model: builtin.model, architecture: builtin.network, expectation: e,
                                         initialLoc: value("x0_loc", c.method.X0Loc), initialScale: value("x0_scale", c.method.X0Scale), generator: &g)
        }
        let batch = Array(0..<min(c.method.batchSize == 0 ? 32 : c.method.batchSize, fileSolver.trainX.shape[0]))
        func time<E>(_ s: Solver<E>) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for k in 0..<steps { _ = s.trainStep(batch, subsample: UInt64(k), pool: UInt64(k), nextPolicyGradient: s.nextPolicyGradient) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
        }
        _ = time(fileSolver); _ = time(handSolver)   // warm-up
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<rounds { a.append(time(fileSolver)); b.append(time(handSolver)) }
        a.sort(); b.sort()
        func validation<E>(_ s: Solver<E>) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = s.mse(s.valX); _ = s.policyRelError(s.valX)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var va: [Double] = [], vb: [Double] = []
        for _ in 0..<3 { va.append(validation(fileSolver)); vb.append(validation(handSolver)) }
        va.sort(); vb.sort()
        return Report(model: compiled.file.name, N: compiled.N, compiledSecondsPerStep: a[a.count / 2],
                      handWrittenSecondsPerStep: b[b.count / 2], compileMilliseconds: compileMs,
                      compiledValidationSeconds: va[1], handWrittenValidationSeconds: vb[1])
    }
}
