import RealModule

/// Whether differentiable ops record their backward rules. Off inside `withoutGradients`.
/// The engine is single-threaded: run parallel work in separate processes.
nonisolated(unsafe) public var gradientRecording = true

/// Runs `body` without recording a graph (evaluation and simulation path).
@inlinable
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    let saved = gradientRecording
    gradientRecording = false
    defer { gradientRecording = saved }
    return try body()
}

/// Whether network parameters receive gradients. Off inside `withFrozenParameters`.
nonisolated(unsafe) public var parameterGradients = true

/// Runs `body` with the network parameters as constants: layers still differentiate with
/// respect to their inputs, not their weights.
@inlinable
public func withFrozenParameters<R>(_ body: () throws -> R) rethrows -> R {
    let saved = parameterGradients
    parameterGradients = false
    defer { parameterGradients = saved }
    return try body()
}

/// Whether a training step differentiates through the next period's policy (the residual's full
/// gradient, the paper's method) or holds it fixed (a time-iteration step). Set by the solver for
/// its training steps (`withNextPolicyGradient`); economies evaluate next-period policies inside
/// `nextPeriodPolicy`.
nonisolated(unsafe) public var nextPolicyGradient = true

/// Whether a time-iteration step (`nextPolicyGradient` false) still differentiates through the
/// other agents' next-period states, i.e. next period's aggregates (true), or holds them fixed
/// as well (`method.hold_next_aggregates`). Model-file economies read it.
nonisolated(unsafe) public var nextAggregateGradient = true

/// Runs `body` (a training step) with `nextPolicyGradient` set to `enabled` (and
/// `nextAggregateGradient` to `aggregates`).
@inlinable
public func withNextPolicyGradient<R>(_ enabled: Bool, aggregates: Bool = true, _ body: () throws -> R) rethrows -> R {
    let saved = (nextPolicyGradient, nextAggregateGradient)
    nextPolicyGradient = enabled
    nextAggregateGradient = aggregates
    defer { (nextPolicyGradient, nextAggregateGradient) = saved }
    return try body()
}

/// Evaluates a next-period policy: with frozen parameters when training steps hold the next
/// period's policy fixed (time iteration), as is otherwise.
///
/// Why it matters: with the full gradient both roots of the Euler equation (the stable one and
/// the explosive one) are minima of the squared residual. Holding u(X') fixed turns each step
/// into a damped fixed-point (time-iteration) update u ← T(u): a contraction at the stable root
/// and expanding at the explosive one (for the LQ model the map H1 ↦ T(H1) has slope < 1 at the
/// stable root and > 1 at the explosive root). It also keeps the condition number of the fit's
/// level direction κ instead of κ² (docs/equilibrium-selection.md, docs/krusell-smith.md).
@inlinable
public func nextPeriodPolicy<R>(_ body: () throws -> R) rethrows -> R {
    nextPolicyGradient ? try body() : try withFrozenParameters(body)
}

/// A node of the reverse-mode graph: a value, its gradient, and the local backward rule that
/// maps the gradient of the output to gradients of its inputs (micrograd in tensors).
public final class Variable<T: TensorScalar> {
    /// Current value. Parameters are updated in place by optimisers.
    public var value: Tensor<T>
    /// Accumulated ∂loss/∂value after `backward()`; nil when no gradient reached this node.
    public var grad: Tensor<T>?
    public let requiresGrad: Bool
    @usableFromInline let parents: [Variable<T>]
    @usableFromInline let backwardRule: ((Tensor<T>) -> [Tensor<T>?])?

    /// A leaf: an input (`requiresGrad: false` by default) or a parameter.
    @inlinable
    public init(_ value: Tensor<T>, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.parents = []
        self.backwardRule = nil
    }

    /// An op's output: `backward` maps ∂L/∂output to ∂L/∂parent (nil where not needed).
    /// Records nothing when gradients are off or no parent requires one. Public so that other
    /// modules (and users) can define fused ops with their own backward rule.
    @inlinable
    public init(value: Tensor<T>, parents: [Variable<T>], backward: @escaping (Tensor<T>) -> [Tensor<T>?]) {
        let needs = gradientRecording && parents.contains { $0.requiresGrad }
        self.value = value
        self.requiresGrad = needs
        self.parents = needs ? parents : []
        self.backwardRule = needs ? backward : nil
    }

    @inlinable public var shape: [Int] { value.shape }

    /// Back-propagates from this node. A non-scalar root needs a seed of its shape.
    public func backward(seed: Tensor<T>? = nil) {
        guard requiresGrad else { return }
        let seedGrad = seed ?? Tensor(shape: value.shape, repeating: 1)
        precondition(seedGrad.shape == value.shape, "backward seed shape \(seedGrad.shape) ≠ \(value.shape)")
        // Topological order by iterative DFS.
        var order: [Variable<T>] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable<T>, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) }
        }
        accumulate(seedGrad)
        for node in order.reversed() {
            guard let rule = node.backwardRule, let g = node.grad else { continue }
            let parentGrads = rule(g)
            for (p, pg) in zip(node.parents, parentGrads) where p.requiresGrad {
                guard let pg else { continue }
                p.accumulate(pg)
            }
            node.grad = nil; node.ownsGrad = false  // free intermediate gradients as soon as they are used
        }
    }

    /// True when `grad` is a buffer this node allocated itself, so it may be added to in place.
    @usableFromInline var ownsGrad = false

    @inlinable
    func accumulate(_ g: Tensor<T>) {
        guard let existing = grad else { grad = g; ownsGrad = false; return }
        if ownsGrad {
            let d = existing.pointer, s = g.pointer
            for i in 0..<existing.count { d[i] += s[i] }
        } else {
            grad = existing + g
            ownsGrad = true
        }
    }

    /// Clears the gradient (parameters, before a new step).
    public func zeroGrad() { grad = nil; ownsGrad = false }

    /// A leaf holding the same value, cut from the graph.
    public func detached() -> Variable { Variable(value, requiresGrad: false) }
}

