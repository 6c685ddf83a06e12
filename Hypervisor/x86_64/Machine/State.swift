import TernCore
import TernCPU
import TernABI

/// All of the machine layer's mutable global state, in one place (as
/// seL4's statedata.c): each concept's statics, next to why they are safe
/// to share. Tern is one CPU with interrupts off except at known points
/// (docs/architecture.md), so a global is touched by one thread of control
/// at a time; each SAFETY line says which. Each group names the file of
/// the code that uses it.

// ASIDs.swift
extension ASIDs {
    // SAFETY: used only on the run loop's way into VMRUN and at destroy,
    // never by the interrupt handler.
    nonisolated(unsafe) static var owner: [UInt32] = []   // per ASID: (domid << 8 | vcpu) + 1, 0 = none
}

// GuestFPU.swift
extension GuestFPU {
    // SAFETY (these three): set once at boot by enable(), read-only after;
    // the interrupt handler never touches them (nor the x87/SSE registers).
    /// XSAVE is there (else FXSAVE: x87 and SSE only).
    nonisolated(unsafe) static var hasXSAVE = false
    /// The XCR0 components Tern switches (ExtendedState.managedComponents).
    nonisolated(unsafe) static var managed: UInt64 = ExtendedState.x87 | ExtendedState.sse
    /// Bytes of the XSAVE area for `managed` (CPUID 0xD.0 EBX with it in XCR0).
    // SAFETY: as the two above.
    nonisolated(unsafe) static var areaBytes = ExtendedState.legacyRegionBytes
    /// The vCPU whose state is in the registers now, if any.
    // SAFETY: changed only on the run loop's way into VMRUN and at destroy.
    nonisolated(unsafe) static var owner: VCPU?
}

// Domains (DomainTable.swift and the domain life cycle; BootChannels.swift)
extension Domains {
    // SAFETY: only the boot sequence touches it (filled while the boot
    // modules become domains, emptied by connectBootChannels).
    nonisolated(unsafe) static var bootChannels: [BootChannels] = []
    /// Frames Tern manages once booted (before Dom0 and guests).
    // SAFETY (these three): changed only by the run loop's thread of
    // control (boot, hypercalls, destroy); the interrupt handler, at the
    // known points only, just looks up Dom0 in `table` (sized once, to
    // maxDomains, by the first domain's creation; slots change in place).
    nonisolated(unsafe) static var totalFrames = 0
    nonisolated(unsafe) static var table: [Domain?] = []
    nonisolated(unsafe) static let scheduler = Scheduler()
    /// Free frames just before the first guest was built: when the last
    /// guest is gone, the count must be back to exactly this.
    // SAFETY: set at boot, read when a guest goes: the run loop only.
    nonisolated(unsafe) static var freeFramesBeforeGuests = 0
    /// The domain built with `.hardware` (Dom0): the machine's device
    /// interrupts go to it (HardwareInterrupts), and the device models that
    /// are still one instance each (Dom0Console, Dom0PIC) serve it. nil before
    /// it is built and once it is destroyed.
    // SAFETY: set and cleared by the run loop (Dom0's build, destroy); the
    // interrupt handler only reads it, at the known points.
    nonisolated(unsafe) static var deviceOwner: Domain?
    /// The privileged domain that reads Tern's log (TERN_VIRQ_CONSOLE).
    // SAFETY: as deviceOwner.
    nonisolated(unsafe) static var controlDomain: Domain?
}

// Console.swift
extension Console {
    // SAFETY (the console's state): whoever logs writes here: the run loop,
    // or the interrupt handler at the known points only, when no write is
    // under way. An NMI (at any time) logs one line: it may land inside
    // another; ConsoleRing masks its offsets, so bytes stay in its storage.
    /// The domain whose UART line is on the serial port, unfinished (its
    /// bytes so far are in its DomainContext.uartLine); nil: none.
    // SAFETY: UART output only (port exits, in the run loop); a Tern line
    // (an NMI's too) just ends it.
    nonisolated(unsafe) static var uartLineOwner: UInt16?
    // SAFETY: as the console's state above.
    nonisolated(unsafe) static var history = ConsoleRing(
        // SAFETY: a static area of TERN_LOG_RING_SIZE bytes in runtime.c, used only here.
        storage: UnsafeMutableRawBufferPointer(start: tern_console_ring_area(), count: Int(TERN_LOG_RING_SIZE)))
}

// ConsoleInput.swift
extension ConsoleInput {
    // SAFETY (both): only poll() touches them, from the run loop's tick.
    nonisolated(unsafe) static var toDom0 = true
    nonisolated(unsafe) static var presses = 0
}

// DomainPool.swift
extension DomainPool {
    // SAFETY: set by Dom0's hypercalls, taken by domain creation, refilled
    // by the idle run loop: all in the run loop's thread of control.
    nonisolated(unsafe) static var pool = ShellPool()
}

