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
    @Option(help: "Timed steps.") var steps = 30
    @Option(help: "phi: identity | moments | deepset.") var phi = "deepset"
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard let kind = PhiKind(rawValue: phi) else { throw ValidationError("--phi must be one of \(PhiKind.allCases.map(\.rawValue))") }
        var bench = TrainingStepBenchmark()
        bench.batch = batch; bench.N = N; bench.steps = steps
        bench.architecture.phi = kind
        let r = bench.run()
        if json {
            let encoder = JSONEncoder(); encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        print("Training step, \(phi) network (\(r.parameters) parameters), batch \(r.batch) sets × N=\(r.N) = \(r.phiRows) φ rows, Float32")
        print(String(format: "  step time            %8.2f ms", r.secondsPerStep * 1e3))
        print(String(format: "  GEMM work per step   %8.3f GFLOP", r.gflopPerStep))
        print(String(format: "  training step rate   %8.1f GFLOP/s", r.stepGflops))
        print(String(format: "  sgemm, same shapes   %8.1f GFLOP/s", r.sgemmGflops))
        print(String(format: "  ratio                %8.1f %%", 100 * r.ratio))
        print("  fresh buffers during \(r.steps) timed steps: \(r.freshAllocationsDuringTimedSteps)" +
              String(format: "; resident memory %.0f MB → %.0f MB", r.residentMegabytesStart, r.residentMegabytesEnd))
    }
}
