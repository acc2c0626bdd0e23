import Foundation

/// Recycles tensor buffers by byte size, so a training step that allocates the same shapes
/// every iteration reuses memory instead of faulting fresh pages in (16 MB activations).
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var pooledBytes = 0
    private let lock = NSLock()
    /// Buffers beyond this many pooled bytes are released to the system.
    public var capacityBytes = 2 << 30
    /// Buffers fetched from the system (not from the pool) since start: a leak detector.
    public private(set) var systemAllocations = 0

    @usableFromInline
    func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        lock.lock(); defer { lock.unlock() }
        if var list = free[bytes], let p = list.popLast() {
            free[bytes] = list
            pooledBytes -= bytes
            return p
        }
        systemAllocations += 1
        return UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
    }

    @usableFromInline
    func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        if pooledBytes + bytes > capacityBytes { p.deallocate(); return }
        free[bytes, default: []].append(p)
        pooledBytes += bytes
    }

    /// Returns every pooled buffer to the system.
    public func drain() {
        lock.lock(); defer { lock.unlock() }
        for (_, list) in free { for p in list { p.deallocate() } }
        free = [:]; pooledBytes = 0
    }
}

/// Owner of a tensor's contiguous buffer (reference type; tensors share it).
public final class TensorStorage<T: TensorScalar> {
    public let count: Int
    @usableFromInline package let pointer: UnsafeMutablePointer<T>

    @inlinable
    public init(count: Int) {
        self.count = count
        let raw = BufferPool.shared.allocate(bytes: count * MemoryLayout<T>.stride)
        pointer = raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    deinit {
        BufferPool.shared.release(UnsafeMutableRawPointer(pointer), bytes: count * MemoryLayout<T>.stride)
    }
}
