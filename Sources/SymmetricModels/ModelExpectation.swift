import SymmetricNumerics
import SymmetricEconomics

/// The expectation operator and the simulation step of a model file: where next period's
/// randomness comes from in each.
extension ModelEconomy {
    /// An evaluation of the expectation operator's expressions for a batch of states: the
    /// aggregate grid (economy-level Markov states' next values × Gauss–Hermite over economy
    /// shocks), the own grid of the agents of interest, everybody else's shocks from the fixed
    /// draw and their Markov states from the matched-share draw, and the weights.
    ///
    /// - Parameter interestStates: own states of the agents of interest that replace theirs in X
    ///   ([B or 1, 1, 1, F] by state index; `agents.interest` in training).
    func expectationEvaluation(_ X: Variable<T>, policy: ModelPolicy<T>?, agentsOfInterest firms: [Int],
                               interestStates: [Int: Variable<T>] = [:]) -> Evaluation<T> {
        let aggregate = aggregateAxes, own = ownAxes
        let kSizes = aggregate.map(\.size), jSizes = own.map(\.size)
        let k = kSizes.reduce(1, *), j = jSizes.reduce(1, *), f = firms.count, b = X.shape[0]
        let kCoordinates = (0..<k).map { Self.coordinates($0, kSizes) }, jCoordinates = (0..<j).map { Self.coordinates($0, jSizes) }
        func gridValues(_ axisIndex: Int, onAggregate: Bool, _ value: (Int) -> Double) -> Variable<T> {
            onAggregate ? Variable(Tensor<T>(shape: [1, k, 1, 1], scalars: kCoordinates.map { T(value($0[axisIndex])) }))
                : Variable(Tensor<T>(shape: [1, 1, j, 1], scalars: jCoordinates.map { T(value($0[axisIndex])) }))
        }
        func axisIndex(_ axes: [(axis: Axis, size: Int)], shock i: Int) -> Int? {
            axes.firstIndex { if case .shock(i) = $0.axis { return true }; return false }
        }
        func axisIndex(_ axes: [(axis: Axis, size: Int)], markov s: Int) -> Int? {
            axes.firstIndex { if case .markov(s) = $0.axis { return true }; return false }
        }
        var all: [Variable<T>] = [], interest: [Variable<T>] = []
        for i in model.shocks.indices {
            if let a = axisIndex(aggregate, shock: i) {
                let v = gridValues(a, onAggregate: true) { aggregateRule.nodes[$0] }
                all.append(v); interest.append(v)
            } else {
                let draw = draws[i]!
                all.append(Variable(draw.reshaped([1, 1, 1, N])))
                if let o = axisIndex(own, shock: i) {
                    interest.append(gridValues(o, onAggregate: false) { ownRule.nodes[$0] })
                } else {
                    interest.append(Variable(Tensor<T>(shape: [1, 1, 1, f], scalars: firms.map { draw.pointer[$0] })))
                }
            }
        }
        var source = Evaluation<T>.ShockSource.expectation(all: all, interest: interest)
        let states = stateTensors(X)
        if model.continuousStates < model.states.count {
            func index(_ s: Int, _ p: Int) -> Int { Int(Double(states[s].value.pointer[p]).rounded()) }
            func economyIndex(_ s: Int?, _ r: Int) -> Int { s.map { index($0, r) } ?? 0 }
            func nextEconomyIndex(_ s: Int?, _ kk: Int) -> Int {
                guard let s, let a = axisIndex(aggregate, markov: s) else { return 0 }
                return kCoordinates[kk][a]
            }
            for (a, axis) in aggregate.enumerated() {
                if case .markov(let s) = axis.axis { source.markovAll[s] = gridValues(a, onAggregate: true) { Double($0) } }
            }
            for (o, axis) in own.enumerated() {
                if case .markov(let s) = axis.axis { source.markovInterest[s] = gridValues(o, onAggregate: false) { Double($0) } }
            }
            // everybody else's next value of an agent-level chain: matched shares from the fixed uniforms
            for s in model.states.indices where model.chain(s)?.perAgent == true {
                let chain = model.chain(s)!
                let next = Tensor<T>(uninitializedShape: [b, k, 1, N])
                for r in 0..<b {
                    for kk in 0..<k {
                        let P = chain.agentTransition[economyIndex(chain.given, r)][nextEconomyIndex(chain.given, kk)]
                        Self.matchedShares(current: states[s].value.pointer + r * N, order: markovOrder[s]!, transition: P,
                                           into: next.pointer + (r * k + kk) * N, count: N)
                    }
                }
                source.markovAll[s] = Variable(next)
                if source.markovInterest[s] == nil {   // not integrated: the agent of interest's value from the same draw
                    let t = Tensor<T>(uninitializedShape: [b, k, 1, f])
                    for p in 0..<(b * k) { for (c, i) in firms.enumerated() { t.pointer[p * f + c] = next.pointer[p * N + i] } }
                    source.markovInterest[s] = Variable(t)
                }
            }
            // weights [B, K, J, F]: P(z'|z) · GH over the aggregate grid, P(e'|e, z, z') · GH over the own grid
            let W = Tensor<T>(uninitializedShape: [b, k, j, f])
            for r in 0..<b {
                for kk in 0..<k {
                    var wk = 1.0
                    for (a, axis) in aggregate.enumerated() {
                        switch axis.axis {
                        case .shock: wk *= aggregateRule.weights[kCoordinates[kk][a]]
                        case .markov(let s): wk *= model.chain(s)!.economyTransition[index(s, r)][kCoordinates[kk][a]]
                        }
                    }
                    for jj in 0..<j {
                        for c in 0..<f {
                            var w = wk
                            for (o, axis) in own.enumerated() {
                                switch axis.axis {
                                case .shock: w *= ownRule.weights[jCoordinates[jj][o]]
                                case .markov(let s):
                                    let chain = model.chain(s)!
                                    w *= chain.agentTransition[economyIndex(chain.given, r)][nextEconomyIndex(chain.given, kk)][index(s, r * N + firms[c])][jCoordinates[jj][o]]
                                }
                            }
                            W.pointer[((r * k + kk) * j + jj) * f + c] = T(w)
                        }
                    }
                }
            }
            source.weights = Variable(W)
        }
        let ev = Evaluation<T>(model: model, states: states, agentsOfInterest: firms, shocks: source, aggregateNodes: k, ownNodes: j,
                               network: policy.map { networkOutput(policy: $0, X: X) })
        ev.interestOverride = interestStates
        let aggregateWeights = (0..<k).map { kk in
            aggregate.enumerated().reduce(1.0) { w, e in
                if case .shock = e.element.axis { return w * aggregateRule.weights[kCoordinates[kk][e.offset]] }
                return w
            }
        }
        let ownWeights = (0..<j).map { jj in
            own.enumerated().reduce(1.0) { w, e in
                if case .shock = e.element.axis { return w * ownRule.weights[jCoordinates[jj][e.offset]] }
                return w
            }
        }
        ev.weights = { kk, jj in
            var w: [T] = []
            for a in 0..<kk { for o in 0..<jj { w.append(T((kk == 1 ? 1 : aggregateWeights[a]) * (jj == 1 ? 1 : ownWeights[o]))) } }
            return Tensor(shape: [1, kk, jj, 1], scalars: w)
        }
        return ev
    }

