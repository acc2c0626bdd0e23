import ArgumentParser
import Foundation
import SymmetricTraining

/// Options shared by every command that reads a run configuration.
struct ConfigOptions: ParsableArguments {
    @Option(help: "YAML config file (defaults for every missing key).") var config: String?
    @Option(name: .customLong("set"), help: "Override one key, e.g. --set model.N=1024 (repeatable).") var overrides: [String] = []
    @Option(help: "Random seed (same as --set seed=N).") var seed: UInt64?
    @Option(help: "Model file to solve (same as --set model.file=FILE); --set model.NAME=VALUE sets its parameters.") var model: String?

    /// The config file with the overrides applied (not yet validated).
    func resolve() throws -> RunConfig {
        var cfg = try config.map { try RunConfig.load(path: $0) } ?? RunConfig()
        if let model { try cfg.apply(override: "model.file=\(model)") }
        for o in overrides { try cfg.apply(override: o) }
        if let seed { cfg.seed = seed }
        return cfg
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the fully resolved run configuration (every key, with its default or override).",
        discussion: "symdp config --set network.phi=moments > my-run.yaml   then   symdp solve --config my-run.yaml")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        do {
            let cfg = try options.resolve()
            try cfg.validate()
            print(cfg.yaml(), terminator: "")
        } catch {
            throw CLIError(error)
        }
    }
}
