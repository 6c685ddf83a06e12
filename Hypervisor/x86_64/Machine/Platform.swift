/// The hypervisor's global state on this CPU. Tern's core is
/// non-preemptible with interrupts off (docs/architecture.md), so plain
/// globals are safe: nothing runs concurrently with the code using them.
enum Platform {
    /// The loader's memory map, normalized (sorted, no overlaps).
    nonisolated(unsafe) static var memoryMap = MemoryMap()
    nonisolated(unsafe) static var frames: FrameAllocator?
    /// One past the highest RAM address the direct map covers.
    nonisolated(unsafe) static var directMapEnd: UInt64 = 0
    /// Calibrated at boot (PIT); 0 until then.
    nonisolated(unsafe) static var tscHz: UInt64 = 0
    /// LAPIC timer ticks since the timer started.
    nonisolated(unsafe) static var ticks: UInt64 = 0

    /// Takes a frame from the allocator; nil when memory is exhausted.
    static func allocateFrame(below limit: UInt64 = UInt64.max) -> UInt64? {
        frames?.allocate(below: limit)
    }
}