    /// Next-period indices of an agent-level Markov state with realised shares matched to the
    /// chain: the agents currently in state e, taken in `order`, move to e' = 0, 1, … in blocks of
    /// round(n_e · cumulative P(e'|e)) — the discrete analogue of the normalised draw Ŵ.
    public static func matchedShares(current: UnsafeMutablePointer<T>, order: [Int], transition P: [[Double]],
                              into next: UnsafeMutablePointer<T>, count n: Int) {
        let values = P.count
        func label(_ i: Int) -> Int { min(values - 1, max(0, Int(Double(current[i]).rounded()))) }
        var groupSize = [Int](repeating: 0, count: values)
        for i in 0..<n { groupSize[label(i)] += 1 }
        let thresholds = (0..<values).map { e -> [Int] in
            var cumulative = 0.0
            return P[e].enumerated().map { e2, p in
                cumulative += p
                return e2 == values - 1 ? groupSize[e] : Int((cumulative * Double(groupSize[e])).rounded())
            }
        }
        var seen = [Int](repeating: 0, count: values)
        for i in order {
            let e = label(i)
            var e2 = 0
            while e2 < values - 1 && seen[e] >= thresholds[e][e2] { e2 += 1 }
            next[i] = T(e2)
            seen[e] += 1
        }
    }

