import TernABI

/// Adding and removing devices: Tern's half of the toolstack's work
/// (tern/device.h). A split device (a channel, a disk) gets a control page
/// in the frontend's memory granted to the backend with the reserved ref
/// of its slot, a port in the frontend unbound for the backend, and an
/// entry in both device pages; each side is told with TERN_VIRQ_DEVICES.
/// What the control page holds past its first bytes is the two ends'
/// business (tern/blkif.h for a disk): Tern only zeroes it.
public enum Devices {
    /// The device types a backend domain serves through a control page, a
    /// ring and an event channel (TERN_HC_DEVICE_ADD, _REMOVE).
    public static let splitTypes: [UInt16] = [UInt16(TERN_DEVICE_CHANNEL), UInt16(TERN_DEVICE_BLOCK), UInt16(TERN_DEVICE_NET)]

    /// The console every DomU starts with: control page 0 holds the ring,
    /// its port is bound to Tern (ConsoleDevice).
    public static func addConsole(to domain: Domain) -> Bool {
        guard domain.devices.page != nil, let port = domain.events.allocate(.tern) else { return false }
        domain.devices.takeConsoleSlot()
        var entry = tern_device_entry()
        entry.type = UInt16(TERN_DEVICE_CONSOLE)
        entry.frontend = domain.id
        entry.backend = UInt16(TERN_DOMID_TERN)
        entry.state = UInt32(TERN_DEVICE_ACTIVE)
        entry.grant_ref = TERN_GRANT_REF_INVALID
        entry.port = port
        entry.control_gpa = domain.devices.controlGPA(slot: DeviceList.consoleSlot)
        domain.devices.append(entry)
        return true
    }

    /// A TERN_DEVICE_CHANNEL from `frontend` to `backend`; 0 or -TERN_E*.
    public static func addChannel<Host: HypercallHost>(
        frontend: Domain, backend: Domain, devid: UInt16, host: Host
    ) -> Int32 {
        addSplitDevice(type: UInt16(TERN_DEVICE_CHANNEL), frontend: frontend, backend: backend, devid: devid, host: host)
    }

    /// A split device of `type` (one of `splitTypes`) from `frontend` to
    /// `backend`; 0 or -TERN_E*. A backend without a device page (Dom0:
    /// Linux has none) is not listed anywhere: its toolstack learns the
    /// port and ref from TERN_HC_DEVICE_ADD's answer.
    public static func addSplitDevice<Host: HypercallHost>(
        type: UInt16, frontend: Domain, backend: Domain, devid: UInt16, host: Host
    ) -> Int32 {
        guard splitTypes.contains(type) else { return -TERN_EINVAL }
        guard frontend !== backend else { return -TERN_EINVAL }
        guard !frontend.state.isStopped, !backend.state.isStopped else { return -TERN_ENOENT }
        // A Linux guest gets its device page from its core module (TERN_HC_ATTACH
        // with TERN_ATTACH_DEVICES): until then there is nowhere to list the
        // device nor a grant table for its control page. Try again later.
        if frontend.devices.page == nil, frontend.events.page == nil, mayAttachDevices(frontend) { return -TERN_EAGAIN }
        guard frontend.devices.page != nil, backend.devices.page != nil || backend.privileged,
              frontend.events.page != nil, frontend.grants.entries >= UInt32(DeviceList.slots) else { return -TERN_EINVAL }
        let backendListed = backend.devices.page != nil
        guard frontend.devices.index(type: type, devid: devid, frontend: frontend.id) == nil else { return -TERN_EEXIST }
        guard frontend.devices.makeRoom(), !backendListed || backend.devices.makeRoom(),
              let slot = frontend.devices.takeSlot(avoiding: { frontend.grants.isMapped($0) }) else { return -TERN_ENOSPC }
        guard let port = frontend.events.allocate(.unbound(remote: backend.id)) else {
            frontend.devices.releaseSlot(slot)
            return -TERN_ENOSPC
        }
        let memory = host.memory(of: frontend)
        let control = frontend.devices.controlGPA(slot: slot)
        var grant = tern_grant_entry(flags: UInt16(TERN_GRANT_ACCESS), domid: backend.id,
                                     frame: UInt32(control / FrameAllocator.frameSize))
        guard memory.zero(at: control, count: FrameAllocator.frameSize),
              withUnsafeBytes(of: &grant, { memory.copyToGuest(at: frontend.grants.gpa + UInt64(slot) * GrantEntry.size, from: $0) }) else {
            frontend.events.release(port)
            frontend.devices.releaseSlot(slot)
            return -TERN_EFAULT
        }
        var entry = tern_device_entry()
        entry.type = type
        entry.devid = devid
        entry.frontend = frontend.id
        entry.backend = backend.id
        entry.state = UInt32(TERN_DEVICE_ACTIVE)
        entry.flags = frontend.devices.nextInstanceFlags()
        entry.grant_ref = UInt32(slot)
        entry.port = port
        entry.control_gpa = control
        frontend.devices.append(entry)
        EventDelivery.raise(virq: TERN_VIRQ_DEVICES, in: frontend)
        guard backendListed else { return 0 }
        entry.flags |= TERN_DEVICE_FLAG_BACKEND
        entry.control_gpa = 0
        backend.devices.append(entry)
        EventDelivery.raise(virq: TERN_VIRQ_DEVICES, in: backend)
        return 0
    }

