import ArgumentParser

struct LQCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lq", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("not yet implemented") }
}
