import RealModule

/// Gauss–Hermite rule for a standard normal: nodes `z_k` and weights `w_k` with
/// `E[f(Z)] ≈ Σ_k w_k f(z_k)`, Z ~ N(0,1). Exact for polynomials of degree ≤ 2n−1.
public struct GaussHermite: Sendable, Equatable {
    public let nodes: [Double]
    public let weights: [Double]

    /// Computes the n-point rule by Newton's method on the physicists' Hermite polynomial
    /// H_n (Golub–Welsch-free; accurate to machine precision for n ≤ 100), then rescales
    /// nodes by √2 and weights by 1/√π for the standard normal density.
    public init(nodes n: Int) {
        precondition(n >= 1, "Gauss–Hermite needs at least one node")
        var x = [Double](repeating: 0, count: n), w = [Double](repeating: 0, count: n)
        let m = (n + 1) / 2
        var z = 0.0
        for i in 0..<m {
            // initial guesses (Numerical Recipes, gauher)
            switch i {
            case 0: z = (Double(2 * n + 1)).squareRoot() - 1.85575 * Double.pow(Double(2 * n + 1), -0.16667)
            case 1: z -= 1.14 * Double.pow(Double(n), 0.426) / z
            case 2: z = 1.86 * z - 0.86 * x[0]
            case 3: z = 1.91 * z - 0.91 * x[1]
            default: z = 2 * z - x[i - 2]
            }
            var pp = 0.0
            for _ in 0..<100 {
                // orthonormal recurrence for H_n / normalisation
                var p1 = 1 / Double.pow(Double.pi, 0.25), p2 = 0.0
                for j in 0..<n {
                    let p3 = p2; p2 = p1
                    p1 = z * (2.0 / Double(j + 1)).squareRoot() * p2 - (Double(j) / Double(j + 1)).squareRoot() * p3
                }
                pp = (2 * Double(n)).squareRoot() * p2
                let z1 = z
                z = z1 - p1 / pp
                if abs(z - z1) <= 1e-15 * max(1, abs(z)) { break }
            }
            x[i] = z; x[n - 1 - i] = -z
            w[i] = 2 / (pp * pp); w[n - 1 - i] = w[i]
        }
        if n % 2 == 1 { x[n / 2] = 0 }
        let order = (0..<n).sorted { x[$0] < x[$1] }
        nodes = order.map { x[$0] * 2.0.squareRoot() }
        weights = order.map { w[$0] / Double.pi.squareRoot() }
    }

    /// Tensor product rule for independent standard normals in `dimensions` dimensions.
    public static func product(nodes n: Int, dimensions: Int) -> (points: [[Double]], weights: [Double]) {
        let rule = GaussHermite(nodes: n)
        var points: [[Double]] = [[]], weights: [Double] = [1]
        for _ in 0..<dimensions {
            var np: [[Double]] = [], nw: [Double] = []
            for (p, w) in zip(points, weights) {
                for (z, v) in zip(rule.nodes, rule.weights) { np.append(p + [z]); nw.append(w * v) }
            }
            points = np; weights = nw
        }
        return (points, weights)
    }
}