    /// A domain that takes its device page from its own RAM when its driver
    /// attaches: a Linux guest (a virtual LAPIC for the upcall, not the
    /// machine's owner).
    static func mayAttachDevices(_ domain: Domain) -> Bool {
        domain.emulation.contains(.localAPIC) && !domain.emulation.contains(.hardware) && !domain.privileged
    }

    /// Removes a split device: its port closes (the backend's end sees
    /// PEER_CLOSED), its reserved grant ends (a mapping the backend still
    /// holds stays until it unmaps), both entries go.
    public static func removeSplitDevice<Host: HypercallHost>(type: UInt16, frontend: Domain, devid: UInt16, host: Host) -> Int32 {
        guard let index = frontend.devices.index(type: type, devid: devid, frontend: frontend.id) else { return -TERN_ENOENT }
        let entry = frontend.devices.entries[index]
        if let binding = frontend.events.binding(UInt64(entry.port)) {
            Hypercalls.closeBinding(binding, of: frontend, host: host)
            frontend.events.release(entry.port)
        }
        let slot = Int(entry.grant_ref)
        _ = host.memory(of: frontend).zero(at: frontend.grants.gpa + UInt64(slot) * GrantEntry.size, count: GrantEntry.size)
        frontend.devices.releaseSlot(slot)
        frontend.devices.remove(at: index)
        EventDelivery.raise(virq: TERN_VIRQ_DEVICES, in: frontend)
        if let backend = host.domain(withID: entry.backend),
           let theirs = backend.devices.index(type: type, devid: devid, frontend: frontend.id) {
            backend.devices.remove(at: theirs)
            EventDelivery.raise(virq: TERN_VIRQ_DEVICES, in: backend)
        }
        return 0
    }
}

/// The device hypercalls and the shared-page layout call.
extension Hypercalls {
    static func sharedLayout<Host: HypercallHost>(out: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard var layout = caller.sharedLayout else { return error(TERN_ENOSYS) }
        return copyToGuest(&layout, to: out, domain: caller, host: host)
    }

    static func deviceAdd<Host: HypercallHost>(request gpa: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        var request = tern_device_add()
        guard withUnsafeMutableBytes(of: &request, { host.memory(of: caller).copyFromGuest(at: gpa, into: $0) }) else {
            return error(TERN_EFAULT)
        }
        guard Devices.splitTypes.contains(request.type), request.flags == 0, request.reserved == 0 else { return error(TERN_EINVAL) }
        request.port = 0
        request.grant_ref = 0
        request.control_gpa = 0
        guard let frontend = host.domain(withID: request.frontend), let backend = host.domain(withID: request.backend) else {
            return error(TERN_ENOENT)
        }
        let result = Devices.addSplitDevice(type: request.type, frontend: frontend, backend: backend, devid: request.devid, host: host)
        guard result == 0 else { return .resume(Int64(result)) }
        // The answer: what the backend needs to connect (a backend with no
        // device page has no other way to learn it).
        if let index = frontend.devices.index(type: request.type, devid: request.devid, frontend: frontend.id) {
            let entry = frontend.devices.entries[index]
            request.port = entry.port
            request.grant_ref = entry.grant_ref
            request.control_gpa = entry.control_gpa
        }
        guard withUnsafeBytes(of: &request, { host.memory(of: caller).copyToGuest(at: gpa, from: $0) }) else { return error(TERN_EFAULT) }
        return .resume(0)
    }

    static func deviceRemove<Host: HypercallHost>(
        frontend raw: UInt64, type: UInt64, devid: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.privileged else { return error(TERN_EPERM) }
        guard type <= UInt64(UInt16.max), Devices.splitTypes.contains(UInt16(type)), devid <= UInt64(UInt16.max) else {
            return error(TERN_EINVAL)
        }
        guard raw <= UInt64(UInt16.max), let frontend = host.domain(withID: UInt16(raw)) else { return error(TERN_ENOENT) }
        return .resume(Int64(Devices.removeSplitDevice(type: UInt16(type), frontend: frontend, devid: UInt16(devid), host: host)))
    }
}
