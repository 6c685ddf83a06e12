import TernABI

/// TERN_HC_DOM0_ATTACH (tern/control.h): Dom0's driver hands Tern an event
/// page and a grant table in Dom0's own RAM, and the ISA IRQ to raise for
/// its upcall; Tern answers with Dom0's grant window (its page tables were
/// made when Dom0 was built). Detaching (event_page_gpa = 0) undoes it:
/// Dom0's ports close, its mappings go, Tern forgets both pages.
extension Hypercalls {
    /// ISA IRQs a Dom0 may name: free on PC-compatible machines (COM2,
    /// LPT2, LPT1; QEMU's default machines attach nothing to them).
    static let dom0UpcallIRQs: [UInt32] = [3, 5, 7]

    static func dom0Attach<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        let memory = host.memory(of: caller)
        var request = tern_dom0_attach()
        guard withUnsafeMutableBytes(of: &request, { memory.copyFromGuest(at: gpa, into: $0) }) else { return error(TERN_EFAULT) }
        guard request.reserved == 0 else { return error(TERN_EINVAL) }
        if request.event_page_gpa == 0 { return dom0Detach(caller, host: host) }
        guard caller.events.page == nil else { return error(TERN_EEXIST) }
        let page = GuestLayout.pageSize
        let tableBytes = UInt64(request.grant_entries) * GrantEntry.size
        let perPage = UInt32(page / GrantEntry.size)
        guard request.event_page_gpa % page == 0, request.grant_table_gpa % page == 0,
              request.grant_entries >= perPage, request.grant_entries <= UInt32(TERN_GRANT_ENTRIES_MAX),
              request.grant_entries % perPage == 0, dom0UpcallIRQs.contains(request.upcall_irq) else { return error(TERN_EINVAL) }
        let events = PhysicalRange(start: request.event_page_gpa, end: request.event_page_gpa + page)
        let table = PhysicalRange(start: request.grant_table_gpa, end: request.grant_table_gpa + tableBytes)
        guard !events.overlaps(table) else { return error(TERN_EINVAL) }
        guard let eventBytes = memory.mutableBytes(at: request.event_page_gpa, count: Int(page))?.baseAddress,
              memory.contains(request.grant_table_gpa, count: tableBytes),
              caller.grants.windowFrames > 0 else { return error(TERN_EFAULT) }
        guard memory.zero(at: request.event_page_gpa, count: page), memory.zero(at: request.grant_table_gpa, count: tableBytes) else {
            return error(TERN_EFAULT)
        }
        caller.events.page = EventPage(base: eventBytes)
        caller.grants.setUp(gpa: request.grant_table_gpa, entries: request.grant_entries,
                            windowGPA: caller.grants.windowGPA, windowFrames: caller.grants.windowFrames)
        caller.upcallIRQ = UInt8(request.upcall_irq)
        request.grant_window_gpa = caller.grants.windowGPA
        request.grant_window_frames = UInt32(caller.grants.windowFrames)
        guard withUnsafeBytes(of: &request, { memory.copyToGuest(at: gpa, from: $0) }) else { return error(TERN_EFAULT) }
        return .resume(0)
    }

    /// Dom0's ports close (peers see PEER_CLOSED), its mappings go; refused
    /// while another domain maps one of Dom0's grants (the table must stay).
    private static func dom0Detach<Host: HypercallHost>(_ dom0: Domain, host: Host) -> HypercallOutcome {
        guard dom0.events.page != nil else { return error(TERN_ENOENT) }
        guard dom0.grants.mappedByOthers == 0 else { return error(TERN_EBUSY) }
        DomainTeardown.closePortsAndMappings(dom0, host: host)
        dom0.grants.setUp(gpa: 0, entries: 0, windowGPA: dom0.grants.windowGPA, windowFrames: dom0.grants.windowFrames)
        dom0.upcallIRQ = 0
        return .resume(0)
    }
}
