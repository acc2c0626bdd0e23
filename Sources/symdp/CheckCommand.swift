import ArgumentParser
import Foundation
import SymmetricModels
import SymmetricTraining

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a model file and print what the compiler understood: parameters, states, shocks, controls and their network inputs, equations.",
        discussion: """
        The first error stops the check with the file, line and column and a non-zero exit status:
          symdp check models/investment.yaml --set model.mu=0.05
        """)

    @Argument(help: "Model file.") var file: String
    @Option(name: .customLong("set"), help: "Set a parameter, e.g. --set model.nu=1.5 (repeatable).") var overrides: [String] = []

    func run() throws {
        do {
            var cfg = RunConfig()
            try cfg.apply(override: "model.file=\(file)")
            for o in overrides { try cfg.apply(override: o) }
            let start = DispatchTime.now().uptimeNanoseconds
            let m = try cfg.compiledModel()
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            print(describe(m) + String(format: "compiled in %.1f ms: OK\n", ms), terminator: "")
        } catch {
            throw CLIError(error)
        }
    }

    func describe(_ m: CompiledModel) -> String {
        let f = m.file
        var s = "model \(f.name)\(f.description.isEmpty ? "" : ": " + f.description)\n"
        s += "parameters:\n"
        for p in f.parameters {
            let v = m.value(of: p.name) ?? p.value
            var bounds = ""
            if p.min != nil || p.max != nil { bounds = " in [\(p.min.map { "\($0)" } ?? "-∞"), \(p.max.map { "\($0)" } ?? "∞")]" }
            s += "  \(p.name) = \(v)\(bounds)\(p.help.isEmpty ? "" : "   # " + p.help)\n"
        }
        if !f.derived.isEmpty {
            s += "derived:\n"
            for d in f.derived { s += "  \(d.name) = \(m.value(of: d.name)!)\n" }
        }
        s += "agents: N = \(m.N), states [\(m.states.joined(separator: ", "))]\n"
        for (i, e) in m.initial.enumerated() { s += "  initial \(m.states[i]) ~ \(e)\n" }
        for chain in m.chains {
            s += "Markov state \(chain.name) ∈ \(chain.values), " + (chain.perAgent
                ? "per agent\(chain.given.map { ", its chain given \(m.states[$0]) and \(m.states[$0])'" } ?? ""); initial shares \(chain.initialShares.map { String(format: "%.4f", $0) }); E[·] sums over the agent of interest's next value exactly, everybody else's from one matched-share draw"
                : "per economy; starts at \(chain.values[chain.initialIndex]); E[·] sums over its next value exactly, P = \(chain.economyTransition.map { $0.map { String(format: "%.4f", $0) } })") + "\n"
        }
        s += "shocks:\(m.shocks.isEmpty ? " none" : "")\n"
        for sh in m.shocks {
            s += "  \(sh.name): " + (sh.perAgent
                ? "per agent; everybody else's by one normalised draw fixed for the run"
                  + (m.ownQuadratureShocks.contains(m.shocks.firstIndex { $0.name == sh.name }!) ? ", the agent of interest's by Gauss–Hermite" : "")
                : "per economy, Gauss–Hermite (method.omega_quadrature_nodes)") + "\n"
        }
        s += "controls:\n"
        for c in m.controls {
            let own = (c.own + c.aggregate).map { m.states[$0] }, dist = c.distribution.map { m.states[$0] }
            let inputs = (own + ["mean_i φ(\(dist.map { $0 + "_i" }.joined(separator: ", ")))"]).joined(separator: ", ")
            s += "  \(c.name) = \(c.transform == nil ? "" : "transform(")ρ(\(inputs))\(c.transform == nil ? "" : ")")"
            s += c.perAgent ? ", differs across agents" : ", the same for every agent"
            if !c.ownDropped.isEmpty {
                s += "\n    own state\(c.ownDropped.count == 1 ? "" : "s") \(c.ownDropped.map { m.states[$0] }.joined(separator: ", ")) dropped: with these parameters the equations see the agent's own states only through the controls"
            }
            s += "\n"
        }
        s += "equations:\n"
        for (i, e) in m.equations.enumerated() {
            s += "  \(e.name): \(f.equations[i].expression) = 0, " + (m.perAgentResiduals ? "one residual per agent of interest (method.firms_per_state per state in training)" : "one residual per state") + "\n"
        }
        s += "simulate: \(f.simulate.map { "\($0.name) = \($0.expression)" }.joined(separator: "; "))\n"
        let exact = zip(m.controls, m.exact).compactMap { c, e in e.map { "\(c.name) = \($0)" } }
        s += "exact: " + (exact.isEmpty ? (f.exact.isEmpty ? "none" : "none with these parameters (valid_if fails)") : exact.joined(separator: "; ")) + "\n"
        return s
    }
}
