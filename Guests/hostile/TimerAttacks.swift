import TernGuestC

/// Attacks on Tern's timer, upcall and block calls, with nothing but
/// unprivileged hypercalls (issue 13). Each runs beside victims (a ticker,
/// a sleeper) that must keep their pace, and prints what it did:
///   timerstorm  an upcall vector set and interrupts kept off, so the
///               upcall stays pending in V_IRQ and BLOCK returns at once;
///               then SET_TIMER(now + 100 us) + BLOCK in a loop for
///               `seconds=` (default 20). It once stopped Tern's host
///               timer for good.
///   timerpoll   no vector and no timer port, interrupts off: SET_TIMER(1)
///               then BLOCK must return (a deadline in the past makes the
///               upcall pending at once), and a guest polling its event
///               page must see the timer's upcall there.
///   timerfuzz   `seconds=` (default 20) of random calls, seeded by
///               `seed=`: deadlines past, near, far, cancelled or never;
///               vectors valid, none or invalid; BLOCK and HLT with
///               interrupts on or off; spins and yields. Every result is
///               checked against the ABI.
enum TimerAttack {
    case storm, poll, fuzz

    init?(mode: [UInt8]) {
        switch mode {
        case Array("timerstorm".utf8): self = .storm
        case Array("timerpoll".utf8): self = .poll
        case Array("timerfuzz".utf8): self = .fuzz
        default: return nil
        }
    }

    func run(_ info: StartInfo) -> Int64 {
        let seconds = info.number("seconds") ?? 20
        switch self {
        case .storm: return TimerAttack.storm(seconds: seconds)
        case .poll: return TimerAttack.poll()
        case .fuzz: return TimerAttack.fuzz(seconds: seconds, seed: info.number("seed") ?? 1)
        }
    }

    static let nanosecondsPerSecond: UInt64 = 1_000_000_000
    static let stormDelay: UInt64 = 100_000   // 100 us
    /// The vector the attacks register; its handler only counts.
    static let vector: UInt8 = 0xF3
    nonisolated(unsafe) static var upcalls = 0

    static func storm(seconds: UInt64) -> Int64 {
        print("hostile: timerstorm: vector \(vector) set, interrupts off, SET_TIMER(now + 100 us) + BLOCK for \(seconds) s")
        _ = Upcall.install(vector: vector) { TimerAttack.upcalls += 1 }
        tern_guest_cli()
        let end = Tern.now() &+ seconds &* nanosecondsPerSecond
        var calls: UInt64 = 0
        while Tern.now() < end {
            Tern.setTimer(deadline: Tern.now() &+ stormDelay)
            Tern.block()
            calls += 1
        }
        print("hostile: timerstorm: done, \(calls) blocks")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }

    static func poll() -> Int64 {
        tern_guest_cli()
        print("hostile: timerpoll: no vector; SET_TIMER(1), then BLOCK")
        tern_guest_console_flush()
        Tern.setTimer(deadline: 1)
        Tern.block()
        let flag = tern_guest_event_upcall_pending(Events.page)
        // SAFETY (flag): upcall_pending of this domain's own event page.
        print("hostile: timerpoll: BLOCK returned, upcall_pending \(tern_guest_load8(flag))")
        // Polling, no BLOCK: the next timer's upcall shows in the page.
        tern_guest_store8(flag, 0)
        let start = Tern.now()
        Tern.setTimer(deadline: start &+ 5_000_000)
        while tern_guest_load8(flag) == 0 && Tern.now() &- start < nanosecondsPerSecond { tern_guest_pause() }
        let seen = tern_guest_load8(flag) != 0
        print("hostile: timerpoll: polled upcall_pending \(seen ? 1 : 0) after \((Tern.now() &- start) / 1_000_000) ms")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }

