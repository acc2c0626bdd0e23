import ArgumentParser

/// `symdp`: solve high-dimensional symmetric dynamic programming problems.
@main
struct SymDP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symdp",
        abstract: "Solve N-agent dynamic models by exploiting symmetry (Ebrahimi Kahou, Fernández-Villaverde, Perla, Sood).",
        subcommands: [SolveCommand.self, EvaluateCommand.self, ConfigCommand.self, CheckCommand.self, SimulateCommand.self, LQCommand.self, ConcentrationCommand.self, RegressionCommand.self, BenchCommand.self, SweepCommand.self, ReportCommand.self, FigureCommand.self])
}
