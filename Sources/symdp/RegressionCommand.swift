import ArgumentParser

struct RegressionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "regression", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("not yet implemented") }
}
