import Foundation
import CBLAS

/// How much of the machine the numerics may use.
///
/// Large row-wise kernels (the pooled φ network over every agent of every set) split their rows
/// into a fixed number of *lanes* and run the lanes on up to `threads` cores, each lane calling
/// single-threaded BLAS on cache-sized chunks. The lane count depends only on the problem size,
/// never on the number of threads, so results are bitwise identical whatever `threads` is.
public enum Parallelism {
    /// Worker threads for lane-parallel kernels (default: the active cores; `SYMDP_THREADS`
    /// overrides it, as does `trainer.threads` in a run's config).
    nonisolated(unsafe) public static var threads: Int = {
        if let s = ProcessInfo.processInfo.environment["SYMDP_THREADS"], let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Most lanes a kernel splits its rows into (fixed, for thread-count–independent results).
    public static let maxLanes = 8

    /// Runs `body(lane)` for `lane` in `0..<lanes` on up to `threads` threads, BLAS pinned to one
    /// thread meanwhile so that the lanes do not oversubscribe the cores.
    public static func forEachLane(_ lanes: Int, _ body: (Int) -> Void) {
        let workers = min(threads, lanes)
        if workers <= 1 {
            for lane in 0..<lanes { body(lane) }
            return
        }
        let savedBLAS = Int(openblas_get_num_threads())
        if savedBLAS != 1 { openblas_set_num_threads(1) }
        defer { if savedBLAS != 1 { openblas_set_num_threads(Int32(savedBLAS)) } }
        // Each worker takes lanes w, w + workers, …: a static schedule, no shared counters.
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var lane = w
            while lane < lanes { body(lane); lane += workers }
        }
    }
}
