import Foundation
import SymmetricNumerics
import SymmetricNetworks

/// Throughput of one training step (forward, backward, Adam) of a symmetric network, next to
/// the machine's own gemm rate for the same shapes measured in the same run.
public struct TrainingStepBenchmark {
    public var architecture = SymmetricArchitecture()
    public var batch = 256
    public var N = 128
    /// Timed steps per round; the report gives the best and the median round (this is a shared,
    /// noisy machine: the best round is the machine's capability, the median what a run sees).
    public var steps = 10
    public var rounds = 5
    public var warmup = 3

    public init() {}

    public struct Report: Codable, Sendable {
        public let batch, N, phiRows, parameters, steps: Int
        public let rounds: Int
        public let threads: Int
        /// Best and median round, seconds per step.
        public let secondsPerStep: Double
        public let secondsPerStepMedian: Double
        /// Matrix-product FLOPs of one step, counted from the layer shapes.
        public let gflopPerStep: Double
        public let stepGflops: Double
        public let stepGflopsMedian: Double
        /// The machine's sgemm rate on the step's own GEMM shapes (best round), and on the
        /// dominant shape alone ([rows × 128]·[128 × 128], all cores).
        public let sgemmGflops: Double
        public let sgemmDominantShapeGflops: Double
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
        // As in training: BLAS single-threaded, the φ network parallel over lanes (Parallelism).
        let blas = blasThreads()
        setBlasThreads(1)
        for _ in 0..<warmup { step() }
        let rssStart = residentMegabytes()
        let allocStart = BufferPool.shared.systemAllocations
        var stepTimes: [Double] = []
        for _ in 0..<rounds { stepTimes.append(Self.time(steps, step)) }
        let freshAllocations = BufferPool.shared.systemAllocations - allocStart
        let rssEnd = residentMegabytes()
        setBlasThreads(blas)
        stepTimes.sort()
        let seconds = stepTimes[0], median = stepTimes[stepTimes.count / 2]

        let shapes = gemmShapes(net)
        let flops = shapes.reduce(0.0) { $0 + 2 * Double($1.0) * Double($1.1) * Double($1.2) }
        // the machine's sgemm rate on the very same shapes
        let operands = shapes.map { (m, n, k) in
            (Tensor<Float>(shape: [m, k], repeating: 0.5), Tensor<Float>(shape: [k, n], repeating: 0.25), Tensor<Float>(zeros: [m, n]))
        }
        let gemmSeconds = (0..<rounds).map { _ in
            Self.time(steps) { for (a, b, c) in operands { Tensor.gemm(a, b, into: c, beta: 0) } }
        }.min()!
        let rows = batch * N, a = Tensor<Float>(shape: [rows, 128], repeating: 0.5), w = Tensor<Float>(shape: [128, 128], repeating: 0.25)
        let c = Tensor<Float>(zeros: [rows, 128])
        let dominantSeconds = (0..<rounds).map { _ in Self.time(steps) { Tensor.gemm(a, w, into: c, transposeB: true, beta: 1) } }.min()!
        let dominantRate = 2 * Double(rows) * 128 * 128 / dominantSeconds / 1e9
        let stepRate = flops / seconds / 1e9, gemmRate = flops / gemmSeconds / 1e9
        return Report(batch: batch, N: N, phiRows: batch * N, parameters: net.parameterCount, steps: steps,
                      rounds: rounds, threads: Parallelism.threads,
                      secondsPerStep: seconds, secondsPerStepMedian: median, gflopPerStep: flops / 1e9, stepGflops: stepRate,
                      stepGflopsMedian: flops / median / 1e9,
                      sgemmGflops: gemmRate, sgemmDominantShapeGflops: dominantRate, ratio: stepRate / gemmRate,
                      freshAllocationsDuringTimedSteps: freshAllocations,
                      residentMegabytesStart: rssStart, residentMegabytesEnd: rssEnd)
    }
}

extension TrainingStepBenchmark {
    /// Seconds per call of `body`, averaged over `count` calls.
    static func time(_ count: Int, _ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<count { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(max(count, 1))
    }
}

/// Resident set size of this process in MB (Linux /proc; 0 elsewhere).
public func residentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}
