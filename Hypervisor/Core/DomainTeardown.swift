import TernABI

/// Cutting a stopped domain loose from the others before its memory goes
/// (docs/abi.md): its ports close and each peer sees PEER_CLOSED; ports
/// others allocated for it turn PEER_CLOSED too; every grant it mapped is
/// unmapped (a dying granter whose last mapping that was is released);
/// its devices' peers see their entries CLOSED; Dom0 gets
/// TERN_VIRQ_DOMAIN_DIED. Its own grants that others still map keep its
/// memory alive: the caller checks `grants.mappedByOthers`.
public enum DomainTeardown {
    public static func disconnect<Host: HypercallHost>(_ domain: Domain, host: Host) {
        closePortsAndMappings(domain, host: host)
        var next: UInt64 = 0
        while let other = host.firstDomain(atOrAfter: next) {
            next = UInt64(other.id) + 1
            guard other !== domain, !other.state.isStopped else { continue }
            for port in other.events.usedPorts where other.events.binding(UInt64(port)) == .unbound(remote: domain.id) {
                other.events.rebind(port, .peerClosed(remote: domain.id))
                EventDelivery.notify(other, port: port)
            }
        }
        closeDevices(of: domain, host: host)
        if let dom0 = host.domain(withID: 0), dom0 !== domain {
            EventDelivery.raise(virq: TERN_VIRQ_DOMAIN_DIED, in: dom0)
        }
    }

    /// The entries other domains hold of `domain`'s devices turn CLOSED
    /// (each told with TERN_VIRQ_DEVICES), and Tern forgets its device
    /// page and entries: nothing may reach its pages from now on. For a
    /// dying domain, and for a Linux guest detaching its device page
    /// (Attach.swift).
    static func closeDevices<Host: HypercallHost>(of domain: Domain, host: Host) {
        var next: UInt64 = 0
        while let other = host.firstDomain(atOrAfter: next) {
            next = UInt64(other.id) + 1
            guard other !== domain, !other.state.isStopped else { continue }
            var changed = false
            for (i, entry) in other.devices.entries.enumerated()
            where (entry.frontend == domain.id || entry.backend == domain.id) && entry.state != UInt32(TERN_DEVICE_CLOSED) {
                other.devices.markClosed(at: i)
                changed = true
            }
            if changed { EventDelivery.raise(virq: TERN_VIRQ_DEVICES, in: other) }
        }
        domain.devices = DeviceList()
    }

    /// Every port of `domain` closes (each interdomain peer sees
    /// PEER_CLOSED), every grant it mapped is unmapped (a dying granter
    /// whose last mapping that was is released), and Tern forgets its event
    /// page. For a dying domain, and for Dom0 detaching (Dom0Attach.swift).
    static func closePortsAndMappings<Host: HypercallHost>(_ domain: Domain, host: Host) {
        for port in domain.events.usedPorts {
            if let binding = domain.events.binding(UInt64(port)) { Hypercalls.closeBinding(binding, of: domain, host: host) }
        }
        for held in domain.grants.held { Hypercalls.unmap(slot: held.slot, of: domain, host: host) }
        domain.detachEvents()
    }
}
