import Foundation
import SymmetricNumerics

/// A tensor of either precision, as stored in a checkpoint.
public enum AnyTensor {
    case float(Tensor<Float>)
    case double(Tensor<Double>)

    public init(_ t: Tensor<Float>) { self = .float(t) }
    public init(_ t: Tensor<Double>) { self = .double(t) }
    public init<T: TensorScalar>(_ t: Tensor<T>) {
        if let f = t as? Tensor<Float> { self = .float(f) } else { self = .double(t.cast(to: Double.self)) }
    }

    public var shape: [Int] {
        switch self { case .float(let t): return t.shape; case .double(let t): return t.shape }
    }
    public var dtype: String {
        switch self { case .float: return "F32"; case .double: return "F64" }
    }

    /// The tensor in precision T (converted when stored in the other one).
    public func tensor<T: TensorScalar>(as: T.Type = T.self) -> Tensor<T> {
        switch self {
        case .float(let t): return (t as? Tensor<T>) ?? t.cast(to: T.self)
        case .double(let t): return (t as? Tensor<T>) ?? t.cast(to: T.self)
        }
    }
}

/// Why a safetensors file could not be read; names the file and what is wrong.
public struct SafetensorsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot read safetensors file '\(path)': \(reason)" }
}

/// The contents of a safetensors file.
public struct SafetensorsFile {
    public var tensors: [String: AnyTensor]
    public var metadata: [String: String]
}

/// The safetensors format: an 8-byte little-endian header length n, an n-byte JSON header
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}` (offsets
/// into the byte buffer that follows), then the little-endian tensor data.
public enum Safetensors {
    /// Writes tensors (sorted by name, packed in that order) atomically.
    public static func write(_ tensors: [(String, AnyTensor)], metadata: [String: String] = [:], to url: URL) throws {
        let sorted = tensors.sorted { $0.0 < $1.0 }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var body = Data()
        for (name, t) in sorted {
            precondition(name != "__metadata__", "a tensor cannot be named __metadata__")
            let bytes: Data
            switch t {
            case .float(let x): bytes = Data(bytes: x.pointer, count: x.count * 4)
            case .double(let x): bytes = Data(bytes: x.pointer, count: x.count * 8)
            }
            header[name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + bytes.count]] as [String: Any]
            body.append(bytes)
            offset += bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad with spaces, as the reference writer does
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        try AtomicFile.write(out, to: url)
    }

    /// Reads a file, validating every header entry against the data; never traps on bad input.
    public static func read(from url: URL) throws -> SafetensorsFile {
        let path = url.path
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("no such file or not readable") }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, too short for the 8-byte header length (truncated?)") }
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard n <= UInt64(data.count - 8) else { throw fail("header length \(n) exceeds the file size \(data.count) (truncated or not a safetensors file)") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw fail("header is not a JSON object (corrupted or not a safetensors file)")
        }
        let body = data.subdata(in: (8 + Int(n))..<data.count)
        var metadata: [String: String] = [:]
        var tensors: [String: AnyTensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ must map strings to strings") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeRaw = entry["shape"] as? [Any], let offsetsRaw = entry["data_offsets"] as? [Any] else {
                throw fail("entry '\(name)' needs dtype, shape and data_offsets")
            }
            let shape = shapeRaw.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetsRaw.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeRaw.count, shape.allSatisfy({ $0 >= 0 }) else { throw fail("entry '\(name)' has an invalid shape \(shapeRaw)") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= body.count else {
                throw fail("entry '\(name)' has data_offsets \(offsetsRaw) outside the \(body.count)-byte data buffer")
            }
            let size: Int
            switch dtype {
            case "F32": size = 4
            case "F64": size = 8
            default: throw fail("entry '\(name)' has dtype \(dtype); only F32 and F64 are supported")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("entry '\(name)' has an absurd shape \(shape)") }
                count = p
            }
            guard count * size == offsets[1] - offsets[0] else {
                throw fail("entry '\(name)': shape \(shape) of \(dtype) needs \(count * size) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            ranges.append((offsets[0], offsets[1], name))
            let bytes = body.subdata(in: offsets[0]..<offsets[1])
            if size == 4 {
                let t = Tensor<Float>(uninitializedShape: shape)
                bytes.withUnsafeBytes { raw in for i in 0..<count { t.pointer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) } }
                tensors[name] = .float(t)
            } else {
                let t = Tensor<Double>(uninitializedShape: shape)
                bytes.withUnsafeBytes { raw in for i in 0..<count { t.pointer[i] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) } }
                tensors[name] = .double(t)
            }
        }
        // empty tensors occupy no bytes and cannot overlap anything
        ranges = ranges.filter { $0.1 > $0.0 }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw fail("entries '\(a.2)' and '\(b.2)' overlap in the data buffer")
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }
}
