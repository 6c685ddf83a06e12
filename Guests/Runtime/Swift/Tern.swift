import TernGuestC

/// Tern guest SDK: hypercalls, start info, time, upcalls, for PV guests
/// written in Embedded Swift (docs/porting.md). Compiled into each guest
/// together with its own sources.
public enum Tern {
    @discardableResult
    public static func hypercall(_ number: Int32, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
                                 _ a3: UInt64 = 0, _ a4: UInt64 = 0) -> Int64 {
        tern_hypercall(UInt64(number), a0, a1, a2, a3, a4)
    }

    public static func abiVersion() -> Int64 { hypercall(TERN_HC_VERSION) }

    /// Writes bytes to this domain's console; returns the count or -errno.
    @discardableResult
    public static func consoleWrite(_ bytes: UnsafeRawBufferPointer) -> Int64 {
        hypercall(TERN_HC_CONSOLE_WRITE, UInt64(UInt(bitPattern: bytes.baseAddress)), UInt64(bytes.count))
    }

    public static func yield() { hypercall(TERN_HC_YIELD) }
    /// TERN_HC_BLOCK: sleeps until an upcall is pending (at once if one
    /// is). Call it with interrupts off, then let the upcall in: see
    /// Upcall.wait(). With interrupts on, an upcall taken just before the
    /// call is handled and BLOCK then sleeps on.
    public static func block() { hypercall(TERN_HC_BLOCK) }

    public static func shutdown(_ reason: Int32 = TERN_SHUTDOWN_POWEROFF) -> Never {
        tern_guest_console_flush()
        hypercall(TERN_HC_SHUTDOWN, UInt64(reason))
        while true { tern_guest_hlt() }
    }

    public static func timeInfo() -> tern_time_info {
        var info = tern_time_info()
        _ = withUnsafeMutablePointer(to: &info) { hypercall(TERN_HC_TIME_INFO, UInt64(UInt(bitPattern: $0))) }
        return info
    }

    /// System time in ns (since Tern booted), from the TSC.
    public static func now() -> UInt64 {
        let info = clock
        let cycles = tern_guest_rdtsc() &- info.tsc_stamp
        return info.system_time_ns &+ cycles / info.tsc_hz &* 1_000_000_000
            &+ (cycles % info.tsc_hz) &* 1_000_000_000 / info.tsc_hz
    }

    /// Busy-waits `ns` nanoseconds of system time (never yields).
    public static func spin(nanoseconds ns: UInt64) {
        let end = now() &+ ns
        while now() < end { tern_guest_pause() }
    }

    /// One-shot timer: an upcall at `deadline` (system time, ns).
    public static func setTimer(deadline: UInt64) { hypercall(TERN_HC_SET_TIMER, deadline) }

    // SAFETY: one vCPU; set on the first read of the clock. Upcalls come
    // only where interrupts are on (Upcall.wait's one instruction, or where
    // a guest turns them on), not inside this; and every TIME_INFO answer
    // describes the same clock, so a handler setting it too changes nothing.
    nonisolated(unsafe) static var clockStorage: tern_time_info?
    static var clock: tern_time_info {
        if let c = clockStorage { return c }
        let c = timeInfo()
        clockStorage = c
        return c
    }
}

/// The start-info page Tern wrote for this domain (docs/abi.md).
public struct StartInfo {
    public let page: UnsafeMutablePointer<tern_start_info>

    public init(_ raw: UnsafeMutableRawPointer) {
        // SAFETY: `raw` is Tern's start-info page (see `current`): a whole,
        // page-aligned struct tern_start_info, only ever used as that type.
        page = raw.assumingMemoryBound(to: tern_start_info.self)
    }

    /// This domain's start info (start.asm keeps its address for the SDK).
    public static var current: StartInfo {
        // SAFETY: set from RDI at entry, before any Swift code runs; Tern's
        // start-info page stays mapped for the domain's life.
        StartInfo(UnsafeMutableRawPointer(tern_guest_start_info))
    }

    // SAFETY (the accessors below): fields of the start-info page, which
    // Tern wrote before the guest's first instruction and stays mapped.
    public var isValid: Bool { page.pointee.magic == TERN_START_INFO_MAGIC }
    /// Where the event page, grant table and window, device page and
    /// control pages are (ABI 0.3).
    public var shared: tern_shared_layout { page.pointee.shared }
    // SAFETY (these three): as isValid.
    /// TERN_CONSOLE_* bits: how this domain's console works.
    public var console: UInt32 { page.pointee.console }
    public var domid: UInt32 { page.pointee.domid }
    public var memoryBytes: UInt64 { page.pointee.memory_bytes }

