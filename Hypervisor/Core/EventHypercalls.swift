import TernABI

/// Event-channel hypercalls (tern/event.h, docs/abi.md "Event channels").
/// A caller names only its own ports; a remote domain's port is reached
/// only through a binding Tern made, after checking that the remote
/// allocated it for the caller.
extension Hypercalls {
    static func eventChannel<Host: HypercallHost>(
        _ number: UInt64, _ a: (UInt64, UInt64, UInt64, UInt64, UInt64), caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard caller.events.page != nil else { return error(TERN_ENOSYS) }   // no event page (a Linux before TERN_HC_ATTACH)
        switch number {
        case UInt64(TERN_HC_EVTCHN_ALLOC_UNBOUND): return allocUnbound(remote: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_EVTCHN_BIND_INTERDOMAIN): return bindInterdomain(remote: a.0, port: a.1, caller: caller, host: host)
        case UInt64(TERN_HC_EVTCHN_BIND_VIRQ): return bindVIRQ(a.0, caller: caller)
        case UInt64(TERN_HC_EVTCHN_SEND): return send(port: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_EVTCHN_CLOSE): return close(port: a.0, caller: caller, host: host)
        case UInt64(TERN_HC_EVTCHN_MASK), UInt64(TERN_HC_EVTCHN_UNMASK):
            return setMask(port: a.0, masked: number == UInt64(TERN_HC_EVTCHN_MASK), caller: caller)
        case UInt64(TERN_HC_EVTCHN_STATUS): return status(port: a.0, out: a.1, caller: caller, host: host)
        default: return error(TERN_ENOSYS)
        }
    }

    /// A domain id argument: TERN_DOMID_SELF or an existing, running domain.
    static func liveDomain<Host: HypercallHost>(_ raw: UInt64, caller: Domain, host: Host) -> Domain? {
        if raw == UInt64(TERN_DOMID_SELF) { return caller }
        guard raw <= UInt64(UInt16.max), let domain = host.domain(withID: UInt16(raw)), !domain.state.isStopped else {
            return nil
        }
        return domain
    }

    private static func allocUnbound<Host: HypercallHost>(remote raw: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard let remote = liveDomain(raw, caller: caller, host: host) else { return error(TERN_ENOENT) }
        guard let port = caller.events.allocate(.unbound(remote: remote.id)) else { return error(TERN_ENOSPC) }
        return .resume(Int64(port))
    }

    private static func bindInterdomain<Host: HypercallHost>(
        remote raw: UInt64, port remotePort: UInt64, caller: Domain, host: Host
    ) -> HypercallOutcome {
        guard let remote = liveDomain(raw, caller: caller, host: host) else { return error(TERN_ENOENT) }
        guard remote.events.page != nil, let binding = remote.events.binding(remotePort) else { return error(TERN_EINVAL) }
        // Only the domain the port was allocated for may bind it.
        guard binding == .unbound(remote: caller.id) else {
            if case .unbound = binding { return error(TERN_EPERM) }
            return error(TERN_EINVAL)
        }
        guard let local = caller.events.allocate(.interdomain(remote: remote.id, remotePort: UInt32(remotePort))) else {
            return error(TERN_ENOSPC)
        }
        remote.events.rebind(UInt32(remotePort), .interdomain(remote: caller.id, remotePort: local))
        // As Xen: the new port starts pending, so a notification the remote
        // sent before the bind is not lost (the binder checks its state).
        EventDelivery.notify(caller, port: local)
        return .resume(Int64(local))
    }

    private static func bindVIRQ(_ virq: UInt64, caller: Domain) -> HypercallOutcome {
        guard virq < UInt64(TERN_VIRQ_COUNT) else { return error(TERN_EINVAL) }
        let privilegedOnly = virq == UInt64(TERN_VIRQ_CONSOLE) || virq == UInt64(TERN_VIRQ_DOMAIN_DIED)
        guard !privilegedOnly || caller.privileged else { return error(TERN_EPERM) }
        guard caller.events.virqPorts[Int(virq)] == 0 else { return error(TERN_EEXIST) }
        guard let port = caller.events.allocate(.virq(UInt32(virq))) else { return error(TERN_ENOSPC) }
        caller.events.rebind(port, .virq(UInt32(virq)))
        return .resume(Int64(port))
    }

    private static func send<Host: HypercallHost>(port: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard let binding = caller.events.binding(port) else { return error(TERN_EINVAL) }
        switch binding {
        case .interdomain(let remoteID, let remotePort):
            if let remote = host.domain(withID: remoteID) { EventDelivery.notify(remote, port: remotePort) }
            return .resume(0)
        case .unbound:
            return .resume(0)   // nobody bound yet: as Xen, nothing to tell
        case .tern:
            ConsoleDevice.drain(caller, host: host)
            return .resume(0)
        case .peerClosed:
            return error(TERN_ENOTCONN)
        case .virq, .free:
            return error(TERN_EINVAL)
        }
    }

    private static func close<Host: HypercallHost>(port: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard let binding = caller.events.binding(port) else { return error(TERN_EINVAL) }
        if binding == .tern { return error(TERN_EBUSY) }   // a device's port: removed with the device
        closeBinding(binding, of: caller, host: host)
        caller.events.release(UInt32(port))
        return .resume(0)
    }

    /// The far end of a closing interdomain port learns it: its port turns
    /// PEER_CLOSED and pending.
    static func closeBinding<Host: HypercallHost>(_ binding: PortBinding, of caller: Domain, host: Host) {
        guard case .interdomain(let remoteID, let remotePort) = binding, let remote = host.domain(withID: remoteID),
              case .interdomain(let back, _)? = remote.events.binding(UInt64(remotePort)), back == caller.id else { return }
        remote.events.rebind(remotePort, .peerClosed(remote: caller.id))
        EventDelivery.notify(remote, port: remotePort)
    }

    private static func setMask(port: UInt64, masked: Bool, caller: Domain) -> HypercallOutcome {
        guard caller.events.binding(port) != nil, let page = caller.events.page else { return error(TERN_EINVAL) }
        page.setMask(UInt32(port), masked)
        if !masked && page.signalIfUnmasked(UInt32(port)) { EventDelivery.kick(caller) }
        return .resume(0)
    }

    private static func status<Host: HypercallHost>(port: UInt64, out: UInt64, caller: Domain, host: Host) -> HypercallOutcome {
        guard port > 0, port < UInt64(EventChannels.maxPorts) else { return error(TERN_EINVAL) }
        var status = tern_evtchn_status()
        switch caller.events.binding(port) ?? .free {
        case .free: status.state = UInt32(TERN_EVTCHN_FREE)
        case .unbound(let remote): status.state = UInt32(TERN_EVTCHN_UNBOUND); status.remote_domid = remote
        case .interdomain(let remote, let remotePort):
            status.state = UInt32(TERN_EVTCHN_INTERDOMAIN)
            status.remote_domid = remote
            status.remote_port = remotePort
        case .virq(let virq): status.state = UInt32(TERN_EVTCHN_VIRQ); status.virq = virq
        case .tern: status.state = UInt32(TERN_EVTCHN_TERN); status.remote_domid = UInt16(TERN_DOMID_TERN)
        case .peerClosed(let remote): status.state = UInt32(TERN_EVTCHN_PEER_CLOSED); status.remote_domid = remote
        }
        return copyToGuest(&status, to: out, domain: caller, host: host)
    }
}
