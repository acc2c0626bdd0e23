// swift-tools-version:6.0
import PackageDescription

/// Layers depend downward only:
/// CBLAS, SymmetricKernels (C) ← SymmetricNumerics ← SymmetricNetworks ← SymmetricEconomics ← SymmetricModels
/// ← SymmetricTraining ← symdp
/// Generic numerics (Tensor<T>, Adam<T>, …) must be specialised where they are used.
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"])]

let package = Package(
    name: "SymmetricDP",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SymmetricDP", targets: ["SymmetricNumerics", "SymmetricNetworks", "SymmetricEconomics", "SymmetricModels", "SymmetricTraining"]),
        .executable(name: "symdp", targets: ["symdp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "SymmetricKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        .target(name: "SymmetricNumerics",
                dependencies: ["CBLAS", "SymmetricKernels", .product(name: "RealModule", package: "swift-numerics")],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-cross-module-optimization"])]),
        .target(name: "SymmetricNetworks", dependencies: ["CBLAS", "SymmetricNumerics"], swiftSettings: optimized),
        .target(name: "SymmetricEconomics", dependencies: ["CBLAS", "SymmetricNumerics", "SymmetricNetworks"], swiftSettings: optimized),
        .target(name: "SymmetricModels",
                dependencies: ["SymmetricNumerics", "SymmetricNetworks", "SymmetricEconomics", "Yams"], swiftSettings: optimized),
        .target(name: "SymmetricTraining",
                dependencies: ["SymmetricNumerics", "SymmetricNetworks", "SymmetricEconomics", "SymmetricModels", "Yams"], swiftSettings: optimized),
        .executableTarget(name: "symdp",
                          dependencies: ["SymmetricTraining",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "NumericsTests", dependencies: ["SymmetricNumerics"]),
        .testTarget(name: "NetworksTests", dependencies: ["SymmetricNetworks"]),
        .testTarget(name: "EconomicsTests", dependencies: ["SymmetricEconomics"]),
        .testTarget(name: "ModelTests", dependencies: ["SymmetricModels", "SymmetricEconomics"]),
        .testTarget(name: "TrainingTests", dependencies: ["SymmetricTraining"]),
    ],
    swiftLanguageModes: [.v5]
)
