import Foundation
import SymmetricNumerics

/// One line of a plot.
public struct Series {
    public var x: [Double], y: [Double]
    public var label: String
    public var color: String?
    public var dashed = false
    public var markers = false
    public init(x: [Double], y: [Double], label: String, color: String? = nil, dashed: Bool = false, markers: Bool = false) {
        self.x = x; self.y = y; self.label = label; self.color = color; self.dashed = dashed; self.markers = markers
    }
}

/// A shaded band between two curves (e.g. a 2.5–97.5 % interval).
public struct Band {
    public var x: [Double], lower: [Double], upper: [Double]
    public var label: String
    public var color: String?
    public var opacity = 0.2
    public init(x: [Double], lower: [Double], upper: [Double], label: String, color: String? = nil, opacity: Double = 0.2) {
        self.x = x; self.lower = lower; self.upper = upper; self.label = label; self.color = color; self.opacity = opacity
    }
}

/// A line plot written as SVG (and PNG when `rsvg-convert` or ImageMagick is installed):
/// axes with 1-2-5 ticks (powers of ten on log axes), labels, title, legend, bands.
public struct LinePlot {
    public var title: String
    public var xLabel: String, yLabel: String
    public var xLog = false, yLog = false
    public var series: [Series] = []
    public var bands: [Band] = []
    /// Horizontal reference lines (value, label).
    public var referenceLines: [(y: Double, label: String)] = []
    public var width = 720.0, height = 480.0
    /// Corner of the plot area that holds the legend.
    public var legendPosition = LegendPosition.automatic

