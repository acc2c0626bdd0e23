import RealModule

/// Seeded, reproducible generator (xoshiro256**, seeded through SplitMix64): the same seed
/// gives the same numbers on every run and machine.
public struct SeededGenerator: RandomNumberGenerator {
    @usableFromInline var s: (UInt64, UInt64, UInt64, UInt64)
    @usableFromInline var cachedNormal: Double?

    public init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform on [0, 1) with 53 random bits.
    @inlinable
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform on [a, b).
    @inlinable
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Standard normal draw (Box–Muller, both variates used).
    @inlinable
    public mutating func normal() -> Double {
        if let z = cachedNormal { cachedNormal = nil; return z }
        var u1 = uniform()
        while u1 <= .leastNormalMagnitude { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * Double.log(u1)).squareRoot()
        cachedNormal = r * Double.sin(2 * .pi * u2)
        return r * Double.cos(2 * .pi * u2)
    }

    @inlinable
    public mutating func normal(mean: Double, std: Double) -> Double { mean + std * normal() }

    /// A new generator derived from this one (independent streams for sub-tasks).
    public mutating func fork() -> SeededGenerator { SeededGenerator(seed: next()) }
}

extension Tensor {
    /// Independent standard normal draws (scaled and shifted).
    public static func randomNormal(shape: [Int], mean: Double = 0, std: Double = 1, using g: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.pointer[i] = T(g.normal(mean: mean, std: std)) }
        return t
    }

    /// Independent uniform draws on [low, high).
    public static func randomUniform(shape: [Int], low: Double = 0, high: Double = 1, using g: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.pointer[i] = T(g.uniform(low, high)) }
        return t
    }
}

extension Array {
    /// Fisher–Yates shuffle driven by the seeded generator.
    public mutating func seededShuffle(using g: inout SeededGenerator) {
        guard count > 1 else { return }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(g.next() % UInt64(i + 1))
            swapAt(i, j)
        }
    }
}
