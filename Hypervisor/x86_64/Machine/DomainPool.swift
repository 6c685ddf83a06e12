import TernCore
import TernABI

/// The machine's pool of prepared domain shells (Core/ShellPool.swift):
/// filled on the toolstack's request and, in the background, by the run
/// loop when no vCPU wants the CPU.
enum DomainPool {
    /// TERN_HC_DOMAIN_PREPARE (checked by Core/DomainControl.swift).
    static func setTarget(memoryBytes: UInt64, count: Int) -> Int? {
        pool.setTarget(memoryBytes: memoryBytes, count: count, host: PhysicalWindow.directMap, frames: &Platform.frames!)
    }

    /// A ready shell of exactly `memoryBytes`, taken out of the pool.
    static func take(memoryBytes: UInt64) -> DomainBuilder.Shell? { pool.take(memoryBytes: memoryBytes) }

    /// One background refill step (the run loop, idle): prepares one shell
    /// if a target is not met. Interrupts stay off while it runs (a 4 MiB
    /// shell takes a few ms under TCG; the timer catches up: HostTimer).
    static func refillOne() -> Bool {
        pool.refillOne(host: PhysicalWindow.directMap, frames: &Platform.frames!)
    }

    /// Memory came back (a domain destroyed): a stalled refill may go on.
    static func memoryReturned() { pool.refillStalled = false }
}