    static func fuzz(seconds: UInt64, seed: UInt64) -> Int64 {
        print("hostile: timerfuzz: seed \(seed), \(seconds) s")
        // Every vector the fuzzer may name gets the counting handler.
        for v in 32...255 { _ = Upcall.install(vector: UInt8(v)) { TimerAttack.upcalls += 1 } }
        var random = XorShift(seed: seed)
        var fuzz = TimerFuzz()
        let end = Tern.now() &+ seconds &* nanosecondsPerSecond
        while Tern.now() < end { fuzz.step(&random) }
        tern_guest_cli()
        print("hostile: timerfuzz: done, \(fuzz.calls) calls, \(fuzz.blocks) blocks, \(upcalls) upcalls, \(fuzz.unexpected) unexpected results")
        return Int64(TERN_SHUTDOWN_POWEROFF)
    }
}

/// One random call at a time, each result checked (TimerAttack.fuzz).
struct TimerFuzz {
    var calls = 0, blocks = 0, unexpected = 0
    /// The deadline last set (0: none, or one that may never come).
    var deadline: UInt64 = 0
    static let longestWait: UInt64 = 20_000_000   // 20 ms

    mutating func step(_ random: inout XorShift) {
        let r = random.next()
        calls += 1
        switch r % 8 {
        case 0: setTimer(random.next())
        case 1: setUpcall(random.next())
        case 2, 3, 4, 5:
            // BLOCK or HLT, interrupts on (STI right before, in its
            // shadow) or off; a timer is armed first so every wait ends
            // (one that never ends would only hurt this guest).
            armForWait(random.next())
            switch (r % 8 < 4, r & 0x100 != 0) {
            case (true, false): expect(Tern.hypercall(TERN_HC_BLOCK), 0)
            case (true, true): tern_guest_sti_block()
            case (false, false): tern_guest_hlt()
            case (false, true): tern_guest_sti_hlt()
            }
            tern_guest_cli()
            blocks += 1
            if Tern.now() >= deadline { deadline = 0 }
        case 6:
            if r & 0x100 != 0 { tern_guest_sti() }
            Tern.spin(nanoseconds: random.next() % 500_000)
            tern_guest_cli()
        default:
            Tern.yield()
        }
    }

    mutating func setTimer(_ r: UInt64) {
        let now = Tern.now()
        switch r % 6 {
        case 0: deadline = 0                                 // cancel
        case 1: deadline = 1                                 // long past
        case 2: deadline = now &- r % 1_000_000              // just past
        case 3: deadline = now &+ r % 200_000                // within 200 us
        case 4: deadline = now &+ r % TimerFuzz.longestWait  // within 20 ms
        default: deadline = UInt64.max                       // never
        }
        expect(Tern.hypercall(TERN_HC_SET_TIMER, deadline), 0)
        if deadline == UInt64.max || deadline <= now { deadline = 0 }
    }

    mutating func setUpcall(_ r: UInt64) {
        let vector: UInt64
        switch r % 4 {
        case 0: vector = 0                          // none: poll
        case 1: vector = 32 + (r >> 8) % 224        // valid
        case 2: vector = 1 + (r >> 8) % 31          // an exception's: refused
        default: vector = 256 + (r >> 8)            // beyond 255: refused
        }
        let valid = vector == 0 || (vector >= 32 && vector <= 255)
        expect(Tern.hypercall(TERN_HC_SET_UPCALL, vector), valid ? 0 : -Int64(TERN_EINVAL))
    }

    /// Sets the timer before a wait: the deadline kept, or a new one (a
    /// deadline passed makes the upcall pending at once).
    mutating func armForWait(_ r: UInt64) {
        if deadline == 0 { deadline = Tern.now() &+ r % (TimerFuzz.longestWait / 4) }
        expect(Tern.hypercall(TERN_HC_SET_TIMER, deadline), 0)
    }

    mutating func expect(_ result: Int64, _ wanted: Int64) {
        guard result != wanted else { return }
        unexpected += 1
        if unexpected <= 5 { print("hostile: timerfuzz: call \(calls) returned \(result), expected \(wanted)") }
    }
}

/// Marsaglia's xorshift64: reproducible from its seed, no state but one word.
struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
