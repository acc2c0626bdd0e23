import ArgumentParser
import Foundation
import SymmetricTraining

struct RegressionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "The slides' symmetric regression example: Deep Sets of width L vs a plain MLP, by N.")

    @Option(name: .customLong("N"), help: "Comma-separated set sizes N.") var N = "2,4,8,16,32,64,128"
    @Option(name: .customLong("L"), help: "Comma-separated latent widths L; 'none' is the plain MLP on the raw vector.") var L = "1,2,3,4,5,20,none"
    @Option(help: "Training sets M.") var trainPoints = 10
    @Option(help: "Adam steps per fit (full batch).") var steps = 3000
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Independent fits per cell; the table shows their median.") var seeds = 3
    @Flag(help: "Print a JSON list of {N, L, rel_error} instead of the table.") var json = false

    func run() throws {
        let ns = try parseList(N, name: "--N") { Int($0) }
        let ls: [Int?] = try parseList(L, name: "--L") { $0.lowercased() == "none" ? Optional<Int?>.some(nil) : Int($0).map { Optional($0) } }
        guard seeds >= 1 else { throw ValidationError("--seeds must be ≥ 1") }
        guard ns.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--N values must be ≥ 1") }
        guard ls.allSatisfy({ ($0 ?? 1) >= 1 }) else { throw ValidationError("--L values must be ≥ 1 or 'none'") }
        var experiment = RegressionExperiment()
        experiment.trainPoints = trainPoints; experiment.steps = steps; experiment.seed = seed; experiment.seeds = seeds
        var results: [RegressionExperiment.Result] = []
        if !json {
            print("Mean relative test error (median of \(seeds) fits), y = (mean x_i^1.5)^(1/1.5), M = \(trainPoints) training sets")
            print(pad("N", 6) + ls.map { pad($0.map { "L=\($0)" } ?? "NONE", 9) }.joined())
        }
        for n in ns {
            var row = String(format: "%6d", n)
            for l in ls {
                let r = experiment.run(N: n, L: l)
                results.append(r)
                row += String(format: "%8.2f%%", 100 * r.relError)
            }
            if !json { print(row) }
        }
        if json {
            let objects = results.map { r -> String in
                "{\"N\": \(r.N), \"L\": \(r.L.map(String.init) ?? "\"none\""), \"rel_error\": \(r.relError)}"
            }
            print("[\n  " + objects.joined(separator: ",\n  ") + "\n]")
        }
    }
}

/// Parses a comma-separated option, naming the option on error.
func parseList<T>(_ text: String, name: String, _ parse: (String) -> T?) throws -> [T] {
    try text.split(separator: ",").map { raw in
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard let v = parse(s) else { throw ValidationError("\(name): cannot read '\(s)' in '\(text)'") }
        return v
    }
}

/// Right-aligns `s` in a field of `width` characters.
func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
