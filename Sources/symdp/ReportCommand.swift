import ArgumentParser
import Foundation
import SymmetricNumerics
import SymmetricTraining

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Aggregate run folders into the paper's table layout: medians over seeds, success rates (Markdown, CSV, LaTeX).",
        discussion: """
        Every folder with a metrics.json under the given folders is one run; runs of a sweep are grouped by their
        configuration (run.json), other runs by their parent folder.
          symdp report runs/sweeps/table2_identity runs/sweeps/table2_deepsets --out docs/tables/table2
        """)

    @Argument(help: "Folders holding runs (searched recursively).") var folders: [String]
    @Option(help: "Write report.md, report.csv and report.tex into this folder.") var out: String?
    @Option(help: "What to print: markdown | csv | latex.") var format = "markdown"
    @Flag(help: "Medians over successful runs only (as the paper's tables), not over every run.") var successfulOnly = false

    func run() throws {
        guard ["markdown", "md", "csv", "latex", "tex"].contains(format) else {
            throw ValidationError("--format must be markdown, csv or latex")
        }
        do {
            let roots = folders.map { URL(fileURLWithPath: $0) }
            let records = try Report.collect(roots)
            let unfinished = Report.unfinished(roots)
            if !unfinished.isEmpty {
                let shown = unfinished.prefix(5).map(\.path).joined(separator: ", ") + (unfinished.count > 5 ? ", …" : "")
                FileHandle.standardError.write("report: \(unfinished.count) run(s) have not ended and are left out: \(shown)\n".data(using: .utf8)!)
            }
            guard !records.isEmpty else { throw SolverError("no finished runs (folders with metrics.json) under \(folders.joined(separator: ", "))") }
            let missing = Report.missing(roots)
            for (sweep, count) in missing.sorted(by: { $0.key < $1.key }) {
                FileHandle.standardError.write("report: sweep \(sweep): \(count) run(s) have not started; run the sweep again to finish it\n".data(using: .utf8)!)
            }
            var report = Report(records: records, successfulOnly: successfulOnly)
            report.unfinishedRuns = unfinished.count
            report.missingRuns = missing.values.reduce(0, +)
            if let out {
                let dir = URL(fileURLWithPath: out)
                try AtomicFile.write(report.markdown(), to: dir.appendingPathComponent("report.md"))
                try AtomicFile.write(report.csv(), to: dir.appendingPathComponent("report.csv"))
                try AtomicFile.write(report.latex(), to: dir.appendingPathComponent("report.tex"))
            }
            switch format {
            case "csv": print(report.csv(), terminator: "")
            case "latex", "tex": print(report.latex(), terminator: "")
            default: print(report.markdown(), terminator: "")
            }
        } catch {
            throw CLIError(error)
        }
    }
}
