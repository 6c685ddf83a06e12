import TernCore

/// The hypervisor's global state on this CPU. Tern's core is
/// non-preemptible with interrupts off (docs/architecture.md), so plain
/// globals are safe: nothing runs concurrently with the code using them.
/// Interrupts are taken only at known points (the idle halts, and
/// tern_take_pending_interrupts after an INTR exit or a late timer), where
/// no update of a global is half done; the handler (tern_interrupt) runs
/// to completion there.
enum Platform {
    /// The loader's memory map, normalized (sorted, no overlaps).
    // SAFETY: written during boot before interrupts are on; only read after.
    nonisolated(unsafe) static var memoryMap = MemoryMap()
    // SAFETY: used only by the run loop's thread of control (boot, domain
    // building and teardown, hypercalls), never by the interrupt handler.
    nonisolated(unsafe) static var frames: FrameAllocator?
    /// One past the highest RAM address the direct map covers.
    // SAFETY: written while HostPaging builds the map at boot; read after.
    nonisolated(unsafe) static var directMapEnd: UInt64 = 0
    /// Calibrated at boot (PIT); 0 until then.
    // SAFETY: written once at boot (PIT calibration), only read after.
    nonisolated(unsafe) static var tscHz: UInt64 = 0
    /// LAPIC timer ticks since the timer started.
    // SAFETY: advanced by the timer interrupt (at the known points only)
    // and by HostTimer.recoverIfLost in the run loop; never both at once.
    nonisolated(unsafe) static var ticks: UInt64 = 0

    /// Takes a frame from the allocator; nil when memory is exhausted.
    static func allocateFrame(below limit: UInt64 = UInt64.max) -> UInt64? {
        frames?.allocate(below: limit)
    }
}
