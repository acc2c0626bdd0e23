import XCTest
import SymmetricTraining

/// One YAML file holds every setting; bad keys and values are rejected by name.
final class ConfigTests: XCTestCase {
    func testDefaultsAreThePapersBaseline() {
        // paper §2 and §5 and the reference implementation's default config (docs/references.md)
        let c = RunConfig()
        XCTAssertEqual(c.model.N, 128)
        XCTAssertEqual([c.model.beta, c.model.gamma, c.model.sigma, c.model.eta, c.model.delta], [0.95, 90, 0.005, 0.001, 0.05])
        XCTAssertEqual([c.model.alpha0, c.model.alpha1, c.model.nu, c.model.zeta, c.model.mu], [1, 1, 1, 1, 0])
        XCTAssertEqual(c.method.omegaQuadratureNodes, 7)
        XCTAssertEqual([c.method.trainTrajectories, c.method.valTrajectories, c.method.testTrajectories, c.method.batchSize, c.method.T], [16, 8, 32, 32, 63])
        XCTAssertEqual(c.network.phi, .deepset)
        XCTAssertEqual([c.network.L, c.network.phiLayers, c.network.phiHidden, c.network.rhoLayers, c.network.rhoHidden], [4, 2, 128, 4, 128])
        XCTAssertEqual([c.optimizer.lr, Double(c.optimizer.stepSize), c.optimizer.stepGamma], [1e-3, 100, 0.1])
        XCTAssertEqual(c.trainer.maxEpochs, 100)
        XCTAssertEqual(c.trainer.stoppingThreshold, 1e-6)
        XCTAssertEqual(c.trainer.patience, 50)
        XCTAssertEqual(c.trainer.precision, 32)
    }

    func testResolvedYAMLReadsBackToTheSameConfig() throws {
        var c = RunConfig()
        for o in ["model.N=1024", "model.nu=1.5", "network.phi=moments", "method.batch_size=0", "trainer.max_time=90.5",
                  "optimizer.lr=2.5e-4", "method.own_paths_at_epoch=18", "network.activation=tanh", "seed=7", "method.shuffle=false"] {
            try c.apply(override: o)
        }
        let back = try RunConfig.parse(yaml: c.yaml())
        XCTAssertEqual(back, c)
        XCTAssertEqual(try RunConfig.parse(yaml: RunConfig().yaml()), RunConfig())
    }

    func testShippedBaselineConfigIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../configs/baseline.yaml")
        let c = try RunConfig.load(path: url.standardized.path)
        try c.validate()
        XCTAssertEqual(c.network.phi, .deepset)
        XCTAssertEqual(c.method.testQuadratureNodes, 7, "test residuals are measured with the paper's 7-node rule")
    }

    func testMissingKeysTakeDefaultsAndPartialFilesWork() throws {
        let c = try RunConfig.parse(yaml: "model:\n  N: 64\nnetwork:\n  phi: identity\n")
        XCTAssertEqual(c.model.N, 64)
        XCTAssertEqual(c.network.phi, .identity)
        XCTAssertEqual(c.model.beta, 0.95)
    }

    func testUnknownKeysAreRejectedWithASuggestion() {
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model:\n  gama: 90\n")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "model.gama")
            XCTAssertTrue(e.description.contains("model.gamma"), e.description)
        }
        XCTAssertThrowsError(try RunConfig.parse(yaml: "modle:\n  N: 3\n")) { error in
            XCTAssertEqual((error as! ConfigError).key, "modle")
            XCTAssertTrue("\(error)".contains("model"))
        }
        var c = RunConfig()
        XCTAssertThrowsError(try c.apply(override: "trainer.max_epoch=5")) { XCTAssertTrue("\($0)".contains("trainer.max_epochs")) }
        XCTAssertThrowsError(try c.apply(override: "model.N")) { XCTAssertTrue("\($0)".contains("section.key=value")) }
    }

    func testMalformedValuesNameTheKey() {
        var c = RunConfig()
        for (o, key) in [("model.N=lots", "model.N"), ("model.beta=abc", "model.beta"), ("network.phi=transformer", "network.phi"),
                         ("method.shuffle=maybe", "method.shuffle"), ("seed=-3", "seed"), ("model.gamma=inf", "model.gamma")] {
            XCTAssertThrowsError(try c.apply(override: o), o) { XCTAssertEqual(($0 as! ConfigError).key, key, o) }
        }
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model: [1, 2]\n"))
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model:\n  N: [1, 2]\n")) { XCTAssertEqual(($0 as! ConfigError).key, "model.N") }
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model:\n  N: 3\n   bad: indentation: here\n"))
    }

    func testOutOfRangeValuesAreRejectedBeforeAnyWork() throws {
        let cases: [(String, String)] = [
            ("model.beta=1.2", "model.beta"), ("model.beta=0", "model.beta"), ("model.gamma=0", "model.gamma"),
            ("model.N=0", "model.N"), ("model.sigma=-1", "model.sigma"), ("model.delta=1.5", "model.delta"),
            ("trainer.precision=16", "trainer.precision"), ("method.omega_quadrature_nodes=0", "method.omega_quadrature_nodes"),
            ("optimizer.lr=0", "optimizer.lr"), ("method.own_paths_at_epoch=-1", "method.own_paths_at_epoch"), ("network.L=0", "network.L"), ("method.T=0", "method.T"),
        ]
        for (o, key) in cases {
            var c = RunConfig()
            try c.apply(override: o)
            XCTAssertThrowsError(try c.validate(), o) { error in
                XCTAssertEqual((error as! ConfigError).key, key, o)
                XCTAssertTrue("\(error)".contains("need"), "the message says what is allowed: \(error)")
            }
        }
        var lq = RunConfig()
        try lq.apply(override: "model.nu=1.5")
        XCTAssertNoThrow(try lq.validate(for: .solve))
        XCTAssertThrowsError(try lq.validate(for: .lq)) { XCTAssertEqual(($0 as! ConfigError).key, "model.nu") }
    }
}
