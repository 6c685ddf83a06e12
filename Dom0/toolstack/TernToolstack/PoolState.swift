import TernABI

/// Tern's pool of prepared domain shells as TERN_HC_SYSTEM_INFO reports it
/// (ABI 0.8): each size with a target, how many are ready, and the memory
/// they hold (counted as used in Tern's free figure, but a create of that
/// size uses a ready shell without needing free memory).
public struct PoolState: Equatable {
    public struct Size: Equatable {
        public var memoryBytes: UInt64
        public var ready: UInt32
        public var target: UInt32
        public init(memoryBytes: UInt64, ready: UInt32, target: UInt32) {
            self.memoryBytes = memoryBytes
            self.ready = ready
            self.target = target
        }
    }

    public var sizes: [Size]
    public var heldBytes: UInt64

    public init(sizes: [Size], heldBytes: UInt64) {
        self.sizes = sizes
        self.heldBytes = heldBytes
    }

    public init(_ info: tern_system_info) {
        var sizes: [Size] = []
        withUnsafeBytes(of: info.pool) { raw in
            // SAFETY: `pool` is TERN_POOL_SIZES_MAX tern_pool_size entries
            // back to back (control.h, a C array imported as a tuple).
            for entry in raw.bindMemory(to: tern_pool_size.self) where entry.memory_bytes != 0 {
                sizes.append(Size(memoryBytes: entry.memory_bytes, ready: entry.ready, target: entry.target))
            }
        }
        self.init(sizes: sizes, heldBytes: info.pool_bytes)
    }

    public var readyShells: UInt32 { sizes.reduce(0) { $0 + $1.ready } }

    /// Shells of exactly `memoryBytes` ready now.
    public func ready(memoryBytes: UInt64) -> UInt32 { sizes.first { $0.memoryBytes == memoryBytes }?.ready ?? 0 }

    /// `tern info`'s line: "none", or "3 ready, 12 MiB held: 4 MiB 2 of 2, 8 MiB 1 of 1".
    public var summary: String {
        guard !sizes.isEmpty else { return "none" }
        let each = sizes.map { "\($0.memoryBytes >> 20) MiB \($0.ready) of \($0.target)" }.joined(separator: ", ")
        return "\(readyShells) ready, \(Frames.text(heldBytes)) held: \(each) (ready of target, per size)"
    }

    /// What to add to an out-of-memory message when shells hold memory.
    public var releaseHint: String? {
        guard heldBytes > 0, let first = sizes.first(where: { $0.ready > 0 }) else { return nil }
        return "\(Frames.text(heldBytes)) more held by \(readyShells) prepared shells: "
            + "'tern prepare 0 --memory \(first.memoryBytes >> 20)' releases those of \(first.memoryBytes >> 20) MiB"
    }
}
