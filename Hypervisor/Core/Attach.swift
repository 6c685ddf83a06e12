import TernABI

/// TERN_HC_ATTACH (tern/control.h): a Linux's driver hands Tern an event
/// page and a grant table in the domain's own RAM, and says how its upcall
/// reaches it (UpcallRoute); Tern answers with the domain's grant window,
/// if it has one (Dom0's page tables for it were made when it was built).
/// Detaching (event_page_gpa = 0) undoes it: the domain's ports close, its
/// mappings go, Tern forgets both pages. Any domain with an interrupt
/// controller may attach; what each route needs is in its emulation set,
/// not its privilege.
extension Hypercalls {
    /// ISA IRQs the upcall may use: free on PC-compatible machines (COM2,
    /// LPT2, LPT1; QEMU's default machines attach nothing to them).
    static let upcallISAIRQs: [UInt32] = [3, 5, 7]
    /// Vectors 0-31 are the CPU's exceptions.
    static let upcallVectors: ClosedRange<UInt32> = 32...255

    /// The route a request names, if the caller's devices can carry it:
    /// an ISA line needs the machine's interrupt controllers (a domain that
    /// owns the hardware programs its IOAPIC and 8259), a vector needs a
    /// virtual LAPIC.
    static func upcallRoute(via: UInt32, line: UInt32, for caller: Domain) -> UpcallRoute? {
        switch via {
        case UInt32(TERN_UPCALL_VIA_ISA_IRQ):
            guard caller.emulation.contains(.hardware), upcallISAIRQs.contains(line) else { return nil }
            return .isaLine(UInt8(line))
        case UInt32(TERN_UPCALL_VIA_VECTOR):
            guard caller.emulation.contains(.localAPIC), upcallVectors.contains(line) else { return nil }
            return .localAPICVector(UInt8(line))
        default:
            return nil
        }
    }

    static func attach<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        let memory = host.memory(of: caller)
        var request = tern_attach()
        guard withUnsafeMutableBytes(of: &request, { memory.copyFromGuest(at: gpa, into: $0) }) else { return error(TERN_EFAULT) }
        guard request.reserved0 == 0, request.reserved1 == 0 else { return error(TERN_EINVAL) }
        if request.event_page_gpa == 0 { return detach(caller, host: host) }
        guard caller.events.page == nil else { return error(TERN_EEXIST) }
        let page = GuestLayout.pageSize
        let tableBytes = UInt64(request.grant_entries) * GrantEntry.size
        let perPage = UInt32(page / GrantEntry.size)
        guard let route = upcallRoute(via: request.upcall_via, line: request.upcall_line, for: caller),
              request.event_page_gpa % page == 0, request.grant_table_gpa % page == 0,
              request.grant_entries >= perPage, request.grant_entries <= UInt32(TERN_GRANT_ENTRIES_MAX),
              request.grant_entries % perPage == 0 else { return error(TERN_EINVAL) }
        let events = PhysicalRange(start: request.event_page_gpa, end: request.event_page_gpa + page)
        let table = PhysicalRange(start: request.grant_table_gpa, end: request.grant_table_gpa + tableBytes)
        guard !events.overlaps(table) else { return error(TERN_EINVAL) }
        guard let eventBytes = memory.mutableBytes(at: request.event_page_gpa, count: Int(page))?.baseAddress,
              memory.contains(request.grant_table_gpa, count: tableBytes) else { return error(TERN_EFAULT) }
        guard memory.zero(at: request.event_page_gpa, count: page), memory.zero(at: request.grant_table_gpa, count: tableBytes) else {
            return error(TERN_EFAULT)
        }
        caller.attachEvents(page: EventPage(base: eventBytes), upcall: route)
        caller.grants.setUp(gpa: request.grant_table_gpa, entries: request.grant_entries,
                            windowGPA: caller.grants.windowGPA, windowFrames: caller.grants.windowFrames)
        request.grant_window_gpa = caller.grants.windowFrames > 0 ? caller.grants.windowGPA : 0
        request.grant_window_frames = UInt32(caller.grants.windowFrames)
        guard withUnsafeBytes(of: &request, { memory.copyToGuest(at: gpa, from: $0) }) else { return error(TERN_EFAULT) }
        return .resume(0)
    }

    /// Its ports close (peers see PEER_CLOSED), its mappings go; refused
    /// while another domain maps one of its grants (the table must stay).
    private static func detach<Host: HypercallHost>(_ domain: Domain, host: Host) -> HypercallOutcome {
        guard domain.events.page != nil else { return error(TERN_ENOENT) }
        guard domain.grants.mappedByOthers == 0 else { return error(TERN_EBUSY) }
        DomainTeardown.closePortsAndMappings(domain, host: host)
        domain.grants.setUp(gpa: 0, entries: 0, windowGPA: domain.grants.windowGPA, windowFrames: domain.grants.windowFrames)
        return .resume(0)
    }
}
