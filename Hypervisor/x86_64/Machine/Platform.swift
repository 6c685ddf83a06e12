import TernCore

/// The hypervisor's global state on this CPU. Tern's core is
/// non-preemptible with interrupts off (docs/architecture.md), so plain
/// globals are safe: nothing runs concurrently with the code using them.
/// Interrupts are taken only at known points (the idle halts, and
/// tern_take_pending_interrupts after an INTR exit or a late timer), where
/// no update of a global is half done; the handler (tern_interrupt) runs
/// to completion there.
enum Platform {

    /// Takes a frame from the allocator; nil when memory is exhausted.
    static func allocateFrame(below limit: UInt64 = UInt64.max) -> UInt64? {
        frames?.allocate(below: limit)
    }
}