    /// The guest's command line bytes (after `--` on the module line).
    public var commandLine: [UInt8] {
        // SAFETY: as above; a copy of the fixed-size cmdline array, read up
        // to its NUL (or its end: prefix stops at the array's bounds).
        withUnsafeBytes(of: page.pointee.cmdline) { raw in
            Array(raw.prefix { $0 != 0 })
        }
    }

    /// The value of `key=` on the command line, if present.
    public func option(_ key: StaticString) -> [UInt8]? {
        let line = commandLine
        var tokenStart = 0
        var i = 0
        while i <= line.count {
            if i == line.count || line[i] == UInt8(ascii: " ") {
                let token = Array(line[tokenStart..<i])
                if let eq = token.firstIndex(of: UInt8(ascii: "=")), key.utf8CodeUnitCount == eq {
                    var same = true
                    key.withUTF8Buffer { k in for j in 0..<eq where k[j] != token[j] { same = false } }
                    if same { return Array(token[(eq + 1)...]) }
                }
                tokenStart = i + 1
            }
            i += 1
        }
        return nil
    }

    /// `key=` as a decimal number; nil if absent or not a number.
    public func number(_ key: StaticString) -> UInt64? {
        guard let text = option(key), !text.isEmpty else { return nil }
        var n: UInt64 = 0
        for c in text {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            n = sum
        }
        return n
    }
}

/// Upcalls: Tern injects the registered vector through the guest's IDT
/// when an event (a port, or the one-shot timer) is pending. The SDK's
/// entry acknowledges it first, as Linux's xen_evtchn_do_upcall does:
/// it clears upcall_pending and collects the pending ports for `Events`,
/// so a handler may ignore an event without BLOCK returning at once ever
/// after (docs/abi.md, "The timer's upcall").
public enum Upcall {
    // SAFETY: read by the upcall entry (interrupts off); written by install,
    // which guests call with interrupts off (they start so, and the SDK turns
    // them on only in Upcall.wait), so the entry never sees it half-written.
    nonisolated(unsafe) public static var handler: (() -> Void)?
    // SAFETY: written only by install (interrupts off, as handler); the CPU
    // reads it through LIDT's base: 256 gates, never resized, never copied
    // (only this global refers to its storage), so the storage never moves.
    nonisolated(unsafe) static var idt = [UInt64](repeating: 0, count: 512)
    static let codeSelector: UInt64 = 0x08     // Tern's guest GDT (docs/abi.md)
    static let interruptGate: UInt64 = 0x8E

    /// Sleeps until an upcall is pending, then runs its handler; returns
    /// with interrupts off. BLOCK is made with interrupts off (Tern checks
    /// for a pending upcall and sleeps in one step, as Xen's SCHEDOP_block,
    /// so none is missed), then interrupts go on for one instruction.
    public static func wait() {
        tern_guest_cli()
        Tern.block()
        tern_guest_take_interrupts()
    }

    /// Installs `handler` on `vector` (32...255) and tells Tern.
    public static func install(vector: UInt8, _ handler: @escaping () -> Void) -> Int64 {
        self.handler = handler
        let entry = tern_guest_upcall_address()
        let v = Int(vector)
        idt[v * 2] = (entry & 0xFFFF) | codeSelector << 16 | interruptGate << 40 | ((entry >> 16) & 0xFFFF) << 48
        idt[v * 2 + 1] = entry >> 32
        idt.withUnsafeBufferPointer { table in
            // LIDT operand: limit (u16) then base (u64), packed.
            let base = UInt64(UInt(bitPattern: table.baseAddress))
            let limit = UInt16(table.count * 8 - 1)
            var packed = [UInt8](repeating: 0, count: 10)
            packed[0] = UInt8(truncatingIfNeeded: limit)
            packed[1] = UInt8(truncatingIfNeeded: limit >> 8)
            for i in 0..<8 { packed[2 + i] = UInt8(truncatingIfNeeded: base >> UInt64(8 * i)) }
            packed.withUnsafeBytes { tern_guest_lidt($0.baseAddress) }
        }
        return Tern.hypercall(TERN_HC_SET_UPCALL, UInt64(vector))
    }
}

@_cdecl("tern_guest_upcall")
func ternGuestUpcall() {
    Events.collect()   // interrupts are off in the handler (an interrupt gate)
    Upcall.handler?()
}
