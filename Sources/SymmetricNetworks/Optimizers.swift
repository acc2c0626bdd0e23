import RealModule
import SymmetricNumerics

/// Adam with PyTorch's semantics (`torch.optim.Adam`, no weight decay, no amsgrad):
/// `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`,
/// `p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)`.
public final class Adam<T: TensorScalar> {
    public let parameters: [Variable<T>]
    public var learningRate: Double
    public let beta1: Double, beta2: Double, epsilon: Double
    public private(set) var step = 0
    var m: [Tensor<T>], v: [Tensor<T>]

    public init(parameters: [Variable<T>], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// One update from the gradients now held by the parameters (missing gradient = zero).
    public func update() {
        step += 1
        let bc1 = 1 - Double.pow(beta1, step), bc2 = 1 - Double.pow(beta2, step)
        let stepSize = T(learningRate / bc1), sqrtBc2 = T(bc2.squareRoot())
        let b1 = T(beta1), b2 = T(beta2), eps = T(epsilon)
        for (k, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            T.adamKernel(p.value.pointer, m[k].pointer, v[k].pointer, g.pointer, count: p.value.count,
                         beta1: b1, beta2: b2, step: stepSize, sqrtBiasCorrection2: sqrtBc2, epsilon: eps)
        }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Forgets the moment estimates and the step count (a fresh optimiser on the same parameters).
    public func reset() {
        for k in 0..<m.count {
            m[k].pointer.update(repeating: 0, count: m[k].count)
            v[k].pointer.update(repeating: 0, count: v[k].count)
        }
        step = 0
    }

    /// Moment estimates, for checkpoints (`m.k`, `v.k`).
    public var state: (m: [Tensor<T>], v: [Tensor<T>]) { (m, v) }

    /// Restores moment estimates and the step count from a checkpoint.
    public func restore(m: [Tensor<T>], v: [Tensor<T>], step: Int) {
        precondition(m.count == self.m.count && v.count == self.v.count, "optimizer state does not match the parameters")
        for k in 0..<m.count {
            self.m[k].pointer.update(from: m[k].pointer, count: m[k].count)
            self.v[k].pointer.update(from: v[k].pointer, count: v[k].count)
        }
        self.step = step
    }
}

/// `torch.optim.lr_scheduler.StepLR`: the learning rate is `lr0 · gammaᵏ` with
/// k = ⌊epoch / stepSize⌋.
public struct StepLR: Sendable {
    public let initialRate: Double, stepSize: Int, gamma: Double
    public init(initialRate: Double, stepSize: Int, gamma: Double) {
        self.initialRate = initialRate; self.stepSize = stepSize; self.gamma = gamma
    }
    public func rate(epoch: Int) -> Double {
        initialRate * Double.pow(gamma, Double(epoch / max(stepSize, 1)))
    }
}

/// An exponential moving average of the parameters (Polyak–Ruppert averaging): the average of
/// the last ~1/(1 − decay) iterates sits below the noise floor that Adam's steps leave at a
/// fixed learning rate. `load()` puts the average into the parameters (to evaluate, stop or
/// save it), `unload()` restores the optimiser's iterate before training goes on.
public final class ParameterAverage<T: TensorScalar> {
    public let parameters: [Variable<T>]
    public let decay: Double
    private var average: [Tensor<T>], saved: [Tensor<T>]
    public private(set) var updates = 0
    public private(set) var isLoaded = false

    public init(parameters: [Variable<T>], decay: Double) {
        precondition(decay >= 0 && decay < 1, "ParameterAverage: decay must be in [0, 1)")
        self.parameters = parameters
        self.decay = decay
        average = parameters.map { $0.value.copy() }
        saved = parameters.map { $0.value.copy() }
    }

    /// Folds the current parameters into the average (warm-up: the first iterates weigh more,
    /// decay_t = min(decay, (1 + t)/(10 + t))).
    public func update() {
        precondition(!isLoaded, "ParameterAverage.update while the average is loaded")
        updates += 1
        let d = T(min(decay, Double(1 + updates) / Double(10 + updates))), e = 1 - d
        for (a, p) in zip(average, parameters) {
            let ap = a.pointer, pp = p.value.pointer
            for i in 0..<a.count { ap[i] = d * ap[i] + e * pp[i] }
        }
    }

    /// Starts the average afresh at the current parameters (a new initialisation).
    public func reset() {
        precondition(!isLoaded, "ParameterAverage.reset while the average is loaded")
        for (a, p) in zip(average, parameters) { a.pointer.update(from: p.value.pointer, count: a.count) }
        updates = 0
    }

    /// Puts the average into the parameters, keeping the iterate aside.
    public func load() {
        guard !isLoaded else { return }
        for (k, p) in parameters.enumerated() {
            saved[k].pointer.update(from: p.value.pointer, count: p.value.count)
            p.value.pointer.update(from: average[k].pointer, count: p.value.count)
        }
        isLoaded = true
    }

    /// The average and its update count (to go back to them later).
    public var state: (average: [Tensor<T>], updates: Int) { (average.map { $0.copy() }, updates) }

    /// Puts back an average taken from `state` (with the iterate in the parameters).
    public func restore(_ state: (average: [Tensor<T>], updates: Int)) {
        precondition(!isLoaded && state.average.count == average.count, "ParameterAverage.restore: loaded, or not this average's state")
        for (a, b) in zip(average, state.average) { a.pointer.update(from: b.pointer, count: a.count) }
        updates = state.updates
    }

    /// Restores the optimiser's iterate.
    public func unload() {
        guard isLoaded else { return }
        for (k, p) in parameters.enumerated() { p.value.pointer.update(from: saved[k].pointer, count: p.value.count) }
        isLoaded = false
    }
}
