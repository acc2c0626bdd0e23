import Foundation
import RealModule
import SymmetricNumerics

/// Tuning of `MLP.pooledMean` (tests shrink them to exercise every path on small inputs).
public enum PooledMLPSettings {
    /// Rows processed together by one lane: the chunk's activations (a few 128-wide layers)
    /// stay in a core's L2 cache between the layers.
    /// (`SYMDP_CHUNK_ROWS` overrides it, for tuning on other machines.)
    nonisolated(unsafe) public static var chunkRows: Int = {
        if let s = ProcessInfo.processInfo.environment["SYMDP_CHUNK_ROWS"], let n = Int(s), n >= 1 { return n }
        return 512
    }()
    /// Row counts from which a plain MLP call runs on the fused, lane-parallel kernel.
    nonisolated(unsafe) public static var parallelRowThreshold = 2048
    /// Largest activation memory `pooledMean` keeps for its backward pass (else it recomputes).
    nonisolated(unsafe) public static var activationBudgetBytes = 256 << 20
}

extension MLP {
    /// The pooled representation of a Deep Set, `(1/n) Σ_{i ∈ set s} φ(X_i)`, as one fused op.
    ///
    /// `x` holds the agents of every set row by row, shape [sets·n, d]; the result is [sets, L].
    /// Forward and backward run on cache-sized chunks of rows in parallel lanes (see
    /// `Parallelism`). When a gradient will be needed, the activations are kept for the backward
    /// pass if they fit in `PooledMLPSettings.activationBudgetBytes`; beyond that the backward pass recomputes
    /// them chunk by chunk, so memory stays O(chunk) however many agents there are, at the price
    /// of one more forward pass. Gradients reach every weight and bias and, when it requires
    /// one, `x`.
    @inlinable
    public func pooledMean(_ x: Variable<T>, setSize n: Int) -> Variable<T> {
        precondition(x.value.rank == 2 && x.shape[1] == inputSize, "pooledMean expects [rows, \(inputSize)], got \(x.shape)")
        let rows = x.shape[0]
        precondition(n >= 1 && rows % n == 0, "pooledMean: \(rows) rows do not split into sets of \(n)")
        let sets = rows / n, outF = outputSize
        let plan = PooledMLPPlan(layers: layers, rows: rows)
        let xv = x.value
        let params = parameterGradients ? layers.flatMap(\.parameters) : layers.flatMap(\.parameters).map { $0.detached() }
        let recording = gradientRecording && (x.requiresGrad || params.contains { $0.requiresGrad })
        let keptBytes = rows * plan.widths.dropFirst().reduce(0, +) * MemoryLayout<T>.stride
        let kept: [Tensor<T>]? = recording && keptBytes <= PooledMLPSettings.activationBudgetBytes
            ? plan.widths.dropFirst().map { Tensor<T>(uninitializedShape: [rows, $0]) } : nil

        // Forward: per-lane partial sums of φ over the rows of each set, then reduced in lane order.
        let partial = (0..<plan.lanes).map { _ in Tensor<T>(zeros: [sets, outF]) }
        Parallelism.forEachLane(plan.lanes) { lane in
            let work = plan.workspace()
            let sums = partial[lane].pointer
            plan.forEachChunk(lane: lane) { r0, r in
                let out = plan.forward(xv.pointer + r0 * plan.widths[0], rows: r, into: plan.activations(kept, work, row: r0))
                T.poolRowsKernel(sums, out, rows: r, cols: outF, first: r0, setSize: n)
            }
        }
        let pooled = Tensor<T>(zeros: [sets, outF])
        let inv = 1 / T(n)
        for lane in 0..<plan.lanes {
            let s = partial[lane].pointer
            for i in 0..<pooled.count { pooled.pointer[i] += s[i] }
        }
        for i in 0..<pooled.count { pooled.pointer[i] *= inv }

        return Variable(value: pooled, parents: [x] + params) { g in
            // ∂L/∂φ(X_i) = g[set(i)] / n for every row i.
            let wantX = x.requiresGrad, wantParameters = params.contains { $0.requiresGrad }
            let dx: Tensor<T>? = wantX ? Tensor<T>(uninitializedShape: xv.shape) : nil
            let laneGrads = (0..<plan.lanes).map { _ in wantParameters ? params.map { Tensor<T>(zeros: $0.shape) } : [] }
            Parallelism.forEachLane(plan.lanes) { lane in
                let work = plan.workspace()
                let grads = laneGrads[lane]
                plan.forEachChunk(lane: lane) { r0, r in
                    let input = xv.pointer + r0 * plan.widths[0]
                    let activations = plan.activations(kept, work, row: r0)
                    if kept == nil { _ = plan.forward(input, rows: r, into: activations) }
                    T.unpoolRowsKernel(work.delta[0].pointer, g.pointer, rows: r, cols: outF, first: r0, setSize: n, scale: inv)
                    plan.backward(input, rows: r, activations: activations, work: work, grads: wantParameters ? grads : nil,
                                  inputGrad: dx.map { $0.pointer + r0 * plan.widths[0] })
                }
            }
            guard wantParameters else { return [dx] + params.map { _ in nil } }
            // Reduce the lanes' parameter gradients in lane order (deterministic).
            var parameterGrads: [Tensor<T>?] = []
            for k in 0..<params.count {
                let total = laneGrads[0][k]
                for lane in 1..<plan.lanes {
                    T.addKernel(total.pointer, laneGrads[lane][k].pointer, count: total.count)
                }
                parameterGrads.append(params[k].requiresGrad ? total : nil)
            }
            return [dx] + parameterGrads
        }
    }
}

