import Foundation
import SymmetricModels

/// Run configs that solve a model file: `model.file` (or `--model`), the file's parameters as
/// `model.NAME` keys, and the file's SHA-256 recorded in the run's `config.yaml`.
extension RunConfig {
    /// Handles `model.file`, `model.sha256` and, once a model file is set, its `model.NAME`
    /// parameters. Returns false for every other key.
    mutating func setModelFileKey(_ path: String, value: String) throws -> Bool {
        if path == "model.file" {
            let v = value.trimmingCharacters(in: .whitespaces)
            guard !v.isEmpty, !["null", "~", "none"].contains(v.lowercased()) else { modelFile = nil; return true }
            if modelFile != v { modelSHA256 = nil }
            modelFile = v
            return true
        }
        if path == "model.sha256" { modelSHA256 = value.trimmingCharacters(in: .whitespaces); return true }
        guard modelFile != nil, path.hasPrefix("model."), path != "model.kind" else { return false }
        let name = String(path.dropFirst("model.".count))
        guard let v = Double(value.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")), v.isFinite else {
            throw ConfigError(key: path, "expected a finite number for the model parameter '\(name)', got '\(value.prefix(80))'")
        }
        _ = v
        modelValues.removeAll { $0.name == name }
        modelValues.append((name, value.trimmingCharacters(in: .whitespaces)))
        return true
    }

    /// The model file's parameter values given in the config, by name.
    public var modelOverrides: [String: Double] {
        Dictionary(modelValues.map { ($0.name, Double($0.value.replacingOccurrences(of: "_", with: ""))!) }, uniquingKeysWith: { $1 })
    }

    /// Reads, checks and compiles the model file with the config's parameter values; the
    /// recorded SHA-256, when there is one, must match the file.
    public func compiledModel() throws -> CompiledModel {
        guard let path = modelFile else { throw ConfigError(key: "model.file", "no model file is set") }
        let file = try ModelFile.load(path: path)
        if let recorded = modelSHA256, let data = FileManager.default.contents(atPath: path) {
            let now = sha256Hex(Array(data))
            guard now == recorded else {
                throw ConfigError(key: "model.sha256", "the model file \(path) has changed since this config was written (sha256 \(recorded.prefix(12))… recorded, \(now.prefix(12))… now): restore the file, or delete the sha256 line to solve the edited model")
            }
        }
        return try ModelCompiler.compile(file, overrides: modelOverrides)
    }

    /// The model file the engine solves for this config: `model.file`, or the shipped file behind
    /// `model.kind`; nil for the kinds that stay in Swift.
    public func engineModel() throws -> CompiledModel? {
        try modelFile != nil ? compiledModel() : ShippedModels.compile(self)
    }

    /// The economy's name for messages and plots: the model file's `name`, or `model.kind`.
    public var modelName: String {
        guard modelFile != nil, let compiled = try? compiledModel() else { return kind.rawValue }
        return compiled.file.name
    }

    /// `config.yaml` of a model-file run: the file's absolute path, its SHA-256 and every
    /// parameter value (with the file's comments), then the solver's sections.
    func modelFileYAML() -> String {
        var out = "# SymmetricDP run configuration (every key; missing keys take these defaults)\n"
        let path = modelFile ?? ""
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let data = FileManager.default.contents(atPath: path)
        let file = try? ModelFile.load(path: path)
        out += "\n# the economy: \(file?.name ?? path)\(file.map { $0.description.isEmpty ? "" : " — " + $0.description } ?? "")\nmodel:\n"
        out += "  file: \(absolute)\n"
        if let data { out += "  sha256: \(sha256Hex(Array(data)))\n" }
        let overrides = modelOverrides
        for p in file?.parameters ?? [] {
            let v = overrides[p.name] ?? p.value
            let line = "  \(p.name): \(formatDouble(v))"
            out += p.help.isEmpty ? line + "\n" : line.padding(toLength: max(line.count, 36), withPad: " ", startingAt: 0) + "  # \(p.help)\n"
        }
        let rest = yamlSections(excluding: ["model"])
        return out + rest
    }
}
