import XCTest
import SymmetricNumerics
import SymmetricNetworks

/// Checkpoints in the safetensors format: round trip, damaged files, and the reference reader.
final class SafetensorsTests: TemporaryFolderTestCase {
    override class var folderPrefix: String { "symdp-st" }

    func sample() -> [(String, AnyTensor)] {
        var g = SeededGenerator(seed: 1)
        return [
            ("rho.layers.0.weight", AnyTensor(Tensor<Float>.randomNormal(shape: [3, 4], using: &g))),
            ("rho.layers.0.bias", AnyTensor(Tensor<Float>.randomNormal(shape: [3], using: &g))),
            ("scalar", AnyTensor(Tensor<Double>(scalar: -2.5))),
            ("empty", AnyTensor(Tensor<Double>(zeros: [0, 5]))),
            ("phi.weights", AnyTensor(Tensor<Double>.randomNormal(shape: [2, 2, 2], using: &g))),
        ]
    }

    func testRoundTripKeepsNamesShapesDtypesValuesAndMetadata() throws {
        let url = dir.appendingPathComponent("a.safetensors")
        let tensors = sample()
        try Safetensors.write(tensors, metadata: ["epochs": "3", "note": "ünïcode ✓"], to: url)
        let file = try Safetensors.read(from: url)
        XCTAssertEqual(file.metadata, ["epochs": "3", "note": "ünïcode ✓"])
        XCTAssertEqual(Set(file.tensors.keys), Set(tensors.map(\.0)))
        for (name, t) in tensors {
            let r = file.tensors[name]!
            XCTAssertEqual(r.shape, t.shape, name)
            XCTAssertEqual(r.dtype, t.dtype, name)
            XCTAssertEqual(r.tensor(as: Double.self).scalars, t.tensor(as: Double.self).scalars, name)
        }
        // layout: 8-byte little-endian header length, then a JSON header padded to 8 bytes
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        XCTAssertEqual(n % 8, 0)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(n)))))
    }

    func testEveryTruncationGivesAClearErrorNeverACrash() throws {
        let url = dir.appendingPathComponent("b.safetensors")
        try Safetensors.write(sample(), to: url)
        let data = try Data(contentsOf: url)
        let cut = dir.appendingPathComponent("cut.safetensors")
        for length in 0..<data.count {
            try data.prefix(length).write(to: cut)
            XCTAssertThrowsError(try Safetensors.read(from: cut), "length \(length)") { error in
                XCTAssertTrue(error is SafetensorsError)
                XCTAssertTrue("\(error)".contains(cut.path), "the message names the file")
            }
        }
    }

    func testCorruptedHeadersAreRejected() throws {
        func header(_ json: String, body: Int = 16) -> Data {
            var d = Data()
            var n = UInt64(json.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            d.append(Data(json.utf8)); d.append(Data(count: body))
            return d
        }
        let bad: [(String, Data)] = [
            ("not JSON", header("{this is not json}")),
            ("not an object", header("[1, 2, 3]")),
            ("missing offsets", header(#"{"a": {"dtype": "F32", "shape": [2]}}"#)),
            ("offsets past the end", header(#"{"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}"#)),
            ("size mismatch", header(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#)),
            ("unsupported dtype", header(#"{"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}"#)),
            ("negative shape", header(#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#)),
            ("overflowing shape", header(#"{"a": {"dtype": "F64", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}}"#)),
            ("overlap", header(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#)),
            ("bad metadata", header(#"{"__metadata__": {"k": 3}}"#)),
            ("huge header length", { var d = Data(repeating: 0xff, count: 8); d.append(Data(count: 8)); return d }()),
        ]
        for (what, data) in bad {
            let url = dir.appendingPathComponent("bad.safetensors")
            try data.write(to: url)
            XCTAssertThrowsError(try Safetensors.read(from: url), what) { XCTAssertTrue($0 is SafetensorsError, what) }
        }
        XCTAssertThrowsError(try Safetensors.read(from: dir.appendingPathComponent("missing.safetensors")))
    }

    func testEmptyTensorsSharingAnOffsetAreNotAnOverlap() throws {
        // an empty tensor's range [k, k] holds no bytes (a regression: this was once reported as
        // an overlap, depending on the order of the header's keys)
        for order in [#"{"e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
                      #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}"#] {
            var d = Data()
            var n = UInt64(order.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            d.append(Data(order.utf8)); d.append(Data([0, 0, 128, 63]))   // 1.0f
            let url = dir.appendingPathComponent("empty.safetensors")
            try d.write(to: url)
            let file = try Safetensors.read(from: url)
            XCTAssertEqual(file.tensors["w"]?.tensor(as: Float.self).scalars, [1])
            XCTAssertEqual(file.tensors["e"]?.shape, [0])
        }
    }

    func testWritesAreAtomicAndKeepThePreviousFileOnFailure() throws {
        let url = dir.appendingPathComponent("c.safetensors")
        try Safetensors.write(sample(), to: url)
        let before = try Data(contentsOf: url)
        // a target whose folder cannot be created: the write fails, the old file is untouched
        let blocked = url.appendingPathComponent("child.safetensors")   // `url` is a file, not a folder
        XCTAssertThrowsError(try Safetensors.write(sample(), to: blocked))
        XCTAssertEqual(try Data(contentsOf: url), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary files are left behind")
    }

    /// The reference implementation (Python's `safetensors` package) reads our file.
    func testPythonSafetensorsReadsOurFiles() throws {
        let url = dir.appendingPathComponent("py.safetensors")
        let tensors = sample()
        try Safetensors.write(tensors, metadata: ["format": "symdp"], to: url)
        let script = """
        import json, sys
        from safetensors import safe_open
        out = {}
        with safe_open(sys.argv[1], framework="numpy") as f:
            out["__metadata__"] = f.metadata()
            for k in f.keys():
                t = f.get_tensor(k)
                out[k] = {"dtype": str(t.dtype), "shape": list(t.shape), "values": [float(v).hex() for v in t.reshape(-1)]}
        print(json.dumps(out))
        """
        let output = try runPython(script, arguments: [url.path])
        let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        XCTAssertEqual(parsed["__metadata__"] as? [String: String], ["format": "symdp"])
        for (name, t) in tensors {
            let entry = parsed[name] as! [String: Any]
            XCTAssertEqual(entry["dtype"] as? String, t.dtype == "F32" ? "float32" : "float64", name)
            XCTAssertEqual(entry["shape"] as? [Int], t.shape, name)
            let values = (entry["values"] as! [String]).map { Double($0)! }   // hexadecimal floats: exact
            XCTAssertEqual(values, t.tensor(as: Double.self).scalars, name)
        }
    }

    /// And we read files written by the reference writer.
    func testWeReadFilesWrittenByPythonSafetensors() throws {
        let url = dir.appendingPathComponent("from-py.safetensors")
        _ = try runPython("""
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([0.5, -1.25])}, sys.argv[1], metadata={"who": "python"})
        """, arguments: [url.path])
        let file = try Safetensors.read(from: url)
        XCTAssertEqual(file.metadata["who"], "python")
        XCTAssertEqual(file.tensors["w"]?.shape, [2, 3])
        XCTAssertEqual(file.tensors["w"]?.tensor(as: Float.self).scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(file.tensors["b"]?.dtype, "F64")
        XCTAssertEqual(file.tensors["b"]?.tensor(as: Double.self).scalars, [0.5, -1.25])
    }
}

/// Runs `python3 -c script args…` and returns its standard output; fails the test (never skips)
/// when Python or the package is missing — `scripts/setup.sh --test` installs them.
func runPython(_ script: String, arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        let message = String(decoding: errData, as: UTF8.self)
        XCTFail("python3 failed (run `scripts/setup.sh --test` to install safetensors and numpy): \(message)", file: file, line: line)
        throw NSError(domain: "python", code: Int(p.terminationStatus))
    }
    return String(decoding: data, as: UTF8.self)
}