/// The fixed schedule and kernels of `MLP.pooledMean`: lanes of contiguous rows, chunks within
/// a lane, and the forward/backward arithmetic on one chunk through raw pointers.
@usableFromInline
struct PooledMLPPlan<T: TensorScalar> {
    @usableFromInline let layers: [Dense<T>]
    /// widths[0] = input size, widths[l] = output size of layer l.
    @usableFromInline let widths: [Int]
    @usableFromInline let rows: Int
    @usableFromInline let lanes: Int
    @usableFromInline let chunk: Int
    /// Weights of thin-input layers, transposed to [in, out] for the rank-k kernel.
    @usableFromInline let transposedWeights: [Tensor<T>]
    /// Layers with at most this many inputs (an agent's own state) skip BLAS.
    @inlinable static var thinLayerWidth: Int { 4 }

    @inlinable init(layers: [Dense<T>], rows: Int) {
        self.layers = layers
        transposedWeights = layers.map { $0.inputSize <= Self.thinLayerWidth ? $0.weight.value.transposed() : Tensor<T>(zeros: [0]) }
        self.rows = rows
        widths = [layers[0].inputSize] + layers.map(\.outputSize)
        chunk = max(1, PooledMLPSettings.chunkRows)
        lanes = max(1, min(Parallelism.maxLanes, (rows + chunk - 1) / chunk))
    }

    /// Per-lane scratch: every layer's activations for one chunk, and two gradient buffers.
    @usableFromInline final class Workspace {
        @usableFromInline let activations: [Tensor<T>]
        @usableFromInline let delta: [Tensor<T>]
        @inlinable init(activations: [Tensor<T>], delta: [Tensor<T>]) { self.activations = activations; self.delta = delta }
    }

    @inlinable func workspace() -> Workspace {
        let widest = widths.max()!
        return Workspace(activations: widths.dropFirst().map { Tensor<T>(uninitializedShape: [chunk, $0]) },
                         delta: [Tensor<T>(uninitializedShape: [chunk, widest]), Tensor<T>(uninitializedShape: [chunk, widest])])
    }

    /// Where a chunk starting at `row` keeps its activations: the kept full-size tensors, or the
    /// lane's scratch.
    @inlinable func activations(_ kept: [Tensor<T>]?, _ work: Workspace, row: Int) -> [UnsafeMutablePointer<T>] {
        guard let kept else { return work.activations.map(\.pointer) }
        return kept.enumerated().map { l, t in t.pointer + row * widths[l + 1] }
    }

    /// Calls `body(firstRow, rowCount)` for each chunk of `lane`'s contiguous share of the rows.
    @inlinable func forEachChunk(lane: Int, _ body: (Int, Int) -> Void) {
        let start = rows * lane / lanes, end = rows * (lane + 1) / lanes
        var r0 = start
        while r0 < end {
            let r = min(chunk, end - r0)
            body(r0, r)
            r0 += r
        }
    }

