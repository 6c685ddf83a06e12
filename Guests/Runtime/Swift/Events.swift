import TernGuestC

/// Event channels (tern/event.h): this domain's ports, and waiting for them
/// with interrupts off (no IDT needed). Tern marks a port pending in the
/// event page and wakes a vCPU blocked in TERN_HC_BLOCK; `collect()` moves
/// every pending, unmasked port from the page into `arrived`, a set of the
/// SDK's own, so that waiting for one port never loses another's event.
/// Ports are UInt32 numbers, 1 ..< TERN_EVENT_PORTS.
/// The upcall handler (Upcall.install) collects too: each use of `arrived`
/// here runs with interrupts off, and waits check and block with them off
/// (an event after the check leaves upcall_pending set, so BLOCK returns).
public enum Events {
    /// Ports whose event was collected and not yet taken, one bit each.
    // SAFETY: shared with the upcall entry (collect, interrupts off); every
    // other use is inside withInterruptsOff, so on one vCPU they never overlap.
    nonisolated(unsafe) static var arrived = [UInt64](repeating: 0, count: Int(TERN_EVENT_WORDS))
    /// The port bound to TERN_VIRQ_TIMER, for waits with a deadline (0: not yet).
    // SAFETY: one vCPU; only wait(for:until:), in the guest's main flow,
    // touches it (the SDK's upcall entry does not).
    nonisolated(unsafe) static var timerPort: UInt32 = 0

    /// This domain's event page (start info).
    static var page: UnsafeMutablePointer<tern_event_page> {
        // SAFETY: Tern put a whole page, struct tern_event_page, in this
        // domain's own memory at event_page_gpa; identity-mapped.
        UnsafeMutablePointer(bitPattern: UInt(StartInfo.current.shared.event_page_gpa))!
    }

    /// The word of the event page and the bit in it that stand for `port`;
    /// nil for a port outside the page.
    static func place(_ port: UInt32) -> (word: Int, bit: UInt64)? {
        let width = UInt32(UInt64.bitWidth)
        guard port / width < UInt32(TERN_EVENT_WORDS) else { return nil }
        return (Int(port / width), UInt64(1) << UInt64(port % width))
    }

    // MARK: Ports

    /// A new port for `remote` to bind (TERN_DOMID_SELF: this domain).
    public static func allocateUnbound(for remote: UInt16) throws(TernError) -> UInt32 {
        UInt32(try TernError.check(Tern.hypercall(TERN_HC_EVTCHN_ALLOC_UNBOUND, UInt64(remote))))
    }

    /// Connects a new local port to `remotePort`, which `remote` allocated
    /// for this domain. The new port starts pending (Tern's rule, as Xen's:
    /// whatever the remote sent before is not lost), so look at the shared
    /// state after binding.
    public static func bindInterdomain(remote: UInt16, remotePort: UInt32) throws(TernError) -> UInt32 {
        UInt32(try TernError.check(Tern.hypercall(TERN_HC_EVTCHN_BIND_INTERDOMAIN, UInt64(remote), UInt64(remotePort))))
    }

    /// A port for a virtual IRQ (TERN_VIRQ_*); -TERN_EEXIST if bound already.
    public static func bindVirq(_ virq: Int32) throws(TernError) -> UInt32 {
        UInt32(try TernError.check(Tern.hypercall(TERN_HC_EVTCHN_BIND_VIRQ, UInt64(virq))))
    }

    /// Signals the other end of `port`: 0, or -TERN_EINVAL (not a port of
    /// this domain), -TERN_ENOTCONN (the peer closed it or died).
    @discardableResult
    public static func send(_ port: UInt32) -> Int64 { Tern.hypercall(TERN_HC_EVTCHN_SEND, UInt64(port)) }

    /// Frees `port` (its peer's end turns TERN_EVTCHN_PEER_CLOSED); an
    /// event of it not yet taken is dropped. 0 or -TERN_EINVAL.
    @discardableResult
    public static func close(_ port: UInt32) -> Int64 {
        let result = Tern.hypercall(TERN_HC_EVTCHN_CLOSE, UInt64(port))
        if result >= 0, let place = place(port) { withInterruptsOff { arrived[place.word] &= ~place.bit } }
        return result
    }

    /// While masked, a port's events stay pending in the page and wake nobody.
    @discardableResult
    public static func mask(_ port: UInt32) -> Int64 { Tern.hypercall(TERN_HC_EVTCHN_MASK, UInt64(port)) }

    /// Unmasks `port`; Tern signals again an event that came while it was masked.
    @discardableResult
    public static func unmask(_ port: UInt32) -> Int64 { Tern.hypercall(TERN_HC_EVTCHN_UNMASK, UInt64(port)) }

