import TernABI

/// What one of a domain's event-channel ports is connected to.
public enum PortBinding: Equatable {
    case free
    /// Allocated for `remote` to bind (TERN_HC_EVTCHN_ALLOC_UNBOUND).
    case unbound(remote: UInt16)
    case interdomain(remote: UInt16, remotePort: UInt32)
    case virq(UInt32)
    /// The port of a device Tern itself serves (the console ring).
    case tern
    /// The remote end closed, or its domain died: the owner should close it.
    case peerClosed(remote: UInt16)
}

/// A domain's event channels (tern/event.h, docs/abi.md "Event channels"):
/// the port table, held by Tern, and the event page, the domain's own page
/// where the pending and mask bits live (Xen's 2-level scheme). Tern is
/// uniprocessor: while it runs no guest does, so the page's words are
/// updated with plain loads and stores.
public struct EventChannels {
    /// Index = port number; port 0 is never handed out.
    public private(set) var ports: [PortBinding] = [.free]
    /// Port bound to each virtual IRQ, 0 = none.
    public private(set) var virqPorts = [UInt32](repeating: 0, count: Int(TERN_VIRQ_COUNT))
    /// The event page in host memory; nil: the domain has none (no event
    /// channel calls work for it).
    public var page: EventPage?

    public init() {}

    public static let maxPorts = Int(TERN_EVENT_PORTS)

    public func binding(_ port: UInt64) -> PortBinding? {
        guard port > 0, port < UInt64(ports.count) else { return nil }
        let binding = ports[Int(port)]
        return binding == .free ? nil : binding
    }

    /// The lowest free port bound as `binding`; nil when all are taken.
    public mutating func allocate(_ binding: PortBinding) -> UInt32? {
        if let free = ports.indices.dropFirst().first(where: { ports[$0] == .free }) {
            ports[free] = binding
            page?.clear(port: UInt32(free))
            return UInt32(free)
        }
        guard ports.count < EventChannels.maxPorts else { return nil }
        ports.append(binding)
        page?.clear(port: UInt32(ports.count - 1))
        return UInt32(ports.count - 1)
    }

    public mutating func rebind(_ port: UInt32, _ binding: PortBinding) {
        ports[Int(port)] = binding
        if case .virq(let virq) = binding { virqPorts[Int(virq)] = port }
    }

    /// Frees a port (its bits cleared, its VIRQ unbound).
    public mutating func release(_ port: UInt32) {
        if case .virq(let virq) = ports[Int(port)] { virqPorts[Int(virq)] = 0 }
        ports[Int(port)] = .free
        page?.clear(port: port)
        while ports.count > 1, ports[ports.count - 1] == .free { ports.removeLast() }
    }

    /// Every port in use (teardown).
    public var usedPorts: [UInt32] {
        ports.indices.dropFirst().filter { ports[$0] != .free }.map { UInt32($0) }
    }
}

/// The event page of one domain (struct tern_event_page), reached through
/// Tern's mapping of the guest's frame. Offsets follow event.h's layout,
/// which its static asserts fix: pending words, then mask words, then the
/// per-vCPU records of 16 bytes.
public struct EventPage {
    public let base: UnsafeMutableRawPointer
    static let wordBytes = 8
    static let maskOffset = Int(TERN_EVENT_WORDS) * wordBytes
    static let vcpuOffset = 2 * Int(TERN_EVENT_WORDS) * wordBytes
    static let vcpuBytes = MemoryLayout<tern_event_vcpu>.size
    static let upcallPendingOffset = 8   // after pending_sel

    public init(base: UnsafeMutableRawPointer) { self.base = base }

    // SAFETY (all accessors): `base` is a whole 4 KiB page of the domain's
    // memory (checked when the page was set up); every offset below is
    // inside it by the layout above, and ports are < TERN_EVENT_PORTS.
    func word(_ offset: Int) -> UInt64 { base.load(fromByteOffset: offset, as: UInt64.self) }
    func setWord(_ offset: Int, _ value: UInt64) { base.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }

    static func place(_ port: UInt32) -> (offset: Int, bit: UInt64) {
        (Int(port / 64) * wordBytes, UInt64(1) << UInt64(port % 64))
    }

    public func isPending(_ port: UInt32) -> Bool { let p = EventPage.place(port); return word(p.offset) & p.bit != 0 }
    public func isMasked(_ port: UInt32) -> Bool {
        let p = EventPage.place(port)
        return word(EventPage.maskOffset + p.offset) & p.bit != 0
    }

    public func setMask(_ port: UInt32, _ masked: Bool) {
        let p = EventPage.place(port)
        let old = word(EventPage.maskOffset + p.offset)
        setWord(EventPage.maskOffset + p.offset, masked ? old | p.bit : old & ~p.bit)
    }

    /// A port starts clean: not pending, not masked.
    func clear(port: UInt32) {
        let p = EventPage.place(port)
        setWord(p.offset, word(p.offset) & ~p.bit)
        setMask(port, false)
    }

    /// vCPU 0's upcall_pending byte (Tern's DomUs have one vCPU).
    public var upcallPendingFlag: UnsafeMutablePointer<UInt8> {
        // SAFETY: inside the page, see above; a byte needs no alignment.
        (base + EventPage.vcpuOffset + EventPage.upcallPendingOffset).assumingMemoryBound(to: UInt8.self)
    }

    /// Sets `port` pending. True when vCPU 0 must be told (it was neither
    /// pending nor masked and no upcall was outstanding), as Xen's
    /// evtchn_2l_set_pending.
    public func raise(_ port: UInt32) -> Bool {
        let p = EventPage.place(port)
        let pending = word(p.offset)
        guard pending & p.bit == 0 else { return false }
        setWord(p.offset, pending | p.bit)
        return signalIfUnmasked(port)
    }

    /// After an unmask (or a raise): if `port` is pending and unmasked,
    /// flags its word in pending_sel and the upcall. True when vCPU 0 must
    /// be told.
    public func signalIfUnmasked(_ port: UInt32) -> Bool {
        guard isPending(port), !isMasked(port) else { return false }
        let selector = EventPage.vcpuOffset
        setWord(selector, word(selector) | UInt64(1) << UInt64(port / 64))
        // SAFETY: upcallPendingFlag is a byte inside the page (see above).
        guard upcallPendingFlag.pointee == 0 else { return false }
        upcallPendingFlag.pointee = 1
        return true
    }
}
