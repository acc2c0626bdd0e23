import RealModule
import SymmetricNumerics

/// A fully connected layer, `activation(x·Wᵀ + b)`, with `W` of shape [out, in] as in PyTorch.
///
/// The affine map and the activation are one fused op: the bias is written first, gemm
/// accumulates onto it, the activation runs in place, and the backward rule multiplies by the
/// activation's derivative (written in terms of the output) before two more gemms.
public struct Dense<T: TensorScalar> {
    public let weight: Variable<T>
    public let bias: Variable<T>?
    public let activation: Activation

    @inlinable public var inputSize: Int { weight.shape[1] }
    @inlinable public var outputSize: Int { weight.shape[0] }
    public var parameters: [Variable<T>] { bias.map { [weight, $0] } ?? [weight] }

    /// PyTorch's default initialisation of `nn.Linear`: Kaiming-uniform weights with a = √5,
    /// i.e. U(−1/√fan_in, 1/√fan_in), and biases from the same interval.
    public init(inputSize: Int, outputSize: Int, bias: Bool = true, activation: Activation = .identity,
                generator g: inout SeededGenerator) {
        let bound = 1 / Double(max(inputSize, 1)).squareRoot()
        weight = Variable(Tensor.randomUniform(shape: [outputSize, inputSize], low: -bound, high: bound, using: &g), requiresGrad: true)
        self.bias = bias ? Variable(Tensor.randomUniform(shape: [outputSize], low: -bound, high: bound, using: &g), requiresGrad: true) : nil
        self.activation = activation
    }

    /// `activation(x·Wᵀ + b)` for `x` of shape [rows, in].
    @inlinable
    public func callAsFunction(_ x: Variable<T>) -> Variable<T> {
        parameterGradients ? Variable.dense(x, weight: weight, bias: bias, activation: activation)
            : Variable.dense(x, weight: weight.detached(), bias: bias?.detached(), activation: activation)
    }
}

extension Variable {
    /// Fused dense layer `act(x·Wᵀ + b)`; see `Dense`.
    @inlinable
    public static func dense(_ x: Variable, weight: Variable, bias: Variable?, activation: Activation) -> Variable {
        precondition(x.value.rank == 2 && x.shape[1] == weight.shape[1],
                     "dense layer expects [rows, \(weight.shape[1])], got \(x.shape)")
        let rows = x.shape[0], outF = weight.shape[0], inF = weight.shape[1]
        let y = Tensor<T>(uninitializedShape: [rows, outF])
        let yp = y.pointer
        if let bias {
            let b = bias.value.pointer
            for r in 0..<rows { (yp + r * outF).update(from: b, count: outF) }
        }
        if inF == 1 {
            // rank-1 update: y[r, o] += x[r]·W[o]; cheaper than a K=1 gemm
            let xp = x.value.pointer, w = weight.value.pointer
            if bias == nil { yp.update(repeating: 0, count: rows * outF) }
            for r in 0..<rows { let xr = xp[r], row = yp + r * outF; for o in 0..<outF { row[o] += xr * w[o] } }
        } else {
            Tensor.gemm(x.value, weight.value, into: y, transposeB: true, beta: bias == nil ? 0 : 1)
        }
        let n = rows * outF
        applyActivation(activation, yp, count: n)
        let parents = bias.map { [x, weight, $0] } ?? [x, weight]
        return Variable(value: y, parents: parents) { g in
            // ∂L/∂(pre-activation), from the output y alone
            let gp: Tensor<T>
            if activation == .identity { gp = g } else {
                gp = g.copy()
                // the closure holds y itself (its storage), never a raw pointer whose owner could go
                multiplyByActivationDerivative(activation, gp.pointer, output: y.pointer, count: n)
            }
            var grads: [Tensor<T>?] = [
                x.requiresGrad ? Tensor.matmul(gp, weight.value) : nil,
                weight.requiresGrad ? Tensor.matmul(gp, x.value, transposeA: true) : nil,
            ]
            if let bias { grads.append(bias.requiresGrad ? gp.sum(axis: 0) : nil) }
            return grads
        }
    }
}

/// A multilayer perceptron: `hiddenLayers` dense layers of width `hidden` with `activation`,
/// then a linear output layer. `hiddenLayers = 0` is a single linear map.
public struct MLP<T: TensorScalar> {
    public let layers: [Dense<T>]

    public init(inputSize: Int, hidden: Int, hiddenLayers: Int, outputSize: Int, bias: Bool = true,
                activation: Activation = .relu, generator g: inout SeededGenerator) {
        var layers: [Dense<T>] = []
        var width = inputSize
        for _ in 0..<hiddenLayers {
            layers.append(Dense(inputSize: width, outputSize: hidden, bias: bias, activation: activation, generator: &g))
            width = hidden
        }
        layers.append(Dense(inputSize: width, outputSize: outputSize, bias: bias, activation: .identity, generator: &g))
        self.layers = layers
    }

    /// The MLP row by row. Large batches go through the fused, lane-parallel kernel of
    /// `pooledMean` (sets of one row), small ones layer by layer.
    @inlinable
    public func callAsFunction(_ x: Variable<T>) -> Variable<T> {
        if x.shape[0] >= PooledMLPSettings.parallelRowThreshold && Parallelism.threads > 1 {
            return pooledMean(x, setSize: 1)
        }
        var h = x
        for layer in layers { h = layer(h) }
        return h
    }

    public var inputSize: Int { layers[0].inputSize }
    public var outputSize: Int { layers[layers.count - 1].outputSize }

    /// Parameters named like PyTorch's state dict: `layers.0.weight`, `layers.0.bias`, …
    public func namedParameters(prefix: String) -> [(String, Variable<T>)] {
        layers.enumerated().flatMap { i, l -> [(String, Variable<T>)] in
            var p = [("\(prefix)layers.\(i).weight", l.weight)]
            if let b = l.bias { p.append(("\(prefix)layers.\(i).bias", b)) }
            return p
        }
    }
}