    /// What `port` is connected to (struct tern_evtchn_status).
    public static func status(_ port: UInt32) throws(TernError) -> tern_evtchn_status {
        var status = tern_evtchn_status()
        let result = withUnsafeMutablePointer(to: &status) {
            // SAFETY: a local struct of this domain's stack, the size Tern writes.
            Tern.hypercall(TERN_HC_EVTCHN_STATUS, UInt64(port), UInt64(UInt(bitPattern: $0)))
        }
        try TernError.check(result)
        return status
    }

    /// The TERN_EVTCHN_* state of `port`; TERN_EVTCHN_FREE if Tern refuses
    /// to say (not a port number it hands out).
    public static func state(of port: UInt32) -> UInt32 {
        (try? status(port))?.state ?? UInt32(TERN_EVTCHN_FREE)
    }

    // MARK: Pending events

    /// Runs `body` with interrupts off (the upcall handler cannot come in
    /// between), then puts them back as they were.
    static func withInterruptsOff<R>(_ body: () -> R) -> R {
        let flags = tern_guest_irq_save()
        defer { tern_guest_irq_restore(flags) }
        return body()
    }

    /// Moves every pending, unmasked event from the event page to `arrived`
    /// (event.h's recipe): clear upcall_pending, take pending_sel, and in
    /// each word it names clear the pending bits found. An event that
    /// comes after the upcall flag was cleared sets it again, so a block
    /// after this returns at once: no wakeup is lost. Interrupts off (the
    /// upcall handler, or a caller here).
    static func collect() {
        guard StartInfo.current.shared.event_page_gpa != 0 else { return }
        let page = self.page
        // SAFETY (the event page accessors below): fields of the event page
        // (see `page`), each word updated by one instruction (tern_guest.h).
        tern_guest_store8(tern_guest_event_upcall_pending(page), 0)
        var selector = tern_guest_exchange64(tern_guest_event_selector(page), 0)
        while selector != 0 {
            let word = UInt32(selector.trailingZeroBitCount)
            selector &= selector &- 1
            guard word < UInt32(TERN_EVENT_WORDS) else { continue }
            let pending = tern_guest_event_pending_word(page, word)
            let bits = tern_guest_load64(pending) & ~tern_guest_load64(tern_guest_event_mask_word(page, word))
            guard bits != 0 else { continue }
            tern_guest_clear_bits64(pending, bits)
            arrived[Int(word)] |= bits
        }
        ShutdownRequest.actIfAsked()
    }

    /// Takes `port`'s event if it has arrived (collecting first).
    public static func take(_ port: UInt32) -> Bool {
        withInterruptsOff {
            collect()
            guard let place = place(port), arrived[place.word] & place.bit != 0 else { return false }
            arrived[place.word] &= ~place.bit
            return true
        }
    }

    /// Takes the event of the lowest port that has one, if any.
    public static func takeAny() -> UInt32? {
        withInterruptsOff {
            collect()
            for word in arrived.indices where arrived[word] != 0 {
                let bit = arrived[word].trailingZeroBitCount
                arrived[word] &= arrived[word] &- 1
                return UInt32(word * UInt64.bitWidth + bit)
            }
            return nil
        }
    }

    /// Blocks until `port` has an event, and takes it. Events of other
    /// ports that arrive meanwhile are kept for their own `take`.
    public static func wait(for port: UInt32) {
        withInterruptsOff { while !take(port) { Tern.block() } }
    }

    /// Blocks until some port has an event; takes and returns it.
    public static func waitForAny() -> UInt32 {
        withInterruptsOff {
            while true {
                if let port = takeAny() { return port }
                Tern.block()
            }
        }
    }

    /// As `wait(for:)`, but gives up at `deadline` (system time, ns; see
    /// Tern.now()): true if the event came. Uses the one-shot timer (so it
    /// replaces any deadline set before) through TERN_VIRQ_TIMER, bound at
    /// the first call; once bound, the timer no longer raises the plain
    /// upcall (Upcall.install's handler).
    public static func wait(for port: UInt32, until deadline: UInt64) -> Bool {
        if timerPort == 0, let bound = try? bindVirq(TERN_VIRQ_TIMER) { timerPort = bound }
        return withInterruptsOff { waitLocked(for: port, until: deadline) }
    }

    private static func waitLocked(for port: UInt32, until deadline: UInt64) -> Bool {
        while true {
            if take(port) {
                Tern.setTimer(deadline: 0)   // cancel
                return true
            }
            if Tern.now() >= deadline { return false }
            Tern.setTimer(deadline: deadline)
            Tern.block()
            if timerPort != 0 { discard(timerPort) }
        }
    }

    /// Forgets an event of `port` that arrived and was not taken.
    public static func discard(_ port: UInt32) { _ = take(port) }
}
