import Foundation
import SymmetricModels

/// The model files shipped in the repository's `models/` folder, behind `model.kind`.
public enum ShippedModels {
    /// `models/` of this installation: `$SYMDP_MODELS`, else the first `models/` beside or above
    /// the executable (a build in `.build/…` inside the repository), the current folder, or the
    /// source checkout this binary was built from.
    public static func folder() -> URL? {
        let fm = FileManager.default
        func ok(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("investment.yaml").path) }
        if let env = ProcessInfo.processInfo.environment["SYMDP_MODELS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var candidates: [URL] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 { candidates.append(dir.appendingPathComponent("models")); dir = dir.deletingLastPathComponent() }
        candidates.append(URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("models"))
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models"))
        return candidates.first(where: ok)
    }

    /// The file behind a `model.kind`, when the kind is a model file (investment, productivity,
    /// and types with two types: a model file has a fixed number of groups).
    public static func file(for kind: ModelKind, types: Int = 2) throws -> String? {
        guard kind == .investment || kind == .productivity || (kind == .types && types == 2) else { return nil }
        guard let folder = folder() else {
            throw ConfigError(key: "model.kind", "cannot find the shipped model files (models/\(kind.rawValue).yaml): set SYMDP_MODELS to the repository's models/ folder")
        }
        return folder.appendingPathComponent("\(kind.rawValue).yaml").path
    }

    /// A kind's model file compiled with the config's `model.*` keys (and `method.X_0_*`).
    static func compile(_ c: RunConfig) throws -> CompiledModel? {
        guard let path = try file(for: c.kind, types: c.extensions.typeSizes.count) else { return nil }
        let m = c.model
        var values: [String: Double] = [
            "N": Double(m.N), "alpha_0": m.alpha0, "alpha_1": m.alpha1, "beta": m.beta, "gamma": m.gamma, "delta": m.delta,
            "sigma": m.sigma, "eta": m.eta, "nu": m.nu, "zeta": m.zeta, "x0_loc": c.method.X0Loc, "x0_scale": c.method.X0Scale,
        ]
        if c.kind == .investment { values["mu"] = m.mu }
        if c.kind == .productivity { values["rho_y"] = c.extensions.rhoY; values["sigma_y"] = c.extensions.sigmaY }
        if c.kind == .types {
            values["n_1"] = Double(c.extensions.typeSizes[0])
            values["a_1"] = c.extensions.typeProductivities[0]; values["a_2"] = c.extensions.typeProductivities[1]
        }
        return try ModelCompiler.compile(try ModelFile.load(path: path), overrides: values)
    }
}
