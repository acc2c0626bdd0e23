import Foundation
import SymmetricNumerics
import SymmetricNetworks

/// Throughput of one training step (forward, backward, Adam) of a symmetric network, next to
/// the machine's own gemm rate for the same shapes measured in the same run.
public struct TrainingStepBenchmark {
    public var architecture = SymmetricArchitecture()
    public var batch = 256
    public var N = 128
    public var steps = 30
    public var warmup = 3

    public init() {}

    public struct Report: Codable, Sendable {
        public let batch, N, phiRows, parameters, steps: Int
        public let secondsPerStep: Double
        /// Matrix-product FLOPs of one step, counted from the layer shapes.
        public let gflopPerStep: Double
        public let stepGflops: Double
        public let sgemmGflops: Double
        public let ratio: Double
        /// Buffers taken from the system (not the pool) during the timed steps: 0 means no growth.
        public let freshAllocationsDuringTimedSteps: Int
        public let residentMegabytesStart: Double
        public let residentMegabytesEnd: Double
    }

    /// GEMM shapes (m, n, k) of one step: forward, ∂input and ∂weight products of every layer.
    func gemmShapes(_ net: SymmetricNetwork<Float>) -> [(Int, Int, Int)] {
        var shapes: [(Int, Int, Int)] = []
        func layers(_ mlp: MLP<Float>, rows: Int, inputNeedsGrad: Bool) {
            for (i, l) in mlp.layers.enumerated() {
                shapes.append((rows, l.outputSize, l.inputSize))                 // y = x·Wᵀ
                shapes.append((l.outputSize, l.inputSize, rows))                 // ∂W = gᵀ·x
                if i > 0 || inputNeedsGrad { shapes.append((rows, l.inputSize, l.outputSize)) }  // ∂x = g·W
            }
        }
        if let phi = net.phiNet { layers(phi, rows: batch * N, inputNeedsGrad: false) }
        layers(net.rho, rows: batch, inputNeedsGrad: net.phiNet != nil)
        return shapes
    }

    public func run() -> Report {
        var g = SeededGenerator(seed: 0)
        let net = SymmetricNetwork<Float>(architecture, generator: &g)
        let X = Variable(Tensor<Float>.randomNormal(shape: [batch, N], mean: 0.9, std: 0.05, using: &g))
        let target = Variable(Tensor<Float>.randomNormal(shape: [batch, 1], using: &g))
        let adam = Adam(parameters: net.parameters, learningRate: 1e-4)
        func step() {
            adam.zeroGrad()
            let loss = (net(X) - target).squared().meanAll()
            loss.backward()
            adam.update()
        }
        for _ in 0..<warmup { step() }
        let rssStart = residentMegabytes()
        let allocStart = BufferPool.shared.systemAllocations
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(steps)
        let freshAllocations = BufferPool.shared.systemAllocations - allocStart
        let rssEnd = residentMegabytes()

        let shapes = gemmShapes(net)
        let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.0) * Double($1.1) * Double($1.2) }
        // the machine's sgemm rate on the very same shapes
        let operands = shapes.map { (m, n, k) in
            (Tensor<Float>(shape: [m, k], repeating: 0.5), Tensor<Float>(shape: [k, n], repeating: 0.25), Tensor<Float>(zeros: [m, n]))
        }
        for (a, b, c) in operands { Tensor.gemm(a, b, into: c, beta: 0) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { for (a, b, c) in operands { Tensor.gemm(a, b, into: c, beta: 0) } }
        let gemmSeconds = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9 / Double(steps)
        let stepRate = flops / seconds / 1e9, gemmRate = flops / gemmSeconds / 1e9
        return Report(batch: batch, N: N, phiRows: batch * N, parameters: net.parameterCount, steps: steps,
                      secondsPerStep: seconds, gflopPerStep: flops / 1e9, stepGflops: stepRate,
                      sgemmGflops: gemmRate, ratio: stepRate / gemmRate,
                      freshAllocationsDuringTimedSteps: freshAllocations,
                      residentMegabytesStart: rssStart, residentMegabytesEnd: rssEnd)
    }
}

/// Resident set size of this process in MB (Linux /proc; 0 elsewhere).
public func residentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}