    /// Runs the MLP on `rows` input rows, writing layer l's activations to `into[l]`; returns
    /// the output activations.
    @inlinable func forward(_ input: UnsafeMutablePointer<T>, rows r: Int, into activations: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<T> {
        var a = input
        for (l, layer) in layers.enumerated() {
            let inF = widths[l], outF = widths[l + 1]
            let y = activations[l]
            let w = layer.weight.value.pointer
            if let b = layer.bias?.value.pointer {
                T.fillRowsKernel(y, b, rows: r, cols: outF)
            } else {
                y.update(repeating: 0, count: r * outF)
            }
            if inF <= Self.thinLayerWidth {
                // a rank-1 or rank-2 update is cheaper than a thin gemm
                T.thinAffineKernel(y, a, transposedWeight: transposedWeights[l].pointer, rows: r, inner: inF, outer: outF)
            } else {
                T.gemm(transA: false, transB: true, m: r, n: outF, k: inF, alpha: 1, a: a, lda: inF, b: w, ldb: inF,
                       beta: 1, c: y, ldc: outF)
            }
            applyActivation(layer.activation, y, count: r * outF)
            a = y
        }
        return a
    }

    /// Back-propagates `work.delta[0]` (∂L/∂output of the chunk) through the layers, adding
    /// parameter gradients to `grads` (ordered as `layers.flatMap(\.parameters)`; nil: frozen
    /// parameters, none computed) and writing ∂L/∂input rows to `inputGrad` when given. Needs the
    /// chunk's forward `activations`.
    @inlinable func backward(_ input: UnsafeMutablePointer<T>, rows r: Int, activations: [UnsafeMutablePointer<T>],
                             work: Workspace, grads: [Tensor<T>]?,
                  inputGrad: UnsafeMutablePointer<T>?) {
        var current = 0
        var gradIndex = layers.reduce(0) { $0 + ($1.bias == nil ? 1 : 2) }   // one past the last parameter
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            let inF = widths[l], outF = widths[l + 1]
            let y = activations[l]
            let d = work.delta[current].pointer
            multiplyByActivationDerivative(layer.activation, d, output: y, count: r * outF)
            let below = l == 0 ? input : activations[l - 1]
            // parameters of layer l sit at grads[gradIndex - (1 or 2) …]
            let hasBias = layer.bias != nil
            gradIndex -= hasBias ? 2 : 1
            if let grads {
                // ∂W += δᵀ·a_below   ([outF × r]·[r × inF])
                T.gemm(transA: true, transB: false, m: outF, n: inF, k: r, alpha: 1, a: d, lda: outF, b: below, ldb: inF,
                       beta: 1, c: grads[gradIndex].pointer, ldc: inF)
                if hasBias {
                    T.columnSumsKernel(grads[gradIndex + 1].pointer, d, rows: r, cols: outF)
                }
            }
            let target: UnsafeMutablePointer<T>
            if l == 0 {
                guard let inputGrad else { break }
                target = inputGrad
            } else {
                target = work.delta[1 - current].pointer
            }
            // ∂a_below = δ·W   ([r × outF]·[outF × inF])
            let w = layer.weight.value.pointer
            if inF <= Self.thinLayerWidth {
                T.thinAffineBackwardKernel(target, d, transposedWeight: transposedWeights[l].pointer, rows: r, inner: inF, outer: outF)
            } else {
                T.gemm(transA: false, transB: false, m: r, n: inF, k: outF, alpha: 1, a: d, lda: outF, b: w, ldb: inF,
                       beta: 0, c: target, ldc: inF)
            }
            current = 1 - current
        }
    }
}

/// `y ← act(y)` in place.
@inlinable
func applyActivation<T: TensorScalar>(_ activation: Activation, _ y: UnsafeMutablePointer<T>, count n: Int) {
    switch activation {
    case .identity: break
    case .relu: T.reluKernel(y, count: n)
    case .tanh: for i in 0..<n { y[i] = T.tanh(y[i]) }
    case .sigmoid: for i in 0..<n { y[i] = 1 / (1 + T.exp(-y[i])) }
    case .softplus: for i in 0..<n { let v = y[i]; y[i] = v > 20 ? v : T.log(onePlus: T.exp(v)) }
    }
}

/// `d ← d ⊙ act'(pre)`, with the derivative written in terms of the output `y = act(pre)`.
@inlinable
func multiplyByActivationDerivative<T: TensorScalar>(_ activation: Activation, _ d: UnsafeMutablePointer<T>,
                                                     output y: UnsafeMutablePointer<T>, count n: Int) {
    switch activation {
    case .identity: break
    case .relu: T.reluBackwardKernel(d, output: y, count: n)
    case .tanh: for i in 0..<n { d[i] *= 1 - y[i] * y[i] }
    case .sigmoid: for i in 0..<n { d[i] *= y[i] * (1 - y[i]) }
    case .softplus: for i in 0..<n { d[i] *= 1 - T.exp(-y[i]) }
    }
}