// SystemTime (GuestHypercallHost.swift)
extension SystemTime {
    // SAFETY: set first thing in tern_main, before interrupts; only read after.
    nonisolated(unsafe) static var bootTSC: UInt64 = 0
}

// HardwareInterrupts.swift
extension HardwareInterrupts {
    /// Device vectors in service on the physical LAPIC until the owner's EOI.
    // SAFETY: deviceInterrupt (taken only at the run loop's known points)
    // and the owner's EOI exits update it in turn, never at once.
    nonisolated(unsafe) static var physicalInService = VectorSet()
    /// Ended by the owner while a higher one is still in service physically.
    // SAFETY: the owner's EOI exits and reset() at its destroy: run loop only.
    nonisolated(unsafe) static var endedByOwner = VectorSet()
}

// HostPaging.swift
extension HostPaging {
    // SAFETY (both): set by build() at boot, before interrupts; only read after.
    nonisolated(unsafe) static var root: UInt64 = 0
    nonisolated(unsafe) static var imageRange = PhysicalRange(start: 0, end: 0)
}

// HostTimer.swift
extension HostTimer {
    // SAFETY (these three): shared by the timer interrupt and the run loop,
    // but the interrupt is taken only at known points (idle halt, and
    // tern_take_pending_interrupts: after an INTR exit, or in recoverIfLost
    // between whole uses of `schedule`) and runs to completion there.
    nonisolated(unsafe) static var countsPerSecond: UInt64 = 0
    nonisolated(unsafe) static var schedule = TimerSchedule(tickNanoseconds: nanosecondsPerSecond / Layout.timerHz, now: 0)
    /// Set by the interrupt when a deadline has passed: the run loop scans
    /// the vCPUs (RunLoop.wakeTimers).
    // SAFETY: as schedule: set by the interrupt, cleared by the run loop.
    nonisolated(unsafe) static var deadlineDue = false
    /// Timer interrupts that did not come and were recovered.
    // SAFETY: only recoverOverdue, in the run loop, touches it.
    nonisolated(unsafe) static var recovered: UInt64 = 0
    /// The TSC at which the interrupt armed for is a tick late: the run
    /// loop's pass compares one RDTSC with it (no conversion to time).
    // SAFETY: as schedule: written by arm (interrupt or run loop, never at
    // once), read by the run loop; a stale value only delays the check.
    nonisolated(unsafe) static var overdueAtTSC = UInt64.max
}

// InterruptDelivery.swift
extension InterruptDelivery {
    /// Set when an interrupt was raised for a domain from outside its own
    /// exits (a device's, typed input): the run loop then wakes it if it
    /// halted.
    // SAFETY: set by the handler (interrupts come only at the run loop's
    // known points) or by the run loop itself; read and cleared there.
    nonisolated(unsafe) static var raisedSinceLastCheck = false
}

// LocalAPICEmulation.swift
extension LocalAPICEmulation {
    /// The LAPIC's guest-physical page: the architectural 0xFEE00000, where
    /// the physical one is too (Dom0 is identity-mapped).
    // SAFETY: set once at boot (Dom0's creation), only read after.
    nonisolated(unsafe) static var page: UInt64 = 0
}

// Platform.swift
extension Platform {
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
}

// RuntimeSupport.swift
extension KernelHeap {
    // SAFETY: entered from the run loop's thread of control, or from the
    // interrupt handler at the known points, never inside another heap call;
    // an NMI only logs, and logging never allocates (LogMessage).
    nonisolated(unsafe) static var heap: Heap?
}

// SVM.swift
extension SVM {
    // SAFETY (the five below): set once by enable() at boot, before any
    // guest runs and with interrupts off; only read after.
    /// Page VMRUN saves host state into (hardware-private).
    nonisolated(unsafe) static var hostSaveArea: UInt64 = 0
    /// Host FS/GS/TR/LDTR/syscall MSRs, saved once with VMSAVE, restored
    /// with VMLOAD after every #VMEXIT (Boot/vmrun.asm).
    nonisolated(unsafe) static var hostState: UInt64 = 0
    /// Shared by all domains: every port and MSR intercepted except the
    /// pass-through MSRs (GuestMSRs).
    // SAFETY: as hostSaveArea (these three).
    nonisolated(unsafe) static var ioPermissionMap: UInt64 = 0
    nonisolated(unsafe) static var msrPermissionMap: UInt64 = 0
    nonisolated(unsafe) static var asidCount: UInt32 = 0
}

// CMOSClockEmulation.swift
extension CMOSClockEmulation {
    // SAFETY (both): written once by the boot sequence (readMachineClock,
    // before any domain runs), only read after.
    nonisolated(unsafe) static var bootWallSeconds: UInt64 = 0
    nonisolated(unsafe) static var bootSystemNanoseconds: UInt64 = 0
}
