import ArgumentParser

struct ConcentrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "concentration", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("not yet implemented") }
}
