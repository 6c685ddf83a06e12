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

    /// A request's own bytes: the 0.7 head, or (TERN_ATTACH_DEVICES, ABI
    /// 0.9) the whole struct with the device page and control pages.
    static let attachHeadBytes = Int(TERN_ATTACH_SIZE_0_7)
    static let attachKnownFlags = UInt32(TERN_ATTACH_DEVICES)

    static func attach<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        let memory = host.memory(of: caller)
        var request = tern_attach()
        guard withUnsafeMutableBytes(of: &request, {
            memory.copyFromGuest(at: gpa, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<attachHeadBytes]))
        }) else { return error(TERN_EFAULT) }
        guard request.flags & ~attachKnownFlags == 0, request.reserved1 == 0 else { return error(TERN_EINVAL) }
        let withDevices = request.flags & UInt32(TERN_ATTACH_DEVICES) != 0
        let size = withDevices ? MemoryLayout<tern_attach>.size : attachHeadBytes
        if withDevices {
            guard withUnsafeMutableBytes(of: &request, { memory.copyFromGuest(at: gpa, into: $0) }) else { return error(TERN_EFAULT) }
        }
        if request.event_page_gpa == 0 { return detach(caller, host: host) }
        guard caller.events.page == nil, caller.devices.page == nil else { return error(TERN_EEXIST) }
        let page = GuestLayout.pageSize
        let tableBytes = UInt64(request.grant_entries) * GrantEntry.size
        let controlBytes = UInt64(DeviceList.slots) * page
        let perPage = UInt32(page / GrantEntry.size)
        guard let route = upcallRoute(via: request.upcall_via, line: request.upcall_line, for: caller),
              request.event_page_gpa % page == 0, request.grant_table_gpa % page == 0,
              request.grant_entries >= perPage, request.grant_entries <= UInt32(TERN_GRANT_ENTRIES_MAX),
              request.grant_entries % perPage == 0 else { return error(TERN_EINVAL) }
        guard !withDevices || (request.device_page_gpa % page == 0 && request.control_pages_gpa % page == 0) else {
            return error(TERN_EINVAL)
        }
        // Inside its RAM first: the ranges below then cannot wrap.
        guard memory.contains(request.event_page_gpa, count: page), memory.contains(request.grant_table_gpa, count: tableBytes),
              !withDevices || (memory.contains(request.device_page_gpa, count: page)
                               && memory.contains(request.control_pages_gpa, count: controlBytes)) else { return error(TERN_EFAULT) }
        var ranges = [PhysicalRange(start: request.event_page_gpa, end: request.event_page_gpa + page),
                      PhysicalRange(start: request.grant_table_gpa, end: request.grant_table_gpa + tableBytes)]
        if withDevices {
            ranges.append(PhysicalRange(start: request.device_page_gpa, end: request.device_page_gpa + page))
            ranges.append(PhysicalRange(start: request.control_pages_gpa, end: request.control_pages_gpa + controlBytes))
        }
        for (i, range) in ranges.enumerated() where ranges[(i + 1)...].contains(where: { $0.overlaps(range) }) {
            return error(TERN_EINVAL)
        }
        guard let eventBytes = memory.mutableBytes(at: request.event_page_gpa, count: Int(page))?.baseAddress else {
            return error(TERN_EFAULT)
        }
        var deviceBytes: UnsafeMutableRawPointer? = nil
        if withDevices {
            guard let bytes = memory.mutableBytes(at: request.device_page_gpa, count: Int(page))?.baseAddress,
                  memory.zero(at: request.device_page_gpa, count: page),
                  memory.zero(at: request.control_pages_gpa, count: controlBytes) else { return error(TERN_EFAULT) }
            deviceBytes = bytes
        }
        guard memory.zero(at: request.event_page_gpa, count: page), memory.zero(at: request.grant_table_gpa, count: tableBytes) else {
            return error(TERN_EFAULT)
        }
        caller.attachEvents(page: EventPage(base: eventBytes), upcall: route)
        caller.grants.setUp(gpa: request.grant_table_gpa, entries: request.grant_entries,
                            windowGPA: caller.grants.windowGPA, windowFrames: caller.grants.windowFrames)
        // Its device page is a page of its own RAM (a PV guest's is Tern's):
        // Tern writes it, never reads it back; the entries are Tern's own.
        if let deviceBytes { caller.devices.setUp(page: deviceBytes, controlPagesGPA: request.control_pages_gpa) }
        request.grant_window_gpa = caller.grants.windowFrames > 0 ? caller.grants.windowGPA : 0
        request.grant_window_frames = UInt32(caller.grants.windowFrames)
        guard withUnsafeBytes(of: &request, {
            memory.copyToGuest(at: gpa, from: UnsafeRawBufferPointer(rebasing: $0[..<size]))
        }) else { return error(TERN_EFAULT) }
        return .resume(0)
    }

    /// Its ports close (peers see PEER_CLOSED), its mappings go; refused
    /// while another domain maps one of its grants (the table must stay).
    private static func detach<Host: HypercallHost>(_ domain: Domain, host: Host) -> HypercallOutcome {
        guard domain.events.page != nil else { return error(TERN_ENOENT) }
        guard domain.grants.mappedByOthers == 0 else { return error(TERN_EBUSY) }
        DomainTeardown.closePortsAndMappings(domain, host: host)
        // Its devices end with its ports: their peers see them CLOSED, and
        // Tern writes nothing more to its pages.
        if domain.devices.page != nil { DomainTeardown.closeDevices(of: domain, host: host) }
        domain.grants.setUp(gpa: 0, entries: 0, windowGPA: domain.grants.windowGPA, windowFrames: domain.grants.windowFrames)
        return .resume(0)
    }
}
