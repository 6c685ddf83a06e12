import TernABI

/// Prepared domain shells (LightVM's split toolstack): memory taken,
/// zeroed and mapped ahead of time, so that TERN_HC_DOMAIN_CREATE with
/// TERN_CREATE_FROM_POOL only loads the image. The toolstack sets a target
/// per size (TERN_HC_DOMAIN_PREPARE); shells are prepared up to it at
/// once, and again one at a time in the background (refillOne, when no
/// vCPU wants the CPU) as creates take them. Shells hold frames: they
/// count as used in the free-frame figures (heldFrames says how many).
public struct ShellPool {
    public static let maxShells = Int(TERN_DOMAINS_MAX)
    public static let maxSizes = Int(TERN_POOL_SIZES_MAX)

    public struct Target: Equatable {
        public var memoryBytes: UInt64
        public var count: Int
    }

    public private(set) var shells: [DomainBuilder.Shell] = []
    public private(set) var targets: [Target] = []
    /// A prepare ran out of memory: no background refill until something
    /// changes (a shell taken, a target set, memory returned).
    public var refillStalled = false

    public init() {}

    /// Shells of `memoryBytes` ready now.
    public func ready(_ memoryBytes: UInt64) -> Int { shells.reduce(0) { $0 + ($1.memoryBytes == memoryBytes ? 1 : 0) } }

    /// Frames the shells hold.
    public var heldFrames: Int { shells.reduce(0) { $0 + $1.frameCount } }

    /// TERN_HC_DOMAIN_PREPARE: `count` becomes the target for that size
    /// (shells above it are released, those missing prepared now, as far
    /// as memory goes); 0 releases every shell of the size. Returns the
    /// shells of that size ready, or nil if it is a new size and
    /// maxSizes sizes have targets already.
    public mutating func setTarget<Host: PhysicalMemory>(
        memoryBytes: UInt64, count: Int, host: Host, frames: inout FrameAllocator
    ) -> Int? {
        let index = targets.firstIndex { $0.memoryBytes == memoryBytes }
        if count > 0 && index == nil && targets.count >= ShellPool.maxSizes { return nil }
        if let index {
            if count == 0 { targets.remove(at: index) } else { targets[index].count = count }
        } else if count > 0 {
            targets.append(Target(memoryBytes: memoryBytes, count: count))
        }
        while ready(memoryBytes) > count, let i = shells.lastIndex(where: { $0.memoryBytes == memoryBytes }) {
            _ = DomainBuilder.release(shells.remove(at: i), allocator: &frames)
        }
        refillStalled = false
        while ready(memoryBytes) < count && shells.count < ShellPool.maxShells {
            guard prepare(memoryBytes, host: host, frames: &frames) else { break }
        }
        return ready(memoryBytes)
    }

    /// A ready shell of exactly `memoryBytes`, taken out of the pool (its
    /// place is refilled in the background).
    public mutating func take(memoryBytes: UInt64) -> DomainBuilder.Shell? {
        guard let i = shells.firstIndex(where: { $0.memoryBytes == memoryBytes }) else { return nil }
        refillStalled = false
        return shells.remove(at: i)
    }

    /// The size a background refill would prepare next: the first target
    /// not met; nil when none is wanted (or refills are stalled).
    public var wanted: UInt64? {
        guard !refillStalled, shells.count < ShellPool.maxShells else { return nil }
        return targets.first { ready($0.memoryBytes) < $0.count }?.memoryBytes
    }

    /// One shell for the first target not met. False if none is wanted
    /// or memory ran short (refills then stall until something changes).
    public mutating func refillOne<Host: PhysicalMemory>(host: Host, frames: inout FrameAllocator) -> Bool {
        guard let memoryBytes = wanted else { return false }
        return prepare(memoryBytes, host: host, frames: &frames)
    }

    /// What TERN_HC_SYSTEM_INFO reports: one entry per size with a target.
    public var sizes: [tern_pool_size] {
        targets.map { tern_pool_size(memory_bytes: $0.memoryBytes, ready: UInt32(ready($0.memoryBytes)), target: UInt32($0.count)) }
    }

    private mutating func prepare<Host: PhysicalMemory>(_ memoryBytes: UInt64, host: Host, frames: inout FrameAllocator) -> Bool {
        do throws(DomainBuilder.Error) {
            shells.append(try DomainBuilder.prepare(memoryBytes: memoryBytes, host: host, frames: &frames))
            return true
        } catch {
            refillStalled = true
            Log.warning("pool: cannot prepare another shell of \(bytes: memoryBytes): \(error.message)")
            return false
        }
    }
}