    /// `automatic` picks the corner that hides the fewest plotted points.
    public enum LegendPosition: Sendable { case automatic, topRight, topLeft, bottomRight, bottomLeft }

    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, xLog: Bool = false, yLog: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.xLog = xLog; self.yLog = yLog
    }

    func usable(_ v: Double, log: Bool) -> Bool { v.isFinite && (!log || v > 0) }
    func transform(_ v: Double, log: Bool) -> Double { log ? Foundation.log10(v) : v }

    /// Data range on one axis after the log transform, padded; a default when empty.
    func range(_ values: [Double], log: Bool, pad: Double) -> (Double, Double) {
        let t = values.filter { usable($0, log: log) }.map { transform($0, log: log) }
        guard var lo = t.min(), var hi = t.max() else { return (0, 1) }
        if hi - lo < 1e-12 * max(1, abs(hi)) { let d = max(abs(hi) * 0.1, log ? 0.5 : 1e-12); lo -= d; hi += d }
        if log { return (Foundation.floor(lo), Foundation.ceil(hi)) }
        let span = hi - lo
        return (lo - pad * span, hi + pad * span)
    }

    /// 1-2-5 ticks on a linear axis.
    static func linearTicks(_ lo: Double, _ hi: Double, target: Int = 6) -> [Double] {
        let raw = (hi - lo) / Double(target)
        guard raw > 0, raw.isFinite else { return [lo] }
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var ticks: [Double] = []
        var t = Foundation.ceil(lo / step) * step
        while t <= hi + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    static func tickLabel(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v).replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e") }
        var s = String(format: "%.6g", v)
        if s.contains(".") && !s.contains("e") { while s.hasSuffix("0") { s.removeLast() }; if s.hasSuffix(".") { s.removeLast() } }
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    public func svg() -> String {
        let left = 86.0, right = 24.0, top = 46.0, bottom = 62.0
        let pw = width - left - right, ph = height - top - bottom
        let xs = series.flatMap(\.x) + bands.flatMap(\.x)
        let ys = series.flatMap(\.y) + bands.flatMap { $0.lower + $0.upper } + referenceLines.map(\.y)
        let (x0, x1) = range(xs, log: xLog, pad: 0.02), (y0, y1) = range(ys, log: yLog, pad: 0.06)
        func px(_ v: Double) -> Double { left + (transform(v, log: xLog) - x0) / (x1 - x0) * pw }
        func py(_ v: Double) -> Double { top + ph - (transform(v, log: yLog) - y0) / (y1 - y0) * ph }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="26" text-anchor="middle" font-size="15" font-weight="bold">\(Self.escape(title))</text>

        """
        // ticks and grid
        func axisTicks(log: Bool, lo: Double, hi: Double) -> (major: [Double], minor: [Double]) {
            if log {
                let decades = Array(Int(lo)...Int(hi))
                let stride = max(1, decades.count / 8)
                let major = decades.filter { ($0 - Int(lo)) % stride == 0 }.map { Foundation.pow(10, Double($0)) }
                let minor = stride == 1 ? decades.dropLast().flatMap { d in (2...9).map { Double($0) * Foundation.pow(10, Double(d)) } } : []
                return (major, minor)
            }
            return (Self.linearTicks(lo, hi), [])
        }
        let xt = axisTicks(log: xLog, lo: x0, hi: x1), yt = axisTicks(log: yLog, lo: y0, hi: y1)
        for v in xt.minor { let x = px(v); s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + ph)\" stroke=\"#f0f0f0\"/>\n" }
        for v in yt.minor { let y = py(v); s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + pw)\" y2=\"\(y)\" stroke=\"#f0f0f0\"/>\n" }
        func logLabel(_ v: Double) -> String { "10<tspan dy=\"-6\" font-size=\"9\">\(Int(Foundation.log10(v).rounded()))</tspan>" }
        for v in xt.major {
            let x = px(v)
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + ph)\" stroke=\"#dddddd\"/>\n"
            s += "<line x1=\"\(x)\" y1=\"\(top + ph)\" x2=\"\(x)\" y2=\"\(top + ph + 5)\" stroke=\"black\"/>\n"
            s += "<text x=\"\(x)\" y=\"\(top + ph + 20)\" text-anchor=\"middle\" font-size=\"12\">\(xLog ? logLabel(v) : Self.tickLabel(v))</text>\n"
        }
        for v in yt.major {
            let y = py(v)
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + pw)\" y2=\"\(y)\" stroke=\"#dddddd\"/>\n"
            s += "<line x1=\"\(left - 5)\" y1=\"\(y)\" x2=\"\(left)\" y2=\"\(y)\" stroke=\"black\"/>\n"
            s += "<text x=\"\(left - 8)\" y=\"\(y + 4)\" text-anchor=\"end\" font-size=\"12\">\(yLog ? logLabel(v) : Self.tickLabel(v))</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 16)\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(xLabel))</text>\n"
        s += "<text x=\"18\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 \(top + ph / 2))\">\(Self.escape(yLabel))</text>\n"
        s += "<clipPath id=\"plotarea\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\"/></clipPath>\n<g clip-path=\"url(#plotarea)\">\n"
        var legend: [(label: String, color: String, kind: String, dashed: Bool)] = []
        for (i, b) in bands.enumerated() {
            let color = b.color ?? Self.palette[i % Self.palette.count]
            let pts = zip(b.x, zip(b.lower, b.upper)).filter { usable($0.0, log: xLog) && usable($0.1.0, log: yLog) && usable($0.1.1, log: yLog) }
            guard pts.count > 1 else { continue }
            let upper = pts.map { "\(px($0.0)),\(py($0.1.1))" }, lower = pts.reversed().map { "\(px($0.0)),\(py($0.1.0))" }
            s += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"\(b.opacity)\" stroke=\"none\"/>\n"
            legend.append((b.label, color, "band", false))
        }
        for (y, label) in referenceLines where usable(y, log: yLog) {
            s += "<line x1=\"\(left)\" y1=\"\(py(y))\" x2=\"\(left + pw)\" y2=\"\(py(y))\" stroke=\"#555555\" stroke-dasharray=\"2,3\"/>\n"
            legend.append((label, "#555555", "line", true))
        }
        for (i, line) in series.enumerated() {
            let color = line.color ?? Self.palette[i % Self.palette.count]
            // break the path at unusable points (NaN, ≤ 0 on a log axis)
            var d = "", pen = false
            for (x, y) in zip(line.x, line.y) {
                guard usable(x, log: xLog), usable(y, log: yLog) else { pen = false; continue }
                d += "\(pen ? "L" : "M")\(px(x)),\(py(y)) "
                pen = true
            }
            if !d.isEmpty {
                s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
            }
            if line.markers {
                for (x, y) in zip(line.x, line.y) where usable(x, log: xLog) && usable(y, log: yLog) {
                    s += "<circle cx=\"\(px(x))\" cy=\"\(py(y))\" r=\"3.5\" fill=\"\(color)\"/>\n"
                }
            }
            legend.append((line.label, color, line.markers ? "marker" : "line", line.dashed))
        }
        s += "</g>\n"
        if !legend.isEmpty {
            let lw = 24 + 7.0 * Double(legend.map(\.label.count).max() ?? 0) + 16, lh = 20.0 * Double(legend.count) + 10
            func corner(_ p: LegendPosition) -> (Double, Double) {
                let onRight = p == .topRight || p == .bottomRight, onTop = p == .topRight || p == .topLeft
                return (onRight ? left + pw - lw - 10 : left + 10, onTop ? top + 10 : top + ph - lh - 10)
            }
            var position = legendPosition
            if position == .automatic {
                var points: [(Double, Double)] = []
                for line in series { for (x, y) in zip(line.x, line.y) where usable(x, log: xLog) && usable(y, log: yLog) { points.append((px(x), py(y))) } }
                for b in bands { for (x, (l, u)) in zip(b.x, zip(b.lower, b.upper)) where usable(x, log: xLog) && usable(l, log: yLog) && usable(u, log: yLog) {
                    points.append((px(x), py(l))); points.append((px(x), py(u)))
                } }
                let candidates: [LegendPosition] = [.topRight, .topLeft, .bottomRight, .bottomLeft]
                position = candidates.min { a, b in
                    func hidden(_ c: LegendPosition) -> Int {
                        let (x0, y0) = corner(c)
                        return points.filter { $0.0 >= x0 && $0.0 <= x0 + lw && $0.1 >= y0 && $0.1 <= y0 + lh }.count
                    }
                    return hidden(a) < hidden(b)
                } ?? .topRight
            }
            let (lx, ly) = corner(position)
            s += "<rect x=\"\(lx)\" y=\"\(ly)\" width=\"\(lw)\" height=\"\(lh)\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n"
            for (i, e) in legend.enumerated() {
                let y = ly + 15 + 20 * Double(i)
                switch e.kind {
                case "band": s += "<rect x=\"\(lx + 8)\" y=\"\(y - 6)\" width=\"22\" height=\"10\" fill=\"\(e.color)\" fill-opacity=\"0.3\"/>\n"
                default:
                    s += "<line x1=\"\(lx + 8)\" y1=\"\(y)\" x2=\"\(lx + 30)\" y2=\"\(y)\" stroke=\"\(e.color)\" stroke-width=\"2\"\(e.dashed ? " stroke-dasharray=\"6,4\"" : "")/>\n"
                    if e.kind == "marker" { s += "<circle cx=\"\(lx + 19)\" cy=\"\(y)\" r=\"3.5\" fill=\"\(e.color)\"/>\n" }
                }
                s += "<text x=\"\(lx + 36)\" y=\"\(y + 4)\" font-size=\"12\">\(Self.escape(e.label))</text>\n"
            }
        }
        s += "</svg>\n"
        return s
    }

    /// Writes the SVG atomically, and a PNG beside it when a converter is installed.
    public func write(to url: URL) throws {
        try AtomicFile.write(svg(), to: url)
        _ = Self.convertToPNG(url)
    }

    /// Converts an SVG to PNG with `rsvg-convert` or ImageMagick, if present; returns the PNG URL.
    @discardableResult
    public static func convertToPNG(_ svg: URL) -> URL? {
        let png = svg.deletingPathExtension().appendingPathExtension("png")
        let tmp = svg.deletingLastPathComponent().appendingPathComponent(".\(png.lastPathComponent).tmp.png")
        let candidates: [(String, [String])] = [
            ("rsvg-convert", ["-b", "white", "-o", tmp.path, svg.path]),
            ("magick", [svg.path, tmp.path]),
        ]
        for (tool, args) in candidates {
            guard let exe = findExecutable(tool) else { continue }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run(); p.waitUntilExit() } catch { continue }
            if p.terminationStatus == 0, rename(tmp.path, png.path) == 0 { return png }
            unlink(tmp.path)
        }
        return nil
    }

    static func findExecutable(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A CSV table with a header row; numbers keep full precision.
public struct CSVTable {
    public var header: [String]
    public var rows: [[String]] = []
    public init(header: [String]) { self.header = header }
    public mutating func append(_ values: [CustomStringConvertible?]) { rows.append(values.map { $0.map { "\($0)" } ?? "" }) }
    public var text: String {
        func field(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        return ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }
}
