import ArgumentParser
import Foundation
import SymmetricNetworks
import SymmetricTraining

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "GFLOP/s of one training step (forward, backward, Adam) of a symmetric network vs the machine's sgemm rate.")

    @Option(help: "Sets per batch.") var batch = 256
    @Option(name: .customLong("N"), help: "Agents per set.") var N = 128
    @Option(help: "Timed steps per round.") var steps = 10
    @Option(help: "Timed rounds (best and median reported).") var rounds = 5
    @Option(help: "phi: identity | moments | deepset.") var phi = "deepset"
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Also time a model file's compiled training step against the hand-written investment economy (same data, batch and weights), e.g. models/investment.yaml.") var model: String?

    func run() throws {
        if let model {
            do {
                var cfg = RunConfig()
                try cfg.apply(override: "model.file=\(model)")
                try cfg.validate()
                let m = try ModelFileBenchmark(config: cfg).run()
                var bench = TrainingStepBenchmark()
                bench.rounds = 2; bench.steps = 3
                let sgemm = bench.run().sgemmGflops
                print("Model file \(model) (\(m.model), N=\(m.N)): compiled in \(String(format: "%.1f", m.compileMilliseconds)) ms")
                print(String(format: "  training step, compiled model file   %8.2f ms (median of rounds)", m.compiledSecondsPerStep * 1e3))
                print(String(format: "  training step, hand-written Swift     %8.2f ms", m.handWrittenSecondsPerStep * 1e3))
                print(String(format: "  speed of the compiled model           %8.1f %% of the hand-written one", 100 * m.speedRatio))
                print(String(format: "  validation pass, compiled / hand-written  %.3f s / %.3f s", m.compiledValidationSeconds, m.handWrittenValidationSeconds))
                print(String(format: "  machine: sgemm %.1f GFLOP/s on the training step's shapes, this run", sgemm))
            } catch {
                throw CLIError(error)
            }
            return
        }
        guard let kind = PhiKind(rawValue: phi) else { throw ValidationError("--phi must be one of \(PhiKind.allCases.map(\.rawValue))") }
        for (name, value) in [("--N", N), ("--batch", batch), ("--steps", steps), ("--rounds", rounds)] where value < 1 || value > ResourceLimits.maxSize {
            throw ValidationError("\(name) must be between 1 and \(ResourceLimits.maxSize), got \(value)")
        }
        // the φ rows of one step: batch × N rows of the default widths, values and gradients
        let bytes = 4.0 * Double(batch) * Double(N) * Double(SymmetricArchitecture().phiHidden) * 8
        guard bytes <= ResourceLimits.memoryLimit() else {
            throw ValidationError("--batch \(batch) × --N \(N) needs about \(ResourceLimits.formatBytes(bytes)) of memory, more than the \(ResourceLimits.formatBytes(ResourceLimits.memoryLimit())) available; lower them")
        }
        var bench = TrainingStepBenchmark()
        bench.batch = batch; bench.N = N; bench.steps = steps; bench.rounds = rounds
        bench.architecture.phi = kind
        let r = bench.run()
        if json {
            let encoder = JSONEncoder(); encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        print("Training step, \(phi) network (\(r.parameters) parameters), batch \(r.batch) sets × N=\(r.N) = \(r.phiRows) φ rows, Float32")
        print("  \(r.threads) threads, \(r.rounds) rounds of \(r.steps) steps; best round (median round)")
        print(String(format: "  step time            %8.2f ms   (%.2f ms)", r.secondsPerStep * 1e3, r.secondsPerStepMedian * 1e3))
        print(String(format: "  GEMM work per step   %8.3f GFLOP", r.gflopPerStep))
        print(String(format: "  training step rate   %8.1f GFLOP/s (%.1f GFLOP/s)", r.stepGflops, r.stepGflopsMedian))
        print(String(format: "  sgemm, same shapes   %8.1f GFLOP/s  (one BLAS call per shape, all cores)", r.sgemmGflops))
        print(String(format: "  sgemm, [%d×128]·[128×128]  %.1f GFLOP/s", r.phiRows, r.sgemmDominantShapeGflops))
        print(String(format: "  ratio                %8.1f %%  (step rate / sgemm rate on the same shapes)", 100 * r.ratio))
        print("  fresh buffers during \(r.steps) timed steps: \(r.freshAllocationsDuringTimedSteps)" +
              String(format: "; resident memory %.0f MB → %.0f MB", r.residentMegabytesStart, r.residentMegabytesEnd))
    }
}