    /// One period with fresh shocks, drawn per state: the economy shocks, then each agent's
    /// shocks in declaration order; then the Markov states (economy-level from their chain,
    /// agent-level with shares matched to the chain, fresh uniforms). Controls from the network,
    /// or from `simulate` when nil.
    public func nextState(_ X: Tensor<T>, policy: ModelPolicy<T>?, generator g: inout SeededGenerator) -> Tensor<T> {
        let b = X.shape[0], d = model.states.count
        let economy = model.economyShocks, agent = model.agentShocks
        let draws = model.shocks.map { s in Tensor<T>(uninitializedShape: s.perAgent ? [b, 1, 1, N] : [b, 1, 1, 1]) }
        for r in 0..<b {
            for i in economy { draws[i].pointer[r] = T(g.normal()) }
            for n in 0..<N { for i in agent { draws[i].pointer[r * N + n] = T(g.normal()) } }
        }
        let Xv = Variable(X)
        let states = stateTensors(Xv)
        var source = Evaluation<T>.ShockSource.simulation(draws.map { Variable($0) })
        var markovNext: [Int: Tensor<T>] = [:]
        for s in model.continuousStates..<d where !model.chain(s)!.perAgent {
            let P = model.chain(s)!.economyTransition
            let t = Tensor<T>(uninitializedShape: [b, 1, 1, 1])
            for r in 0..<b {
                let row = P[Int(Double(states[s].value.pointer[r]).rounded())]
                var u = g.uniform(), e2 = 0
                while e2 < row.count - 1 && u >= row[e2] { u -= row[e2]; e2 += 1 }
                t.pointer[r] = T(e2)
            }
            markovNext[s] = t
        }
        for s in model.continuousStates..<d where model.chain(s)!.perAgent {
            let chain = model.chain(s)!
            let t = Tensor<T>(uninitializedShape: [b, 1, 1, N])
            for r in 0..<b {
                let u = (0..<N).map { _ in g.uniform() }
                let order = Array(0..<N).sorted { u[$0] < u[$1] }
                let z = chain.given.map { Int(Double(states[$0].value.pointer[r]).rounded()) } ?? 0
                let z2 = chain.given.map { Int(Double(markovNext[$0]!.pointer[r]).rounded()) } ?? 0
                Self.matchedShares(current: states[s].value.pointer + r * N, order: order, transition: chain.agentTransition[z][z2],
                                   into: t.pointer + r * N, count: N)
            }
            markovNext[s] = t
        }
        source.markovAll = markovNext.mapValues { Variable($0) }
        source.markovInterest = source.markovAll
        return withoutGradients {
            let ev = Evaluation<T>(model: model, states: states, agentsOfInterest: [], shocks: source,
                                   aggregateNodes: 1, ownNodes: 1, network: policy.map { networkOutput(policy: $0, X: Xv) })
            let next = (0..<d).map { s -> Tensor<T> in
                if s < model.continuousStates { return ev.tensor(ev.evaluate(model.transitions[s], .current, .all), shape: [b, 1, 1, N]).value }
                return Variable(markovNext[s]!).expanded(to: [b, 1, 1, N]).value
            }
            if d == 1 { return next[0].reshaped([b, N]) }
            let out = Tensor<T>(uninitializedShape: [b, N, d])
            for s in 0..<d { for p in 0..<(b * N) { out.pointer[p * d + s] = next[s].pointer[p] } }
            return out
        }
    }
}
